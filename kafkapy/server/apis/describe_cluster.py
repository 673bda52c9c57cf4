"""DescribeCluster (key 60), v0: cluster id, controller and the live brokers on the request's
listener (from the metadata cache), as the Metadata API reports them."""
from __future__ import annotations

from typing import Any

from kafkapy.protocol.api_keys import ApiKey, register_supported
from kafkapy.protocol.messages.describe_cluster import API
from kafkapy.server.request import RequestContext

DescribeClusterResponse = API.response
DescribeClusterBroker = API.response.struct("brokers")
AUTHORIZED_OPERATIONS_OMITTED = -2147483648


def handle_describe_cluster(ctx: RequestContext, request: Any, broker: Any) -> Any:
    snapshot = broker.metadata_cache.snapshot
    brokers = [DescribeClusterBroker(broker_id=bid, host=ep.host, port=ep.port, rack=rack)
               for bid, ep, rack in snapshot.alive_endpoints(ctx.listener_name)]
    controller_id = snapshot.controller_id if snapshot.controller_id is not None else -1
    return DescribeClusterResponse(throttle_time_ms=0, error_code=0, error_message=None,
                                   cluster_id=broker.cluster_id, controller_id=controller_id, brokers=brokers,
                                   cluster_authorized_operations=AUTHORIZED_OPERATIONS_OMITTED)


def register(dispatcher: Any, broker: Any) -> None:
    register_supported(ApiKey.DESCRIBE_CLUSTER, 0, 0)
    dispatcher.register(ApiKey.DESCRIBE_CLUSTER, lambda ctx, req: handle_describe_cluster(ctx, req, broker))
