"""Replica fetchers: followers copy their leaders' logs (Kafka's ReplicaFetcherManager/Thread).

One `ReplicaFetcher` task per (source broker, fetcher id), ``num.replica.fetchers`` per source
broker; a partition goes to fetcher ``stable_hash(topic, partition) % num.replica.fetchers``.
Each fetcher sends one Fetch request (``replica_id`` = our broker id) for all its ready
partitions, appends what comes back with `Log.append_as_follower` (the leader's offsets and
leader epochs are kept), sets the follower high watermark to min(leader HW, own log end)
and follows the leader's log start offset.

A partition that just became a follower first truncates (KIP-101/KIP-279): the follower
asks the leader (OffsetForLeaderEpoch) where its own latest epoch ends and truncates there,
repeating when the leader answers with an older epoch than the one asked. Only without
epochs (no epoch in the local cache, or a leader without the API) does it truncate to its
high watermark. A fetch answered with OFFSET_OUT_OF_RANGE makes the follower look up the
leader's end offset (and start offset) with ListOffsets, as Kafka does.

`start_replication(broker)` wires the fetchers and the `IsrManager` into a broker's
ReplicaManager listeners and returns a handle whose `shutdown()` stops them (before the logs
are closed).
"""
from __future__ import annotations

import asyncio
import logging
import zlib
from dataclasses import dataclass
from typing import Any, Callable

from kafkapy.clients.net import BrokerConnection
from kafkapy.common.clock import Clock
from kafkapy.common.errors import ApiError, ErrorCode, NetworkError, UnsupportedVersionError
from kafkapy.common.types import TopicPartition
from kafkapy.protocol.api_keys import ApiKey
from kafkapy.protocol.messages.fetch import API as FETCH
from kafkapy.protocol.messages.list_offsets import API as LIST_OFFSETS
from kafkapy.protocol.messages.offset_for_leader_epoch import API as OFFSET_FOR_LEADER_EPOCH
from kafkapy.server.config import ApiVersion, parse_api_version
from kafkapy.server.isr import MODE_ALTER_ISR, MODE_ZOOKEEPER, ISR_CHANGE_PROPAGATION_INTERVAL_MS, IsrManager

log = logging.getLogger(__name__)

UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1
ISR_UPDATE_MODE_PROPERTY = "kafkapy.isr.update.mode"   # "zookeeper" (default) or "alter_isr"
MAX_FETCH_VERSION = 11          # no diverging-epoch truncation (KIP-595): we truncate via OffsetForLeaderEpoch

FetchTopic = FETCH.request.struct("topics")
FetchPartition = FETCH.request.struct("topics", "partitions")
EpochTopic = OFFSET_FOR_LEADER_EPOCH.request.struct("topics")
EpochPartition = OFFSET_FOR_LEADER_EPOCH.request.struct("topics", "partitions")
ListTopic = LIST_OFFSETS.request.struct("topics")
ListPartition = LIST_OFFSETS.request.struct("topics", "partitions")

_RETRY_LATER = frozenset({
    ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.FENCED_LEADER_EPOCH,
    ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.REPLICA_NOT_AVAILABLE,
    ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.OFFSET_NOT_AVAILABLE,
})


def fetcher_id_for(tp: TopicPartition, num_fetchers: int) -> int:
    """Stable spread of partitions over a source broker's fetchers."""
    if num_fetchers <= 1:
        return 0
    return zlib.crc32(f"{tp.topic}-{tp.partition}".encode()) % num_fetchers


def truncation_offset(leader_epoch: int, leader_end_offset: int, local_end_offset_for_epoch: Callable[[int],
                      tuple[int, int]], log_end_offset: int, high_watermark: int) -> tuple[int, bool]:
    """Where a follower truncates given the leader's OffsetForLeaderEpoch answer (KIP-279).

    Returns (offset, complete). Not complete: the leader answered with an epoch we do not
    hold, we truncated to the end of our last epoch below it and must ask again.
    """
    if leader_end_offset == UNDEFINED_EPOCH_OFFSET:
        return min(high_watermark, log_end_offset), True       # the leader knows no epoch <= ours
    if leader_epoch == UNDEFINED_EPOCH:
        return min(leader_end_offset, log_end_offset), True    # v0 answer: end offset only
    local_epoch, local_end = local_end_offset_for_epoch(leader_epoch)
    if local_end == UNDEFINED_EPOCH_OFFSET or local_epoch == UNDEFINED_EPOCH:
        return min(leader_end_offset, log_end_offset), True
    if local_epoch != leader_epoch:
        return min(local_end, log_end_offset), False
    return min(leader_end_offset, local_end, log_end_offset), True


@dataclass(slots=True)
class PartitionFetchState:
    """One partition of a fetcher: where it fetches, at which leader epoch, whether it truncates."""

    partition: Any                    # server.partition.Partition
    leader_epoch: int
    fetch_offset: int
    truncating: bool = True
    delayed_until_ms: int = 0


@dataclass(frozen=True, slots=True)
class FetcherConfig:
    broker_id: int
    num_replica_fetchers: int = 1
    fetch_max_bytes: int = 1024 * 1024
    fetch_response_max_bytes: int = 10 * 1024 * 1024
    fetch_wait_max_ms: int = 500
    fetch_min_bytes: int = 1
    fetch_backoff_ms: int = 1000
    socket_timeout_ms: int = 30000
    use_leader_epochs: bool = True     # inter.broker.protocol.version >= 0.11.0-IV2 (KIP-101)

    @classmethod
    def from_broker_config(cls, broker_id: int, cfg: Any) -> FetcherConfig:
        return cls(broker_id,
                   int(cfg.get("num.replica.fetchers")), int(cfg.get("replica.fetch.max.bytes")),
                   int(cfg.get("replica.fetch.response.max.bytes")), int(cfg.get("replica.fetch.wait.max.ms")),
                   int(cfg.get("replica.fetch.min.bytes")), int(cfg.get("replica.fetch.backoff.ms")),
                   int(cfg.get("replica.socket.timeout.ms")), _ibp_has_leader_epochs(cfg))


def _ibp_has_leader_epochs(cfg: Any) -> bool:
    try:
        ibp = cfg.get("inter.broker.protocol.version")
    except KeyError:
        return True
    if ibp is None:
        return True
    if not isinstance(ibp, ApiVersion):
        ibp = parse_api_version(str(ibp))
    return ibp >= parse_api_version("0.11.0-IV2")


class _Prefixed(logging.LoggerAdapter):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"{self.extra['prefix']}{msg}", kwargs


class ReplicaFetcher:
    """Fetches one source broker's partitions for this follower (one task)."""

    def __init__(self, manager: ReplicaFetcherManager, source_broker_id: int, fetcher_id: int) -> None:
        self.manager = manager
        self.config = manager.config
        self.clock: Clock = manager.clock
        self.source_broker_id = source_broker_id
        self.fetcher_id = fetcher_id
        self.partitions: dict[TopicPartition, PartitionFetchState] = {}
        self._wake = asyncio.Event()
        self._conn: BrokerConnection | None = None
        self._conn_endpoint: tuple[str, int] | None = None
        self._task: asyncio.Task[Any] | None = None
        self._stopped = False
        self.fetches = 0
        self.name = f"ReplicaFetcherThread-{fetcher_id}-{source_broker_id}"
        self.logger = _Prefixed(log, {"prefix": f"[{self.name}]: "})

    # -- partitions (called on the loop) --------------------------------------------------------
    def add_partition(self, tp: TopicPartition, partition: Any) -> None:
        lg = partition.log
        self.partitions[tp] = PartitionFetchState(partition, partition.leader_epoch,
                                                  lg.log_end_offset if lg is not None else 0)
        self._wake.set()

    def remove_partition(self, tp: TopicPartition) -> None:
        if self.partitions.pop(tp, None) is not None:
            self._wake.set()

    def start(self, spawn: Callable[[str, Any], asyncio.Task[Any]]) -> None:
        self._task = spawn(self.name, self.run())

    async def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        await self._close_connection()

    # -- the loop -------------------------------------------------------------------------------
    async def run(self) -> None:
        self.logger.info("Starting")
        try:
            while not self._stopped:
                if not self.partitions:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                try:
                    conn = await self._connection()
                    if any(st.truncating for st in self.partitions.values()):
                        await self._truncate(conn)
                    ready = self._ready_partitions()
                    if not ready:
                        await self._wait(self._next_ready_delay_ms())
                        continue
                    await self._fetch(conn, ready)
                except (NetworkError, OSError, asyncio.TimeoutError) as exc:
                    self.logger.info("Error sending fetch request to broker %d: %s", self.source_broker_id, exc)
                    await self._close_connection()
                    await self._wait(self.config.fetch_backoff_ms)
                except ApiError as exc:       # e.g. a protocol-level error answer: back off, keep going
                    self.logger.warning("Error in fetch from broker %d: %s", self.source_broker_id, exc)
                    await self._wait(self.config.fetch_backoff_ms)
                except Exception:
                    self.logger.error("Unexpected error in the fetcher for broker %d; backing off",
                                      self.source_broker_id, exc_info=True)
                    await self._close_connection()
                    await self._wait(self.config.fetch_backoff_ms)
        finally:
            self.logger.info("Stopped")

    async def _wait(self, delay_ms: int) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), max(delay_ms, 1) / 1000)
        except asyncio.TimeoutError:
            pass

    def _ready_partitions(self) -> list[tuple[TopicPartition, PartitionFetchState]]:
        now = self.clock.monotonic_ms()
        return [(tp, st) for tp, st in self.partitions.items() if not st.truncating and st.delayed_until_ms <= now]

    def _next_ready_delay_ms(self) -> int:
        now = self.clock.monotonic_ms()
        waits = [st.delayed_until_ms - now for st in self.partitions.values()]
        return max(1, min(waits)) if waits else self.config.fetch_backoff_ms

    def _delay(self, st: PartitionFetchState) -> None:
        st.delayed_until_ms = self.clock.monotonic_ms() + self.config.fetch_backoff_ms

    async def _connection(self) -> BrokerConnection:
        endpoint = self.manager.endpoint_of(self.source_broker_id)
        if endpoint is None:
            raise NetworkError(f"no endpoint known for broker {self.source_broker_id}")
        if self._conn is not None and not self._conn.closed and self._conn_endpoint == endpoint:
            return self._conn
        await self._close_connection()
        timeout = self.config.socket_timeout_ms
        self._conn = await self.manager.connect(
            endpoint[0], endpoint[1], client_id=f"broker-{self.config.broker_id}-fetcher-{self.fetcher_id}",
            timeout_ms=timeout)
        self._conn_endpoint = endpoint
        return self._conn

    async def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def _still_current(self, tp: TopicPartition, st: PartitionFetchState) -> bool:
        """After an await: is this partition still ours at the same leader epoch?"""
        if self.partitions.get(tp) is not st:
            return False
        p = st.partition
        return (not p.is_leader and p.leader_replica_id == self.source_broker_id
                and p.leader_epoch == st.leader_epoch and p.log is not None)

    # -- truncation -------------------------------------------------------------------------------
    async def _truncate(self, conn: BrokerConnection) -> None:
        with_epochs: list[tuple[TopicPartition, PartitionFetchState, int]] = []
        supports_epochs = self.config.use_leader_epochs and int(ApiKey.OFFSET_FOR_LEADER_EPOCH) in conn.api_versions
        now = self.clock.monotonic_ms()
        for tp, st in list(self.partitions.items()):
            if not st.truncating or st.delayed_until_ms > now:
                continue
            lg = st.partition.log
            latest = lg.latest_epoch
            if latest < 0 or not supports_epochs:
                self._truncate_to(tp, st, lg.high_watermark, "high watermark (no leader epochs)")
                continue
            with_epochs.append((tp, st, latest))
        if not with_epochs:
            return
        version = conn.negotiated_version(ApiKey.OFFSET_FOR_LEADER_EPOCH)
        topics: dict[str, list[Any]] = {}
        for tp, st, latest in with_epochs:
            topics.setdefault(tp.topic, []).append(EpochPartition(
                partition=tp.partition, current_leader_epoch=st.leader_epoch, leader_epoch=latest))
        request = OFFSET_FOR_LEADER_EPOCH.request(
            replica_id=self.config.broker_id,
            topics=[EpochTopic(topic=t, partitions=ps) for t, ps in topics.items()])
        response = await conn.send(ApiKey.OFFSET_FOR_LEADER_EPOCH, request, version,
                                   timeout_ms=self.config.socket_timeout_ms)
        answers = {TopicPartition(t.topic, p.partition): p for t in response.topics for p in t.partitions}
        for tp, st, latest in with_epochs:
            if not self._still_current(tp, st):
                continue
            ans = answers.get(tp)
            if ans is None or ans.error_code:
                code = ans.error_code if ans is not None else ErrorCode.UNKNOWN_SERVER_ERROR
                self.logger.info("OffsetForLeaderEpoch of %s at epoch %d failed with error %d; retrying", tp,
                                 latest, code)
                self._delay(st)
                continue
            lg = st.partition.log
            leader_epoch = ans.leader_epoch if version >= 1 else UNDEFINED_EPOCH
            offset, complete = truncation_offset(leader_epoch, ans.end_offset, lg.end_offset_for_epoch,
                                                 lg.log_end_offset, lg.high_watermark)
            self._truncate_to(tp, st, offset,
                              f"leader epoch {leader_epoch} end offset {ans.end_offset} (asked for {latest})",
                              complete)

    def _truncate_to(self, tp: TopicPartition, st: PartitionFetchState, offset: int, why: str,
                     complete: bool = True) -> None:
        lg = st.partition.log
        offset = max(offset, 0)
        if offset < lg.log_end_offset:
            self.logger.info("Truncating partition %s with %s to offset %d", tp, why, offset)
            lg.truncate_to(offset)
        st.fetch_offset = lg.log_end_offset
        st.truncating = not complete
        st.delayed_until_ms = 0

    # -- fetching ---------------------------------------------------------------------------------
    async def _fetch(self, conn: BrokerConnection,
                     ready: list[tuple[TopicPartition, PartitionFetchState]]) -> None:
        cfg = self.config
        version = min(conn.negotiated_version(ApiKey.FETCH), MAX_FETCH_VERSION)
        topics: dict[str, list[Any]] = {}
        sent: list[tuple[TopicPartition, PartitionFetchState, int]] = []
        for tp, st in ready:
            lg = st.partition.log
            if lg is None:
                continue
            topics.setdefault(tp.topic, []).append(FetchPartition(
                partition=tp.partition, current_leader_epoch=st.leader_epoch, fetch_offset=st.fetch_offset,
                last_fetched_epoch=-1, log_start_offset=lg.log_start_offset, partition_max_bytes=cfg.fetch_max_bytes))
            sent.append((tp, st, st.fetch_offset))
        request = FETCH.request(
            replica_id=cfg.broker_id, max_wait_ms=cfg.fetch_wait_max_ms, min_bytes=cfg.fetch_min_bytes,
            max_bytes=cfg.fetch_response_max_bytes, isolation_level=0, session_id=0, session_epoch=-1,
            topics=[FetchTopic(topic=t, partitions=ps) for t, ps in topics.items()], forgotten_topics_data=[],
            rack_id="")
        response = await conn.send(ApiKey.FETCH, request, version,
                                   timeout_ms=cfg.socket_timeout_ms + cfg.fetch_wait_max_ms)
        self.fetches += 1
        if version >= 7 and response.error_code:
            self.logger.warning("Fetch request failed with error %d", response.error_code)
            for _tp, st, _o in sent:
                self._delay(st)
            return
        answers = {TopicPartition(t.topic, p.partition): p
                   for t in response.responses for p in t.partition_responses}
        out_of_range: list[tuple[TopicPartition, PartitionFetchState]] = []
        for tp, st, offset in sent:
            if not self._still_current(tp, st) or st.fetch_offset != offset or st.truncating:
                continue
            ans = answers.get(tp)
            if ans is None:
                continue
            code = ans.error_code
            if code == ErrorCode.NONE:
                self._process_partition_data(tp, st, ans)
            elif code == ErrorCode.OFFSET_OUT_OF_RANGE:
                out_of_range.append((tp, st))
            else:
                if code not in _RETRY_LATER:
                    self.logger.warning("Error %d fetching %s at offset %d from broker %d", code, tp, offset,
                                        self.source_broker_id)
                else:
                    self.logger.debug("Error %d for %s; retrying after backoff", code, tp)
                self._delay(st)
        for tp, st in out_of_range:
            await self._handle_out_of_range(conn, tp, st)

    def _process_partition_data(self, tp: TopicPartition, st: PartitionFetchState, ans: Any) -> None:
        partition = st.partition
        lg = partition.log
        records = ans.record_set
        try:
            if records is not None and len(records):
                info = lg.append_as_follower(records)
                if info.shallow_count and info.first_offset != st.fetch_offset and info.first_offset >= 0 \
                        and log.isEnabledFor(logging.DEBUG):
                    self.logger.debug("%s: first appended offset %d after fetching at %d", tp, info.first_offset,
                                      st.fetch_offset)
            st.fetch_offset = lg.log_end_offset
            lg.update_high_watermark(min(ans.high_watermark, lg.log_end_offset))
            leader_start = ans.log_start_offset
            if leader_start > lg.log_start_offset and leader_start <= lg.high_watermark:
                lg.maybe_increment_log_start_offset(leader_start, "leader offset incremented")
        except (ApiError, OSError) as exc:
            self.logger.error("Error appending the fetched data of %s at offset %d: %s", tp, st.fetch_offset, exc)
            st.fetch_offset = lg.log_end_offset
            self._delay(st)
            return
        self.manager.on_follower_progress(tp)

    async def _handle_out_of_range(self, conn: BrokerConnection, tp: TopicPartition,
                                   st: PartitionFetchState) -> None:
        leader_end = await self._leader_offset(conn, tp, st, -1)
        if leader_end is None or not self._still_current(tp, st):
            self._delay(st)
            return
        lg = st.partition.log
        if leader_end < lg.log_end_offset:
            self.logger.warning("Reset fetch offset for partition %s from %d to current leader %d's latest "
                                "offset %d", tp, lg.log_end_offset, self.source_broker_id, leader_end)
            self._truncate_to(tp, st, leader_end, "the leader's end offset (unclean leader election)")
            return
        leader_start = await self._leader_offset(conn, tp, st, -2)
        if leader_start is None or not self._still_current(tp, st):
            self._delay(st)
            return
        if leader_start > lg.log_end_offset:
            self.logger.info("Reset fetch offset for partition %s from %d to current leader %d's start offset %d",
                             tp, lg.log_end_offset, self.source_broker_id, leader_start)
            lg.truncate_fully_and_start_at(leader_start)
        st.fetch_offset = lg.log_end_offset
        st.delayed_until_ms = 0

    async def _leader_offset(self, conn: BrokerConnection, tp: TopicPartition, st: PartitionFetchState,
                             timestamp: int) -> int | None:
        version = conn.negotiated_version(ApiKey.LIST_OFFSETS)
        if version < 1:
            raise UnsupportedVersionError("ListOffsets v1+ is needed by the replica fetcher")
        request = LIST_OFFSETS.request(replica_id=self.config.broker_id, isolation_level=0, topics=[
            ListTopic(name=tp.topic, partitions=[ListPartition(partition_index=tp.partition,
                                                               current_leader_epoch=st.leader_epoch,
                                                               timestamp=timestamp, max_num_offsets=1)])])
        response = await conn.send(ApiKey.LIST_OFFSETS, request, version, timeout_ms=self.config.socket_timeout_ms)
        for t in response.topics:
            for p in t.partitions:
                if p.partition_index == tp.partition:
                    return p.offset if p.error_code == ErrorCode.NONE else None
        return None


class ReplicaFetcherManager:
    """Adds and removes follower partitions to per-(source broker, fetcher id) fetchers."""

    def __init__(self, config: FetcherConfig, clock: Clock, spawn: Callable[[str, Any], asyncio.Task[Any]],
                 endpoint_of: Callable[[int], tuple[str, int] | None],
                 on_follower_progress: Callable[[TopicPartition], None] | None = None, *,
                 connect: Callable[..., Any] = BrokerConnection.connect) -> None:
        self.config = config
        self.connect = connect          # async (host, port, client_id=, timeout_ms=) -> BrokerConnection
        self.clock = clock
        self._spawn = spawn
        self.endpoint_of = endpoint_of
        self._on_progress = on_follower_progress
        self.fetchers: dict[tuple[int, int], ReplicaFetcher] = {}
        self._owner: dict[TopicPartition, tuple[int, int]] = {}
        self._stopping: set[asyncio.Task[Any]] = set()

    def on_follower_progress(self, tp: TopicPartition) -> None:
        if self._on_progress is not None:
            self._on_progress(tp)

    def add_fetcher_for_partitions(self, partitions: dict[TopicPartition, Any]) -> None:
        """Start fetching `partitions` (Partition objects, already followers) from their leaders."""
        for tp, partition in partitions.items():
            self._remove(tp)
            leader = partition.leader_replica_id
            if leader is None or leader < 0 or partition.is_leader:
                continue
            key = (leader, fetcher_id_for(tp, self.config.num_replica_fetchers))
            fetcher = self.fetchers.get(key)
            if fetcher is None:
                fetcher = self.fetchers[key] = ReplicaFetcher(self, *key)
                fetcher.start(self._spawn)
            fetcher.add_partition(tp, partition)
            self._owner[tp] = key
            log.info("[ReplicaFetcherManager on broker %d] Added fetcher to broker %d for partition %s at epoch %d",
                     self.config.broker_id, leader, tp, partition.leader_epoch)

    def remove_fetcher_for_partitions(self, tps: Any) -> None:
        for tp in tps:
            self._remove(tp)
        self._shutdown_idle()

    def _remove(self, tp: TopicPartition) -> None:
        key = self._owner.pop(tp, None)
        if key is not None and key in self.fetchers:
            self.fetchers[key].remove_partition(tp)

    def _shutdown_idle(self) -> None:
        for key, fetcher in list(self.fetchers.items()):
            if not fetcher.partitions:
                del self.fetchers[key]
                self._spawn(f"stop-{fetcher.name}", fetcher.stop())

    def fetch_state(self, tp: TopicPartition) -> PartitionFetchState | None:
        key = self._owner.get(tp)
        return self.fetchers[key].partitions.get(tp) if key in self.fetchers else None

    async def shutdown(self) -> None:
        fetchers = list(self.fetchers.values())
        self.fetchers.clear()
        self._owner.clear()
        await asyncio.gather(*(f.stop() for f in fetchers), return_exceptions=True)


class Replication:
    """The replication layer of one broker: fetchers + ISR manager + their periodic jobs."""

    def __init__(self, fetcher_manager: ReplicaFetcherManager, isr_manager: IsrManager, replica_manager: Any,
                 tasks: Any) -> None:
        self.fetcher_manager = fetcher_manager
        self.isr_manager = isr_manager
        self.replica_manager = replica_manager
        self.tasks = tasks
        self._jobs: list[asyncio.Task[Any]] = []

    # ReplicaManager listeners
    def on_new_followers(self, partitions: dict[TopicPartition, Any]) -> None:
        self.fetcher_manager.add_fetcher_for_partitions(partitions)

    def on_leadership_change(self, leaders: list[Any], followers: list[Any]) -> None:
        for p in leaders:
            p.isr_manager = self.isr_manager
        if leaders:
            self.fetcher_manager.remove_fetcher_for_partitions([p.topic_partition for p in leaders])

    def on_stopped(self, tps: list[TopicPartition]) -> None:
        self.fetcher_manager.remove_fetcher_for_partitions(tps)

    def start_jobs(self) -> None:
        lag = self.isr_manager.replica_lag_time_max_ms
        rm = self.replica_manager
        self._jobs.append(self.tasks.every("isr-expiration", max(lag // 2, 1),
                                           lambda: self.isr_manager.shrink_all(rm.leader_partitions())))
        self._jobs.append(self.tasks.every("isr-change-propagation", ISR_CHANGE_PROPAGATION_INTERVAL_MS,
                                           self.isr_manager.maybe_propagate_isr_changes))

    def stop_now(self) -> None:
        """Synchronous stop: cancel the jobs and fetcher tasks (each sees the cancellation at its
        next await, so no append happens after this returns)."""
        for job in self._jobs:
            job.cancel()
        self._jobs.clear()
        for fetcher in self.fetcher_manager.fetchers.values():
            fetcher._stopped = True
            if fetcher._task is not None:
                fetcher._task.cancel()

    async def shutdown(self) -> None:
        self.stop_now()
        await self.fetcher_manager.shutdown()


def start_replication(broker: Any, *, isr_mode: str | None = None) -> Replication:
    """Wire replication into a started broker's ReplicaManager (fetchers, ISR, periodic jobs).

    `isr_mode`: ``"zookeeper"`` (default: conditional partition-state writes + notifications)
    or ``"alter_isr"`` (AlterIsr to the controller); when None it is read from the broker
    property ``kafkapy.isr.update.mode`` (not a Kafka property; unknown properties are kept
    in the config's originals) and defaults to ``zookeeper``.
    """
    cfg = broker.config
    rm = broker.replica_manager
    fconfig = FetcherConfig.from_broker_config(broker.broker_id, cfg)

    def endpoint_of(broker_id: int) -> tuple[str, int] | None:
        ep = rm.leader_endpoints.get(broker_id)
        if ep is not None:
            return ep
        cached = broker.metadata_cache.snapshot.alive_broker(broker_id)
        if cached is None:
            return None
        info = cached.endpoint(cfg.inter_broker_listener_name) if hasattr(cached, "endpoint") else None
        return (info.host, info.port) if info is not None else None

    def on_follower_progress(tp: TopicPartition) -> None:
        rm.fetch_purgatory.check_and_complete(tp)

    fetchers = ReplicaFetcherManager(fconfig, broker.clock, broker.tasks.spawn, endpoint_of, on_follower_progress)
    mode = isr_mode
    if mode is None:
        originals = cfg.originals() if hasattr(cfg, "originals") else {}
        mode = str(originals.get(ISR_UPDATE_MODE_PROPERTY, MODE_ZOOKEEPER))
    alter = None
    if mode == MODE_ALTER_ISR:
        from kafkapy.server.apis.alter_isr import AlterIsrSender
        alter = AlterIsrSender(broker).send
    isr = IsrManager(broker.broker_id, broker.zk_client, broker.clock, broker.tasks,
                     replica_lag_time_max_ms=int(cfg.get("replica.lag.time.max.ms")),
                     on_isr_changed=rm.on_high_watermark_moved, mode=mode, alter_isr=alter)
    replication = Replication(fetchers, isr, rm, broker.tasks)
    rm.follower_listeners.append(replication.on_new_followers)
    rm.leadership_change_listeners.append(replication.on_leadership_change)
    rm.stop_listeners.append(replication.on_stopped)
    for p in rm.leader_partitions():
        p.isr_manager = isr
    followers = {tp: p for tp, p in rm.all_partitions.items()
                 if not p.is_leader and p.leader_replica_id is not None and p.log is not None}
    if followers:
        fetchers.add_fetcher_for_partitions(followers)
    replication.start_jobs()
    return replication


__all__ = ["ReplicaFetcherManager", "ReplicaFetcher", "PartitionFetchState", "FetcherConfig", "Replication",
           "start_replication", "truncation_offset", "fetcher_id_for"]
