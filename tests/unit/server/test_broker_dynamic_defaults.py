"""Dynamic broker configs reach the config object the controller holds (not only the log configs)."""
from __future__ import annotations

from kafkapy.server.broker import KafkaServer, _BrokerConfigView
from kafkapy.server.config import KafkaConfig

STATIC = {"broker.id": "0", "zookeeper.connect": "127.0.0.1:2181", "log.dirs": "/tmp/unused"}


def test_update_broker_defaults_swaps_the_config_the_controller_reads():
    server = KafkaServer(KafkaConfig(STATIC))
    try:
        view = _BrokerConfigView(server.config, 0)
        server.broker_config = view
        held_by_controller = server.broker_config
        assert held_by_controller.unclean_leader_election_enable is False
        server.update_broker_defaults({**STATIC, "unclean.leader.election.enable": "true",
                                       "log.retention.ms": "1234", "not.a.broker.property": "x"})
        assert held_by_controller.unclean_leader_election_enable is True
        assert held_by_controller.get("log.retention.ms") == 1234
        assert held_by_controller.get("broker.id") == 0
        assert server._broker_defaults["log.retention.ms"] == "1234"
        # an invalid set leaves the last good config in place
        server.update_broker_defaults({**STATIC, "unclean.leader.election.enable": "maybe"})
        assert held_by_controller.unclean_leader_election_enable is True
    finally:
        server.executor.shutdown(wait=False)
