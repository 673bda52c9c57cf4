"""kafkapy's consumer (manual assignment; group membership plugs in through ``GroupCoordinatorHook``)."""
from kafkapy.clients.consumer.consumer import EARLIEST, LATEST, Consumer, ConsumerConfig, ConsumerRecord, \
    GroupCoordinatorHook

__all__ = ["Consumer", "ConsumerConfig", "ConsumerRecord", "GroupCoordinatorHook", "EARLIEST", "LATEST"]
