"""The kazoo bridge: the only kafkapy module that imports kazoo.

`ZkClient` wraps one `KazooClient` for code running on an asyncio loop:

* every operation is a coroutine built on kazoo's `*_async` methods; the kazoo
  result is settled on the loop via `call_soon_threadsafe` (the only call made from
  kazoo's threads), and a future that was already given up on is left alone;
* watches are plain callables run **on the loop** with a payload-less
  `ZkWatchEvent(kind, path)`; they are one-shot. Kind `NONE` means kazoo dropped the
  watch because the connection was lost: re-read and re-arm like any other event;
* connection states become loop callbacks: `on_state_change(ZkState)`,
  `on_session_lost()` (the session expired: ephemerals and watches are gone) and
  `on_new_session()` (connected again with a different session: re-register the
  broker, re-arm watches, re-run controller election);
* kazoo exceptions are translated into `kafkapy.zk.errors` at this boundary;
* a failed `multi` raises its culprit (the failing operation's error) with
  `op_index` set to that operation's position;
* at most `max_in_flight_requests` requests are handed to kazoo at once (Kafka's
  ``zookeeper.max.in.flight.requests``, default 10); further callers wait their turn on the
  loop. An unbounded burst (tens of thousands of pipelined reads or writes in a failover)
  only queues inside kazoo and the server, so nothing is gained by it;
* `wait_connected()` lets a caller that saw a `ConnectionLossError` wait for the
  reconnection (same session) before retrying, and tells it when the session is gone;
* `get_many` / `multi_many` pipeline thousands of requests inside that window from kazoo's
  completion thread: each answer starts the next request there (kazoo's calls are thread-safe;
  the batch's own bookkeeping is under a lock and no loop object is touched), and the loop is
  woken once, when the batch is done. A busy broker loop then paces the requests less: the
  10,000 state reads of a failover (busy 2-core machine) took 17.8 s with a loop wake-up per
  read, 12.9 s pipelined; with a window of 100 instead of 10, 5.9 s.

Connect strings may carry a chroot (`host:port[,host:port]/kafka`); like Kafka,
`start()` creates the chroot path first if it does not exist.
"""
from __future__ import annotations

import asyncio
import collections
import enum
import logging
import selectors
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kazoo import exceptions as kz
from kazoo.client import KazooClient
from kazoo.handlers.threading import SequentialThreadingHandler
from kazoo.handlers.utils import selector_select
from kazoo.protocol.states import EventType, KazooState

from kafkapy.zk import errors

log = logging.getLogger(__name__)

ANY_VERSION = -1
DEFAULT_MAX_IN_FLIGHT_REQUESTS = 10


class ZkState(enum.Enum):
    CONNECTED = "CONNECTED"
    SUSPENDED = "SUSPENDED"   # disconnected; the session may still be alive
    LOST = "LOST"             # session expired (or the client was stopped)


@dataclass(frozen=True, slots=True)
class ZkStat:
    """A znode's stat; `version` is the data version Kafka calls zkVersion."""

    czxid: int
    mzxid: int
    ctime: int
    mtime: int
    version: int
    cversion: int
    aversion: int
    ephemeral_owner: int
    data_length: int
    num_children: int
    pzxid: int


@dataclass(frozen=True, slots=True)
class ZkWatchEvent:
    """A watch fired. kind: CREATED, DELETED, CHANGED, CHILD or NONE (watch dropped
    by a connection loss). Carries no data: the receiver re-reads."""

    kind: str
    path: str | None


# ---------------------------------------------------------------- multi operations
@dataclass(frozen=True, slots=True)
class CreateOp:
    path: str
    data: bytes = b""
    ephemeral: bool = False
    sequence: bool = False


@dataclass(frozen=True, slots=True)
class SetDataOp:
    path: str
    data: bytes
    version: int = ANY_VERSION


@dataclass(frozen=True, slots=True)
class DeleteOp:
    path: str
    version: int = ANY_VERSION


@dataclass(frozen=True, slots=True)
class CheckOp:
    path: str
    version: int


ZkOp = CreateOp | SetDataOp | DeleteOp | CheckOp

# kazoo exception -> kafkapy exception (first match wins: ConnectionClosedError is a
# kazoo SessionExpiredError subclass)
_TRANSLATION: tuple[tuple[type[BaseException], type[errors.ZkError]], ...] = (
    (kz.NodeExistsError, errors.NodeExistsError),
    (kz.NoNodeError, errors.NoNodeError),
    (kz.BadVersionError, errors.BadVersionError),
    (kz.NotEmptyError, errors.NotEmptyError),
    (kz.NoChildrenForEphemeralsError, errors.NoChildrenForEphemeralsError),
    (kz.ConnectionClosedError, errors.ZkClientClosedError),
    (kz.SessionExpiredError, errors.SessionExpiredError),
    (kz.ConnectionLoss, errors.ConnectionLossError),
    (kz.ConnectionDropped, errors.ConnectionLossError),
    (kz.OperationTimeoutError, errors.ZkTimeoutError),
    (kz.RequestTimeoutError, errors.ZkTimeoutError),
    (kz.NoAuthError, errors.ZkAuthError),
    (kz.AuthFailedError, errors.ZkAuthError),
    (kz.InvalidACLError, errors.ZkAuthError),
    (kz.ZookeeperStoppedError, errors.ZkClientClosedError),
)


def translate(exc: BaseException, path: str | None = None) -> BaseException:
    """The kafkapy exception for a kazoo exception (others are returned unchanged)."""
    for kazoo_type, ours in _TRANSLATION:
        if isinstance(exc, kazoo_type):
            new = ours(f"{ours.__name__}{' at ' + path if path else ''}"
                       f"{': ' + str(exc) if str(exc) else ''}", path)
            new.__cause__ = exc
            return new
    if isinstance(exc, kz.ZookeeperError):
        new = errors.ZkError(f"{type(exc).__name__}{' at ' + path if path else ''}", path)
        new.__cause__ = exc
        return new
    return exc


def _to_stat(stat: Any) -> ZkStat:
    return ZkStat(czxid=stat.czxid, mzxid=stat.mzxid, ctime=stat.ctime, mtime=stat.mtime,
                  version=stat.version, cversion=stat.cversion, aversion=stat.aversion,
                  ephemeral_owner=stat.ephemeralOwner, data_length=stat.dataLength,
                  num_children=stat.numChildren, pzxid=stat.pzxid)


_EVENT_KINDS = {
    EventType.CREATED: "CREATED",
    EventType.DELETED: "DELETED",
    EventType.CHANGED: "CHANGED",
    EventType.CHILD: "CHILD",
    EventType.NONE: "NONE",
}


def _settle(fut: asyncio.Future[Any], kazoo_result: Any, path: str | None,
            convert: Callable[[Any], Any] | None) -> None:
    """Runs on the loop: copy a finished kazoo result into the future."""
    if fut.done():
        return
    if kazoo_result.successful():
        value = kazoo_result.value
        if convert is not None:
            try:
                value = convert(value)
            except Exception as exc:  # the culprit of a failed multi, or a conversion bug
                fut.set_exception(exc)
                return
        fut.set_result(value)
    else:
        fut.set_exception(translate(kazoo_result.exception, path))


class _PollSelectors:
    """A `selectors` look-alike whose default selector is poll(2): kazoo's connection thread
    builds a selector for every wait (several per request); an epoll one costs three system
    calls to set up and tear down, a poll one none (and, unlike select(2), poll has no limit on
    descriptor numbers, which a broker holding thousands of segment files needs)."""

    EVENT_READ = selectors.EVENT_READ
    EVENT_WRITE = selectors.EVENT_WRITE
    DefaultSelector = getattr(selectors, "PollSelector", selectors.DefaultSelector)


class _PollThreadingHandler(SequentialThreadingHandler):
    """kazoo's threading handler, waiting with poll(2) (measured: a third less CPU per request)."""

    def select(self, *args: Any, **kwargs: Any) -> Any:
        return selector_select(*args, selectors_module=_PollSelectors, **kwargs)


def split_chroot(connect_string: str) -> tuple[str, str | None]:
    """`h1:2181,h2:2181/kafka/a` -> (`h1:2181,h2:2181`, `/kafka/a`); no chroot -> None."""
    slash = connect_string.find("/")
    if slash < 0:
        return connect_string, None
    hosts, chroot = connect_string[:slash], connect_string[slash:].rstrip("/")
    return hosts, (chroot or None)


class ZkClient:
    """Asyncio-facing ZooKeeper client. Create it, then `await start()` on the loop."""

    def __init__(self, connect_string: str, *, session_timeout_ms: int = 18000,
                 connection_timeout_ms: int | None = None, create_chroot: bool = True,
                 on_state_change: Callable[[ZkState], None] | None = None,
                 on_session_lost: Callable[[], None] | None = None,
                 on_new_session: Callable[[], None] | None = None,
                 max_in_flight_requests: int = DEFAULT_MAX_IN_FLIGHT_REQUESTS) -> None:
        self.connect_string = connect_string
        self.hosts, self.chroot = split_chroot(connect_string)
        self.session_timeout_ms = session_timeout_ms
        self.create_chroot = create_chroot
        self.connection_timeout_ms = (session_timeout_ms if connection_timeout_ms is None
                                      else connection_timeout_ms)
        self._state_listeners: list[Callable[[ZkState], None]] = []
        self._session_lost_listeners: list[Callable[[], None]] = []
        self._new_session_listeners: list[Callable[[], None]] = []
        if on_state_change:
            self._state_listeners.append(on_state_change)
        if on_session_lost:
            self._session_lost_listeners.append(on_session_lost)
        if on_new_session:
            self._new_session_listeners.append(on_new_session)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kazoo: KazooClient | None = None
        self._stopping = False
        self._session_id: int | None = None
        self._state = ZkState.LOST
        self._connected_waiter: asyncio.Future[None] | None = None
        self._state_waiters: list[asyncio.Future[None]] = []
        if max_in_flight_requests < 1:
            raise ValueError(f"max_in_flight_requests must be at least 1, got {max_in_flight_requests}")
        self._max_in_flight = max_in_flight_requests
        self._in_flight = 0
        self._slot_waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    # ---------------------------------------------------------------- listeners
    def add_state_listener(self, fn: Callable[[ZkState], None]) -> None:
        self._state_listeners.append(fn)

    def add_session_lost_listener(self, fn: Callable[[], None]) -> None:
        self._session_lost_listeners.append(fn)

    def add_new_session_listener(self, fn: Callable[[], None]) -> None:
        self._new_session_listeners.append(fn)

    @property
    def state(self) -> ZkState:
        return self._state

    @property
    def session_id(self) -> int | None:
        """Id of the current session (None before the first connect)."""
        return self._session_id

    @property
    def client_id(self) -> tuple[int, bytes] | None:
        """(session id, password) of the live session: a second client given these
        joins the same session (tests use it to force expiry)."""
        return self._kazoo.client_id if self._kazoo is not None else None

    @property
    def connected(self) -> bool:
        return self._state is ZkState.CONNECTED

    @property
    def max_in_flight_requests(self) -> int:
        return self._max_in_flight

    @max_in_flight_requests.setter
    def max_in_flight_requests(self, value: int) -> None:
        if value < 1:
            raise ValueError(f"max_in_flight_requests must be at least 1, got {value}")
        self._max_in_flight = value
        self._wake_slot_waiters()

    @property
    def in_flight_requests(self) -> int:
        """Requests handed to kazoo and not answered yet."""
        return self._in_flight

    async def wait_connected(self, timeout_ms: int | None = None) -> None:
        """Return once connected with the session we had when called (at once if connected now).
        Raises SessionExpiredError when that session is lost (or a new one replaced it) and
        ZkTimeoutError after `timeout_ms` (None: wait as long as it takes)."""
        session = self._session_id
        loop = asyncio.get_running_loop()
        deadline = None if timeout_ms is None else loop.time() + timeout_ms / 1000
        while True:
            if self._state is ZkState.CONNECTED and self._session_id == session:
                return
            if (self._state is ZkState.LOST or self._session_id != session) and self._kazoo is not None:
                raise errors.SessionExpiredError("ZooKeeper session expired while waiting for the reconnection")
            if self._kazoo is None:
                raise errors.ZkClientClosedError("ZooKeeper client is not started")
            waiter: asyncio.Future[None] = loop.create_future()
            self._state_waiters.append(waiter)
            try:
                if deadline is None:
                    await waiter
                else:
                    await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                raise errors.ZkTimeoutError(f"Not reconnected to ZooKeeper within {timeout_ms} ms") from None
            finally:
                if waiter in self._state_waiters:
                    self._state_waiters.remove(waiter)

    # ---------------------------------------------------------------- lifecycle
    async def start(self, timeout_ms: int | None = None) -> None:
        """Connect (creating the chroot path if missing); raises ZkTimeoutError."""
        self._loop = asyncio.get_running_loop()
        timeout_s = (timeout_ms if timeout_ms is not None else self.connection_timeout_ms) / 1000
        if self.chroot and self.create_chroot:
            await self._ensure_chroot(timeout_s)
        self._kazoo = self._new_kazoo(self.connect_string)
        self._kazoo.add_listener(self._on_kazoo_state)
        self._connected_waiter = self._loop.create_future()
        self._kazoo.start_async()
        try:
            await asyncio.wait_for(asyncio.shield(self._connected_waiter), timeout_s)
        except asyncio.CancelledError:
            # Cancelled while connecting: stop kazoo off the loop without waiting for it.
            kazoo, self._kazoo, self._stopping = self._kazoo, None, True
            if kazoo is not None:
                self._loop.run_in_executor(None, self._stop_kazoo, kazoo)
            raise
        except asyncio.TimeoutError:
            await self.stop()
            raise errors.ZkTimeoutError(
                f"Timed out waiting for connection to ZooKeeper at {self.hosts} "
                f"after {timeout_s * 1000:.0f} ms") from None

    def _new_kazoo(self, hosts: str) -> KazooClient:
        return KazooClient(hosts=hosts, timeout=self.session_timeout_ms / 1000,
                           connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1.0},
                           handler=_PollThreadingHandler())

    async def _ensure_chroot(self, timeout_s: float) -> None:
        """Kafka connects without the chroot first and creates it (ignoring NODEEXISTS)."""
        assert self.chroot is not None
        bootstrap = ZkClient(self.hosts, session_timeout_ms=self.session_timeout_ms,
                             connection_timeout_ms=int(timeout_s * 1000))
        await bootstrap.start()
        try:
            try:
                await bootstrap.create(self.chroot, b"", makepath=True)
            except errors.NodeExistsError:
                pass
        finally:
            await bootstrap.stop()

    def _on_kazoo_state(self, state: str) -> None:
        """Runs on kazoo's connection thread: hand the state to the loop, nothing else."""
        loop = self._loop
        kazoo = self._kazoo
        if loop is None or kazoo is None:
            return
        client_id = kazoo.client_id if state == KazooState.CONNECTED else None
        session_id = client_id[0] if client_id else None
        try:
            loop.call_soon_threadsafe(self._apply_state, ZkState(str(state)), session_id)
        except RuntimeError:  # loop closed during shutdown
            pass

    def _apply_state(self, state: ZkState, session_id: int | None) -> None:
        """Runs on the loop."""
        previous = self._state
        self._state = state
        log.info("ZooKeeper state %s -> %s%s", previous.value, state.value,
                 f" (session 0x{session_id:x})" if session_id else "")
        new_session = False
        if state is ZkState.CONNECTED:
            if self._connected_waiter is not None and not self._connected_waiter.done():
                self._connected_waiter.set_result(None)
            new_session = self._session_id is not None and session_id != self._session_id
            self._session_id = session_id
        waiters, self._state_waiters = self._state_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        for fn in list(self._state_listeners):
            self._run_listener(fn, state)
        if state is ZkState.LOST and not self._stopping:
            for lost in list(self._session_lost_listeners):
                self._run_listener(lost)
        if new_session and not self._stopping:
            for fresh in list(self._new_session_listeners):
                self._run_listener(fresh)

    @staticmethod
    def _run_listener(fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # a listener bug must not break the bridge; logged once
            log.exception("ZooKeeper state listener %r failed", fn)

    async def stop(self) -> None:
        """Close the session (ephemerals vanish) and stop kazoo's threads."""
        kazoo = self._kazoo
        if kazoo is None:
            return
        self._stopping = True
        # kazoo's stop() sends closeSession and joins its threads: run it off the loop.
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._stop_kazoo, kazoo)
        self._kazoo = None
        self._state = ZkState.LOST

    @staticmethod
    def _stop_kazoo(kazoo: KazooClient) -> None:
        kazoo.stop()
        kazoo.close()

    # --------------------------------------------------------------- internals
    def _client(self) -> KazooClient:
        if self._kazoo is None:
            raise errors.ZkClientClosedError("ZooKeeper client is not started")
        return self._kazoo

    def _future(self, kazoo_result: Any, path: str | None,
                convert: Callable[[Any], Any] | None = None) -> asyncio.Future[Any]:
        loop = self._loop
        assert loop is not None
        fut: asyncio.Future[Any] = loop.create_future()

        def on_ready(res: Any) -> None:  # kazoo thread
            try:
                loop.call_soon_threadsafe(_settle, fut, res, path, convert)
            except RuntimeError:  # loop closed during shutdown
                pass

        kazoo_result.rawlink(on_ready)
        return fut

    def _watcher(self, callback: Callable[[ZkWatchEvent], None] | None) -> Callable[[Any], None] | None:
        if callback is None:
            return None
        loop = self._loop
        assert loop is not None

        def fire(event: Any) -> None:  # kazoo watch thread; kazoo already removed the chroot
            try:
                loop.call_soon_threadsafe(callback, ZkWatchEvent(_EVENT_KINDS.get(event.type, "NONE"),
                                                                 event.path))
            except RuntimeError:  # loop closed during shutdown
                pass

        return fire

    async def _call(self, make: Callable[[], Any], path: str | None,
                    convert: Callable[[Any], Any] | None = None) -> Any:
        await self._acquire_slot()
        try:
            try:
                kazoo_result = make()
            except kz.KazooException as exc:  # raised synchronously (e.g. stopped client)
                raise translate(exc, path) from exc
            return await self._future(kazoo_result, path, convert)
        finally:
            self._release_slot()

    # The in-flight window: a counter and FIFO waiters on the loop (plain functions between
    # awaits, so no lock is needed). A waiter that is cancelled passes its turn on.
    async def _acquire_slot(self) -> None:
        if self._in_flight < self._max_in_flight and not self._slot_waiters:
            self._in_flight += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._slot_waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():   # the slot was handed to us: pass it on
                self._in_flight -= 1
                self._wake_slot_waiters()
            else:
                try:
                    self._slot_waiters.remove(waiter)
                except ValueError:
                    pass
            raise

    def _release_slot(self) -> None:
        self._in_flight -= 1
        self._wake_slot_waiters()

    def _wake_slot_waiters(self) -> None:
        while self._slot_waiters and self._in_flight < self._max_in_flight:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                self._in_flight += 1
                waiter.set_result(None)

    # ------------------------------------------------------------------ reads
    async def get(self, path: str, watch: Callable[[ZkWatchEvent], None] | None = None
                  ) -> tuple[bytes, ZkStat]:
        """Data and stat; NoNodeError if missing. `watch` fires on change/delete."""
        client = self._client()
        return await self._call(lambda: client.get_async(path, watch=self._watcher(watch)), path,
                                lambda v: (v[0] or b"", _to_stat(v[1])))

    async def get_or_none(self, path: str, watch: Callable[[ZkWatchEvent], None] | None = None
                          ) -> tuple[bytes, ZkStat] | None:
        try:
            return await self.get(path, watch)
        except errors.NoNodeError:
            return None

    async def get_children(self, path: str, watch: Callable[[ZkWatchEvent], None] | None = None
                           ) -> list[str]:
        client = self._client()
        return await self._call(lambda: client.get_children_async(path, watch=self._watcher(watch)),
                                path, list)

    async def get_children_with_stat(self, path: str,
                                     watch: Callable[[ZkWatchEvent], None] | None = None
                                     ) -> tuple[list[str], ZkStat]:
        client = self._client()
        return await self._call(
            lambda: client.get_children_async(path, watch=self._watcher(watch), include_data=True),
            path, lambda v: (list(v[0]), _to_stat(v[1])))

    async def exists(self, path: str, watch: Callable[[ZkWatchEvent], None] | None = None
                     ) -> ZkStat | None:
        """Stat or None; a watch set on a missing znode fires on its creation."""
        client = self._client()
        return await self._call(lambda: client.exists_async(path, watch=self._watcher(watch)), path,
                                lambda v: None if v is None else _to_stat(v))

    # ----------------------------------------------------------------- writes
    async def create(self, path: str, data: bytes = b"", *, ephemeral: bool = False,
                     sequence: bool = False, makepath: bool = False) -> str:
        """Create a znode; returns its path (with the sequence suffix). Missing
        parents are created empty when `makepath`."""
        client = self._client()
        return await self._call(lambda: client.create_async(path, bytes(data), ephemeral=ephemeral,
                                                            sequence=sequence, makepath=makepath),
                                path)

    async def create_with_stat(self, path: str, data: bytes = b"", *, ephemeral: bool = False,
                               sequence: bool = False, makepath: bool = False) -> tuple[str, ZkStat]:
        client = self._client()
        return await self._call(
            lambda: client.create_async(path, bytes(data), ephemeral=ephemeral, sequence=sequence,
                                        makepath=makepath, include_data=True),
            path, lambda v: (v[0], _to_stat(v[1])))

    async def ensure_path(self, path: str) -> None:
        """Create `path` and its parents (empty data) unless they exist."""
        client = self._client()
        await self._call(lambda: client.ensure_path_async(path), path)

    async def set(self, path: str, data: bytes, version: int = ANY_VERSION) -> ZkStat:
        """setData, conditional on `version` unless -1; returns the new stat."""
        client = self._client()
        return await self._call(lambda: client.set_async(path, bytes(data), version), path, _to_stat)

    async def delete(self, path: str, version: int = ANY_VERSION, *, recursive: bool = False) -> None:
        """Delete; with `recursive`, children first (children vanishing meanwhile is fine)."""
        client = self._client()
        if recursive:
            try:
                children = await self.get_children(path)
            except errors.NoNodeError:
                return
            prefix = path.rstrip("/")
            await asyncio.gather(*(self._delete_quietly(f"{prefix}/{c}") for c in children))
            try:
                await self._call(lambda: client.delete_async(path, version), path)
            except errors.NotEmptyError:  # someone added a child meanwhile: go again
                await self.delete(path, version, recursive=True)
            return
        await self._call(lambda: client.delete_async(path, version), path)

    async def _delete_quietly(self, path: str) -> None:
        try:
            await self.delete(path, recursive=True)
        except errors.NoNodeError:
            pass

    async def multi(self, ops: Sequence[ZkOp]) -> list[Any]:
        """Run `ops` atomically. Results per op: created path, new ZkStat, or True.
        On failure raises the failing op's error with `op_index` (and `op`) set."""
        client = self._client()
        ops = list(ops)
        return await self._call(lambda: _commit_async(client, ops), None,
                                lambda results: _multi_results(ops, results))

    # ------------------------------------------------------------- pipelined bulk calls
    async def get_many(self, paths: Sequence[str]) -> list[tuple[bytes, ZkStat] | None]:
        """getData of every path (None where the znode is missing), in order. The requests are
        pipelined inside the in-flight window by kazoo's own completion thread: the loop is woken
        once for the whole batch instead of once per znode, so thousands of reads (a controller
        failover) do not queue behind a busy loop. Other errors (connection loss...) are raised
        once the requests already sent have been answered."""
        client = self._client()
        paths = list(paths)
        raw = await self._pipeline([lambda p=p: client.get_async(p) for p in paths], kz.NoNodeError)
        out: list[tuple[bytes, ZkStat] | None] = []
        for value in raw:
            out.append(None if value is None else (value[0] or b"", _to_stat(value[1])))
        return out

    async def multi_many(self, transactions: Sequence[Sequence[ZkOp]]) -> list[list[Any] | BaseException]:
        """Several independent multis, pipelined like `get_many`. Per transaction: its results
        (as `multi` returns them) or the exception `multi` would raise (its culprit); a failure of
        the request itself (connection loss...) is raised."""
        client = self._client()
        txns = [list(t) for t in transactions]
        raw = await self._pipeline([lambda t=t: _commit_async(client, t) for t in txns], None)
        out: list[list[Any] | BaseException] = []
        for ops, results in zip(txns, raw):
            try:
                out.append(_multi_results(ops, results))
            except errors.ZkError as exc:
                out.append(exc)
        return out

    async def _pipeline(self, makers: list[Callable[[], Any]], absent: type[BaseException] | None
                        ) -> list[Any]:
        """Run `makers` (each starts one kazoo request) with at most the slots this call could
        take in the in-flight window outstanding; each answer starts the next request from kazoo's
        completion thread. Returns the raw kazoo values in order (None for an `absent` error)."""
        if not makers:
            return []
        loop = asyncio.get_running_loop()
        await self._acquire_slot()                        # one slot, waiting like anyone else
        slots = 1
        while slots < len(makers) and self._in_flight < self._max_in_flight and not self._slot_waiters:
            self._in_flight += 1                          # and the free ones, never waiting for more
            slots += 1
        done: asyncio.Future[None] = loop.create_future()
        results: list[Any] = [None] * len(makers)
        state = {"next": 0, "outstanding": 0, "error": None}
        lock = threading.Lock()

        def finish() -> None:                             # on the loop
            if not done.done():
                done.set_result(None)

        def start_next() -> None:                         # loop or kazoo completion thread
            with lock:
                if state["error"] is not None or state["next"] >= len(makers):
                    last = state["outstanding"] == 0
                    index = -1
                else:
                    index = state["next"]
                    state["next"] += 1
                    state["outstanding"] += 1
                    last = False
            if index < 0:
                if last:
                    try:
                        loop.call_soon_threadsafe(finish)
                    except RuntimeError:                  # loop closed during shutdown
                        pass
                return
            try:
                async_result = makers[index]()
            except Exception as exc:                      # kazoo refused synchronously (stopped...)
                answered(index, None, exc)
                return
            async_result.rawlink(lambda res, i=index: answered(i, res, None))

        def answered(index: int, res: Any, sync_error: BaseException | None) -> None:
            exc = sync_error if sync_error is not None else (None if res.successful() else res.exception)
            with lock:
                state["outstanding"] -= 1
                if exc is None:
                    results[index] = res.value
                elif absent is not None and isinstance(exc, absent):
                    results[index] = None
                elif state["error"] is None:
                    state["error"] = exc
            start_next()

        try:
            for _ in range(slots):
                start_next()
            await done
        finally:
            if not done.done():                           # cancelled: send nothing more
                with lock:
                    if state["error"] is None:
                        state["error"] = asyncio.CancelledError()
            self._in_flight -= slots
            self._wake_slot_waiters()
        if state["error"] is not None:
            raise translate(state["error"])
        return results


def _commit_async(client: KazooClient, ops: list[ZkOp]) -> Any:
    txn = client.transaction()
    for op in ops:
        if isinstance(op, CreateOp):
            txn.create(op.path, bytes(op.data), ephemeral=op.ephemeral, sequence=op.sequence)
        elif isinstance(op, SetDataOp):
            txn.set_data(op.path, bytes(op.data), op.version)
        elif isinstance(op, DeleteOp):
            txn.delete(op.path, op.version)
        elif isinstance(op, CheckOp):
            txn.check(op.path, op.version)
        else:
            raise TypeError(f"not a ZooKeeper operation: {op!r}")
    return txn.commit_async()


def _multi_results(ops: list[ZkOp], results: list[Any]) -> list[Any]:
    """Runs on the loop: raise the culprit of a failed transaction."""
    failed = [(i, r) for i, r in enumerate(results) if isinstance(r, Exception)]
    if not failed:
        return [_to_stat(r) if hasattr(r, "dataLength") else r for r in results]
    culprit = next(((i, r) for i, r in failed
                    if not isinstance(r, (kz.RolledBackError, kz.RuntimeInconsistency))), failed[0])
    index, exc = culprit
    translated = translate(exc, ops[index].path)
    if isinstance(translated, errors.ZkError):
        translated.op_index = index  # type: ignore[attr-defined]
        translated.op = ops[index]   # type: ignore[attr-defined]
        raise translated
    raise errors.ZkError(f"multi failed at op {index} ({ops[index]!r}): {exc!r}", ops[index].path)
