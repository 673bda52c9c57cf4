"""Numbers that define Kafka's record formats (see protocol.md §6)."""
from __future__ import annotations

import enum

MAGIC_V0 = 0
MAGIC_V1 = 1
MAGIC_V2 = 2
CURRENT_MAGIC = MAGIC_V2

# Every entry (legacy message or v2 batch) starts with offset int64 + size int32.
OFFSET_OFFSET = 0
SIZE_OFFSET = 8
LOG_OVERHEAD = 12
MAGIC_OFFSET = 16          # the magic byte sits here in every format
HEADER_SIZE_UP_TO_MAGIC = 17

# v2 batch layout.
PARTITION_LEADER_EPOCH_OFFSET = 12
CRC_OFFSET_V2 = 17
ATTRIBUTES_OFFSET_V2 = 21
LAST_OFFSET_DELTA_OFFSET = 23
FIRST_TIMESTAMP_OFFSET = 27
MAX_TIMESTAMP_OFFSET = 35
PRODUCER_ID_OFFSET = 43
PRODUCER_EPOCH_OFFSET = 51
BASE_SEQUENCE_OFFSET = 55
RECORDS_COUNT_OFFSET = 59
RECORD_BATCH_OVERHEAD = 61  # whole v2 header, including the 12-byte prefix
RECORDS_OFFSET_V2 = 61

# Legacy (magic 0/1) message layout, positions relative to the entry start.
CRC_OFFSET_LEGACY = 12
ATTRIBUTES_OFFSET_LEGACY = 17
TIMESTAMP_OFFSET_V1 = 18
KEY_SIZE_OFFSET_V0 = 18
KEY_SIZE_OFFSET_V1 = 26
# Minimum message_size (bytes after the size field): crc 4 + magic 1 + attributes 1
# (+ timestamp 8 in v1) + key length 4 + value length 4.
RECORD_OVERHEAD_V0 = 14
RECORD_OVERHEAD_V1 = 22

# Attribute bits.
COMPRESSION_CODEC_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_FLAG_MASK = 0x10
CONTROL_FLAG_MASK = 0x20


class CompressionType(enum.IntEnum):
    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4

    @property
    def kafka_name(self) -> str:
        """The name Kafka prints and accepts in configs (``compression.type``)."""
        return self.name.lower()


class TimestampType(enum.IntEnum):
    NO_TIMESTAMP_TYPE = -1
    CREATE_TIME = 0
    LOG_APPEND_TIME = 1

    @property
    def kafka_name(self) -> str:
        return {-1: "NoTimestampType", 0: "CreateTime", 1: "LogAppendTime"}[self.value]


NO_TIMESTAMP = -1
NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_PARTITION_LEADER_EPOCH = -1
