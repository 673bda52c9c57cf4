"""The README's "Clusters in your tests" example, verbatim: it must keep working."""
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.mark.kafkapy_cluster(brokers=3, zookeepers=3)
def test_orders_survive_a_dead_leader(kafkapy_cluster):
    kafkapy_cluster.create_topic("orders", partitions=3, replication_factor=3)
    old = kafkapy_cluster.leader("orders", 0)
    kafkapy_cluster.kill(old)
    kafkapy_cluster.wait_for(lambda: kafkapy_cluster.leader("orders", 0) not in (old, -1), what="a new leader")
