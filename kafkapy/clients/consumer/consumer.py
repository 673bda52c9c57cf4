"""kafkapy's consumer with manual assignment: assign/seek/poll/position.

Fetches are pipelined: each broker gets one Fetch in flight at a time, issued again as soon
as the previous response is parsed, so the fetcher reads ahead of ``poll`` (bounded by
``fetch.max.bytes`` of buffered data). Every record format is read (v0/v1 message sets, v2
batches, any codec); control batches are skipped.

Group subscription (``subscribe``, committed offsets, rebalances) lives behind
``Consumer.coordinator``: a ``GroupCoordinatorHook`` the group helper plugs in; without one,
only manual assignment is available::

    async with Consumer({"bootstrap.servers": bs, "auto.offset.reset": "earliest"}) as c:
        c.assign([TopicPartition("orders", 0)])
        for rec in await c.poll(1000):
            ...
"""
from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kafkapy.clients.errors import IllegalStateError, KafkaTimeoutError
from kafkapy.clients.metadata import KafkaClient
from kafkapy.common.errors import ApiError, ErrorCode, NetworkError, OffsetOutOfRangeError, error_for_code
from kafkapy.common.tasks import TaskSupervisor
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.records import RecordsError, iter_batches, records_of

__all__ = ["Consumer", "ConsumerRecord", "ConsumerConfig", "GroupCoordinatorHook", "EARLIEST", "LATEST"]

log = logging.getLogger(__name__)

EARLIEST = -2
LATEST = -1

_FETCH = get_api(ApiKey.FETCH)
_FETCH_TOPIC = _FETCH.request.struct("topics")
_FETCH_PARTITION = _FETCH.request.struct("topics", "partitions")
_LIST_OFFSETS = get_api(ApiKey.LIST_OFFSETS)
_GROUP_POLL_SLICE_S = 0.1        # how often a waiting poll runs the group hook again
_LO_TOPIC = _LIST_OFFSETS.request.struct("topics")
_LO_PARTITION = _LIST_OFFSETS.request.struct("topics", "partitions")


@dataclass(frozen=True, slots=True)
class ConsumerRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    timestamp_type: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


class GroupCoordinatorHook(Protocol):
    """What a group membership implementation provides to the consumer (see module doc)."""

    async def subscribe(self, consumer: Consumer, topics: Sequence[str]) -> None: ...

    async def poll_hook(self, consumer: Consumer) -> None: ...

    async def committed(self, partitions: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]: ...

    async def close(self) -> None: ...


_DEFAULTS: dict[str, Any] = {
    "bootstrap.servers": None, "client.id": "", "group.id": None, "auto.offset.reset": "latest",
    "fetch.min.bytes": 1, "fetch.max.bytes": 52428800, "fetch.max.wait.ms": 500,
    "max.partition.fetch.bytes": 1048576, "max.poll.records": 500, "isolation.level": "read_uncommitted",
    "request.timeout.ms": 30000, "retry.backoff.ms": 100, "check.crcs": True, "enable.auto.commit": True,
    "auto.commit.interval.ms": 5000, "session.timeout.ms": 10000, "heartbeat.interval.ms": 3000,
    "metadata.max.age.ms": 300000, "default.api.timeout.ms": 60000,
}


class ConsumerConfig:
    def __init__(self, props: Mapping[str, Any]) -> None:
        values = dict(_DEFAULTS)
        for k, v in props.items():
            if k not in _DEFAULTS:
                log.warning("The configuration '%s' was supplied but isn't a known config.", k)
            values[k] = v
        if not values["bootstrap.servers"]:
            raise ValueError('Missing required configuration "bootstrap.servers" which has no default value.')
        reset = str(values["auto.offset.reset"]).lower()
        if reset not in ("latest", "earliest", "none"):
            raise ValueError(f"Invalid value {values['auto.offset.reset']} for configuration auto.offset.reset: "
                             "String must be one of: latest, earliest, none")
        iso = str(values["isolation.level"]).lower()
        if iso not in ("read_uncommitted", "read_committed"):
            raise ValueError(f"Invalid value {values['isolation.level']} for configuration isolation.level")
        self.bootstrap_servers = values["bootstrap.servers"]
        self.client_id = str(values["client.id"]) or "consumer-1"
        self.group_id = values["group.id"]
        self.auto_offset_reset = reset
        self.isolation_level = 1 if iso == "read_committed" else 0
        self.fetch_min_bytes = int(values["fetch.min.bytes"])
        self.fetch_max_bytes = int(values["fetch.max.bytes"])
        self.fetch_max_wait_ms = int(values["fetch.max.wait.ms"])
        self.max_partition_fetch_bytes = int(values["max.partition.fetch.bytes"])
        self.max_poll_records = int(values["max.poll.records"])
        self.request_timeout_ms = int(values["request.timeout.ms"])
        self.retry_backoff_ms = int(values["retry.backoff.ms"])
        self.check_crcs = str(values["check.crcs"]).lower() not in ("false", "0")
        self.default_api_timeout_ms = int(values["default.api.timeout.ms"])
        self.raw = values


class _PartitionState:
    __slots__ = ("position", "fetch_position", "epoch", "buffered", "high_watermark", "log_start_offset",
                 "paused", "reset_to", "error")

    def __init__(self) -> None:
        self.position: int | None = None
        self.fetch_position: int | None = None
        self.epoch = 0
        self.buffered: collections.deque[ConsumerRecord] = collections.deque()
        self.high_watermark = -1
        self.log_start_offset = -1
        self.paused = False
        self.reset_to: int | None = None
        self.error: BaseException | None = None


class Consumer:
    """Asynchronous consumer (manual assignment); call ``start()`` or use ``async with``."""

    def __init__(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        props = dict(config or {})
        props.update({k.replace("_", "."): v for k, v in kwargs.items()})
        self.config = ConsumerConfig(props)
        c = self.config
        self.client = KafkaClient(c.bootstrap_servers, client_id=c.client_id,
                                  request_timeout_ms=c.request_timeout_ms + c.fetch_max_wait_ms,
                                  allow_auto_topic_creation=False)
        self.coordinator: GroupCoordinatorHook | None = None
        self._assignment: dict[TopicPartition, _PartitionState] = {}
        self._tasks = TaskSupervisor("consumer")
        self._fetching: set[int] = set()
        self._data = asyncio.Event()
        self._buffered_bytes = 0
        self._closed = False
        self._metadata_stale = True
        self._wakeup_fetcher = asyncio.Event()
        self._fetcher_task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.client.any_connection()

    async def __aenter__(self) -> Consumer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- assignment ----------------------------------------------------------------
    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        wanted = list(dict.fromkeys(partitions))
        self._assignment = {tp: self._assignment.get(tp) or _PartitionState() for tp in wanted}
        self._metadata_stale = True
        self._wakeup_fetcher.set()

    def assignment(self) -> set[TopicPartition]:
        return set(self._assignment)

    async def subscribe(self, topics: Sequence[str]) -> None:
        if self.coordinator is None:
            raise IllegalStateError("group subscription needs a group coordinator hook (not available yet); "
                                    "use assign()")
        await self.coordinator.subscribe(self, topics)

    def _state(self, tp: TopicPartition) -> _PartitionState:
        st = self._assignment.get(tp)
        if st is None:
            raise IllegalStateError(f"No current assignment for partition {tp}")
        return st

    def seek(self, tp: TopicPartition, offset: int) -> None:
        if offset < 0:
            raise ValueError(f"seek offset must not be a negative number: {offset}")
        self._set_position(tp, offset)

    def _set_position(self, tp: TopicPartition, offset: int | None, reset_to: int | None = None) -> None:
        st = self._state(tp)
        st.position = offset
        st.fetch_position = offset
        st.reset_to = reset_to
        st.epoch += 1
        st.error = None
        self._buffered_bytes -= sum(len(r.value or b"") for r in st.buffered)
        st.buffered.clear()
        self._wakeup_fetcher.set()

    def seek_to_beginning(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        for tp in list(partitions) if partitions is not None else list(self._assignment):
            self._set_position(tp, None, EARLIEST)

    def seek_to_end(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        for tp in list(partitions) if partitions is not None else list(self._assignment):
            self._set_position(tp, None, LATEST)

    def pause(self, partitions: Iterable[TopicPartition]) -> None:
        for tp in partitions:
            self._state(tp).paused = True

    def resume(self, partitions: Iterable[TopicPartition]) -> None:
        for tp in partitions:
            self._state(tp).paused = False
        self._wakeup_fetcher.set()

    async def position(self, tp: TopicPartition) -> int:
        st = self._state(tp)
        if st.position is None:
            await self._update_positions([tp])
        assert st.position is not None
        return st.position

    def highwater(self, tp: TopicPartition) -> int:
        return self._state(tp).high_watermark

    # ---- offsets -------------------------------------------------------------------
    async def _ensure_metadata(self) -> None:
        topics = {tp.topic for tp in self._assignment}
        if self._metadata_stale or any(self.client.metadata.leader_for(tp) < 0 for tp in self._assignment):
            await self.client.refresh_metadata(sorted(topics))
            self._metadata_stale = False

    async def list_offsets(self, partitions: Mapping[TopicPartition, int]) -> dict[TopicPartition, tuple[int, int]]:
        """ListOffsets to each leader: tp -> (offset, timestamp) for a timestamp or EARLIEST/LATEST."""
        result: dict[TopicPartition, tuple[int, int]] = {}
        pending = dict(partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.default_api_timeout_ms / 1000
        while pending:
            md = self.client.metadata
            if any(md.leader_for(tp) < 0 for tp in pending):
                await self.client.refresh_metadata(sorted({tp.topic for tp in pending}))
                md = self.client.metadata
            by_node: dict[int, dict[TopicPartition, int]] = {}
            for tp, ts in pending.items():
                by_node.setdefault(md.leader_for(tp), {})[tp] = ts
            retry: dict[TopicPartition, int] = {}
            for node, tps in by_node.items():
                if node < 0:
                    retry.update(tps)
                    continue
                got = await self._list_offsets_at(node, tps)
                for tp, (code, off, ts) in got.items():
                    if code == ErrorCode.NONE:
                        result[tp] = (off, ts)
                    else:
                        cls = error_for_code(code)
                        assert cls is not None
                        if not cls.retriable:
                            raise cls()
                        retry[tp] = tps[tp]
            pending = retry
            if pending:
                if loop.time() > deadline:
                    raise KafkaTimeoutError(f"Failed to get offsets by times in "
                                            f"{self.config.default_api_timeout_ms}ms")
                self._metadata_stale = True
                await asyncio.sleep(self.config.retry_backoff_ms / 1000)
                await self.client.refresh_metadata(sorted({tp.topic for tp in pending}))
        return result

    async def _list_offsets_at(self, node: int, tps: Mapping[TopicPartition, int]
                               ) -> dict[TopicPartition, tuple[int, int, int]]:
        conn = await self.client.connection(node)
        version = conn.negotiated_version(ApiKey.LIST_OFFSETS)
        by_topic: dict[str, list] = {}
        for tp, ts in tps.items():
            by_topic.setdefault(tp.topic, []).append(_LO_PARTITION(partition_index=tp.partition, timestamp=ts,
                                                                   max_num_offsets=1))
        req = _LIST_OFFSETS.request(replica_id=-1, isolation_level=self.config.isolation_level,
                                    topics=[_LO_TOPIC(name=t, partitions=ps) for t, ps in by_topic.items()])
        resp = await conn.send(ApiKey.LIST_OFFSETS, req, version)
        out: dict[TopicPartition, tuple[int, int, int]] = {}
        for t in resp.topics:
            for p in t.partitions:
                if version == 0:
                    offs = p.old_style_offsets
                    out[TopicPartition(t.name, p.partition_index)] = (p.error_code, offs[0] if offs else -1, -1)
                else:
                    out[TopicPartition(t.name, p.partition_index)] = (p.error_code, p.offset, p.timestamp)
        return out

    async def beginning_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        got = await self.list_offsets({tp: EARLIEST for tp in partitions})
        return {tp: off for tp, (off, _ts) in got.items()}

    async def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        got = await self.list_offsets({tp: LATEST for tp in partitions})
        return {tp: off for tp, (off, _ts) in got.items()}

    def _default_reset(self) -> int | None:
        return {"earliest": EARLIEST, "latest": LATEST}.get(self.config.auto_offset_reset)

    async def _update_positions(self, tps: Iterable[TopicPartition] | None = None) -> None:
        need: dict[TopicPartition, int] = {}
        for tp in (list(tps) if tps is not None else list(self._assignment)):
            st = self._assignment.get(tp)
            if st is None or st.position is not None:
                continue
            target = st.reset_to
            if target is None and self.coordinator is not None:
                committed = (await self.coordinator.committed([tp])).get(tp)
                if committed is not None:
                    self._set_position(tp, committed)
                    continue
            if target is None:
                target = self._default_reset()
            if target is None:
                raise OffsetOutOfRangeError(f"Undefined offset with no reset policy for partitions: [{tp}]")
            need[tp] = target
        if not need:
            return
        epochs = {tp: self._assignment[tp].epoch for tp in need}
        got = await self.list_offsets(need)
        for tp, (off, _ts) in got.items():
            st = self._assignment.get(tp)
            if st is not None and st.epoch == epochs[tp] and st.position is None:
                st.position = st.fetch_position = off
                st.reset_to = None
        self._wakeup_fetcher.set()

    # ---- fetching ------------------------------------------------------------------
    def _fetchable(self) -> dict[int, list[TopicPartition]]:
        md = self.client.metadata
        by_node: dict[int, list[TopicPartition]] = {}
        limit = self.config.fetch_max_bytes
        if self._buffered_bytes >= limit:
            return by_node
        for tp, st in self._assignment.items():
            if st.paused or st.fetch_position is None or st.error is not None:
                continue
            if len(st.buffered) >= 4 * self.config.max_poll_records:
                continue
            leader = md.leader_for(tp)
            if leader >= 0 and leader not in self._fetching:
                by_node.setdefault(leader, []).append(tp)
        return by_node

    async def _fetcher(self) -> None:
        while not self._closed:
            self._wakeup_fetcher.clear()
            try:
                await self._ensure_metadata()
                await self._update_positions()
            except (ApiError, OSError) as exc:
                log.warning("consumer metadata/offset update failed: %s", exc)
                await asyncio.sleep(self.config.retry_backoff_ms / 1000)
                continue
            for node, tps in self._fetchable().items():
                self._fetching.add(node)
                self._tasks.spawn(f"fetch-from-{node}", self._fetch(node, tps))
            await self._wakeup_fetcher.wait()

    async def _fetch(self, node: int, tps: list[TopicPartition]) -> None:
        c = self.config
        sent: dict[TopicPartition, tuple[int, int]] = {}
        by_topic: dict[str, list] = {}
        for tp in tps:
            # the task starts after its spawner yielded: a rebalance may have revoked or reset the partition
            st = self._assignment.get(tp)
            if st is None or st.fetch_position is None:
                continue
            sent[tp] = (st.fetch_position, st.epoch)
            by_topic.setdefault(tp.topic, []).append(_FETCH_PARTITION(
                partition=tp.partition, fetch_offset=st.fetch_position, log_start_offset=-1,
                partition_max_bytes=c.max_partition_fetch_bytes))
        req = _FETCH.request(replica_id=-1, max_wait_ms=c.fetch_max_wait_ms, min_bytes=c.fetch_min_bytes,
                             max_bytes=c.fetch_max_bytes, isolation_level=c.isolation_level, session_id=0,
                             session_epoch=-1, topics=[_FETCH_TOPIC(topic=t, partitions=ps)
                                                       for t, ps in by_topic.items()],
                             forgotten_topics_data=[], rack_id="")
        if not sent:
            self._fetching.discard(node)
            self._wakeup_fetcher.set()
            return
        try:
            conn = await self.client.connection(node)
            resp = await conn.send(ApiKey.FETCH, req)
        except (NetworkError, OSError, ApiError) as exc:
            log.debug("fetch from broker %d failed: %s", node, exc)
            self._metadata_stale = True
            await asyncio.sleep(c.retry_backoff_ms / 1000)
            return
        finally:
            self._fetching.discard(node)
            self._wakeup_fetcher.set()
        got_data = False
        for t in resp.responses:
            for p in t.partition_responses:
                tp = TopicPartition(t.topic, p.partition)
                st = self._assignment.get(tp)
                if st is None or tp not in sent or sent[tp] != (st.fetch_position, st.epoch):
                    continue
                got_data |= self._handle_partition(tp, st, p)
        if got_data:
            self._data.set()

    def _handle_partition(self, tp: TopicPartition, st: _PartitionState, p: Any) -> bool:
        code = p.error_code
        if code != ErrorCode.NONE:
            if code == ErrorCode.OFFSET_OUT_OF_RANGE:
                reset = self._default_reset()
                if reset is None:
                    st.error = OffsetOutOfRangeError(f"Fetch position FetchPosition{{offset={st.fetch_position}}} "
                                                     f"is out of range for partition {tp}")
                    self._data.set()
                else:
                    log.info("Fetch position %s is out of range for partition %s, resetting offset",
                             st.fetch_position, tp)
                    self._set_position(tp, None, reset)
                return False
            cls = error_for_code(code)
            assert cls is not None
            if cls.invalid_metadata or cls.retriable:
                self._metadata_stale = True
                return False
            st.error = cls()
            self._data.set()
            return False
        st.high_watermark = p.high_watermark
        st.log_start_offset = getattr(p, "log_start_offset", -1)
        data = p.record_set
        if not data:
            return False
        fetch_offset = st.fetch_position
        assert fetch_offset is not None
        next_offset = fetch_offset
        added = 0
        try:
            for info in iter_batches(data):
                if info.next_offset <= fetch_offset:
                    continue
                if info.magic == 2 and info.is_control:
                    next_offset = max(next_offset, info.next_offset)
                    continue
                ttype = info.timestamp_type
                for r in records_of(data, info):
                    if r.offset < fetch_offset:
                        continue
                    st.buffered.append(ConsumerRecord(tp.topic, tp.partition, r.offset, r.timestamp,
                                                      ttype, r.key, r.value, r.headers))
                    added += len(r.value or b"")
                    next_offset = r.offset + 1
                next_offset = max(next_offset, info.next_offset if info.magic == 2 else next_offset)
        except RecordsError as exc:
            if st.buffered:
                log.warning("corrupt record in %s after offset %d: %s", tp, next_offset, exc)
            else:
                st.error = exc
                self._data.set()
                return False
        st.fetch_position = next_offset
        self._buffered_bytes += added
        return bool(st.buffered)

    def _ensure_fetcher(self) -> None:
        if self._fetcher_task is None or self._fetcher_task.done():
            self._fetcher_task = self._tasks.spawn("consumer-fetcher", self._fetcher())

    def _drain(self, max_records: int) -> list[ConsumerRecord]:
        out: list[ConsumerRecord] = []
        for tp, st in self._assignment.items():
            if st.error is not None:
                exc, st.error = st.error, None
                if out:
                    st.error = exc
                    return out
                raise exc
            if st.paused or not st.buffered:
                continue
            buf = st.buffered
            while buf and len(out) < max_records:
                r = buf.popleft()
                out.append(r)
                self._buffered_bytes -= len(r.value or b"")
                st.position = r.offset + 1
            if len(out) >= max_records:
                break
        if not out:
            # A partition may have moved past records it never returned (compaction, control batches).
            for st in self._assignment.values():
                if not st.buffered and st.fetch_position is not None and st.position is not None \
                        and st.fetch_position > st.position:
                    st.position = st.fetch_position
        return out

    async def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> list[ConsumerRecord]:
        """Records from the assigned partitions (at most max.poll.records), waiting up to `timeout_ms`."""
        if self._closed:
            raise IllegalStateError("This consumer has already been closed.")
        if self.coordinator is not None:
            # A group member may own nothing (more members than partitions, or mid-rebalance):
            # the hook still runs (heartbeat-driven rejoin, auto-commit) and the poll just waits.
            await self.coordinator.poll_hook(self)
        elif not self._assignment:
            raise IllegalStateError("Consumer is not subscribed to any topics or assigned any partitions")
        limit = max_records or self.config.max_poll_records
        self._ensure_fetcher()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        while True:
            self._data.clear()
            out = self._drain(limit)
            if out:
                self._wakeup_fetcher.set()
                return out
            remaining = deadline - loop.time()
            if remaining <= 0:
                return out
            if self.coordinator is not None:
                # A long poll must not hold up a rebalance the heartbeat learned about (the group
                # waits for every member to rejoin): wake up in slices and run the hook again.
                remaining = min(remaining, _GROUP_POLL_SLICE_S)
            try:
                await asyncio.wait_for(self._data.wait(), remaining)
            except asyncio.TimeoutError:
                if self.coordinator is not None and loop.time() < deadline:
                    await self.coordinator.poll_hook(self)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wakeup_fetcher.set()
        if self.coordinator is not None:
            await self.coordinator.close()
        await self._tasks.close()
        await self.client.close()
