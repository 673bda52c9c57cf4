"""kafkapy's producer: ``Producer`` (asyncio), accumulator, sender and Java's default partitioner."""
from kafkapy.clients.producer.accumulator import FutureRecordMetadata, RecordMetadata
from kafkapy.clients.producer.partitioner import DefaultPartitioner, murmur2, partition_for_key, to_positive
from kafkapy.clients.producer.producer import COMPRESSION_CODECS, Producer, ProducerConfig

__all__ = ["Producer", "ProducerConfig", "RecordMetadata", "FutureRecordMetadata", "DefaultPartitioner",
           "murmur2", "to_positive", "partition_for_key", "COMPRESSION_CODECS"]
