"""Benchmarks of the protocol codecs (prints figures; not part of the test suite).

    make bench-protocol        # or: .venv/bin/python bench/bench_protocol.py

Figures are CPU time per operation (process_time), best of three runs.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kafkapy.protocol import header as hdr  # noqa: E402
from kafkapy.protocol.messages import get_api  # noqa: E402


def timeit(fn, min_time: float = 0.6) -> float:
    """CPU microseconds per call of ``fn`` (best of 3 runs of ``min_time / 3`` CPU seconds each).
    CPU time, not wall time, so that other processes on a shared machine distort less."""
    fn()
    best = float("inf")
    for _ in range(3):
        n = 0
        start = time.process_time()
        while True:
            fn()
            n += 1
            elapsed = time.process_time() - start
            if elapsed >= min_time / 3:
                break
        best = min(best, elapsed / n)
    return best * 1e6


def produce_v8_request(batch: bytes):
    api = get_api(0)
    topic = api.request.struct("topic_data")
    part = api.request.struct("topic_data", "partition_data")
    return api.request(transactional_id=None, acks=-1, timeout_ms=30000, topic_data=[
        topic(name="bench-topic", partition_data=[part(index=0, records=batch)])])


def bench_produce() -> None:
    batch = os.urandom(1 << 20)
    codec = get_api(0).request_codec(8)
    wire = memoryview(hdr.encode_request(0, 8, 1, "bench", produce_v8_request(batch)))

    def decode_encode() -> None:
        header, body = hdr.decode_request(wire)
        codec.encode(body)

    def decode_only() -> None:
        hdr.decode_request(wire)

    us = timeit(decode_encode)
    print(f"Produce v8 request, one 1 MiB batch: header+body decode + body encode: "
          f"{us:8.1f} us/op  {len(wire) / us / 1e3:8.2f} GB/s")
    us = timeit(decode_only)
    print(f"Produce v8 request, one 1 MiB batch: header+body decode only:          "
          f"{us:8.1f} us/op  {len(wire) / us / 1e3:8.2f} GB/s")
    body = hdr.decode_request(wire)[1]
    view = body.topic_data[0].partition_data[0].records
    print(f"  records decoded as {type(view).__name__}, shares the frame buffer: {view.obj is wire.obj}")


def metadata_v9_response(topics: int = 10, partitions_per_topic: int = 100):
    api = get_api(3)
    s = api.response
    broker, topic, part = s.struct("brokers"), s.struct("topics"), s.struct("topics", "partitions")
    return s(
        throttle_time_ms=0,
        brokers=[broker(node_id=i, host=f"broker{i}.example.com", port=9092, rack=None)
                 for i in range(3)],
        cluster_id="kafkapy-cluster", controller_id=0,
        topics=[topic(error_code=0, name=f"topic-{t}", is_internal=False, partitions=[
            part(error_code=0, partition_index=p, leader_id=p % 3, leader_epoch=5,
                 replica_nodes=[p % 3, (p + 1) % 3, (p + 2) % 3],
                 isr_nodes=[p % 3, (p + 1) % 3, (p + 2) % 3], offline_replicas=[])
            for p in range(partitions_per_topic)]) for t in range(topics)],
    )


def bench_metadata() -> None:
    body = metadata_v9_response()
    codec = get_api(3).response_codec(9)
    size = len(codec.encode(body))
    us = timeit(lambda: codec.encode(body))
    print(f"Metadata v9 response, 1,000 partitions ({size} bytes): encode {us:8.1f} us/op")
    data = memoryview(codec.encode(body))
    us = timeit(lambda: codec.decode(data))
    print(f"Metadata v9 response, 1,000 partitions: decode {us:8.1f} us/op")


def bench_small() -> None:
    api = get_api(12)
    codec = api.request_codec(4)
    wire = memoryview(hdr.encode_request(12, 4, 1, "c", api.request(
        group_id="g", generation_id=1, member_id="m-1", group_instance_id=None)))
    us = timeit(lambda: hdr.decode_request(wire))
    print(f"Heartbeat v4 request: header+body decode {us:8.2f} us/op")
    resp = api.response()
    us = timeit(lambda: hdr.encode_response(12, 4, 1, resp))
    print(f"Heartbeat v4 response: header+body encode {us:8.2f} us/op")
    del codec


def bench_records_crc() -> None:
    """Placeholder for the records helper: CRC-32C validation figures of a produced batch
    (kafkapy.protocol.records) belong here."""


def main() -> None:
    bench_produce()
    bench_metadata()
    bench_small()
    bench_records_crc()


if __name__ == "__main__":
    main()
