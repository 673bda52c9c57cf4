"""Request dispatch: header → (api, version) codec → handler → encoded response.

`RequestDispatcher` is the network layer's `RequestHandler`. For each frame it parses the
header, checks the version against what the broker advertises (`protocol.api_keys`), decodes
the body with the compiled codec, calls the handler registered for the API key, and encodes
the handler's answer (header + body as chunks, so FileRegions in RECORDS fields reach the
writer untouched).

Error rules (STYLE.md "Errors"):

* unparsable header or body, unknown or unregistered API key, version outside the advertised
  range → close the connection (one INFO line), except ApiVersions at an unsupported version,
  which gets the KIP-511 v0 fallback answer;
* a handler raising `ApiError` for the whole request → the generic error response (that error
  in every top-level and every per-topic/per-partition error field), or closing the connection
  for an acks=0 produce, which expects no answer;
* any other exception → logged once at ERROR (api, version, correlation id, client id, and
  the traceback), then the same generic response with UNKNOWN_SERVER_ERROR; the connection
  stays open.

Handlers are ``fn(ctx, request) -> body | Response | NO_RESPONSE | CLOSE_CONNECTION`` or an
awaitable of one of those; they never see bytes.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import struct
from typing import Any, Awaitable, Callable, Iterator, Protocol, Union

from kafkapy.common.clock import SYSTEM_CLOCK, Clock
from kafkapy.common.errors import ApiError, ErrorCode, error_info
from kafkapy.protocol.api_keys import BROKER_SUPPORTED, ApiKey
from kafkapy.protocol.errors import ProtocolDecodeError, UnknownApiKeyError
from kafkapy.protocol.header import api_versions_fallback_response, parse_request_header
from kafkapy.protocol.primitives import skip_tagged_fields
from kafkapy.protocol.messages import get_api
from kafkapy.protocol.schema import INT16, INT32, INT64, RECORDS, STRING, ApiSpec, ArrayOf, Field, Primitive, Struct
from kafkapy.server.request import CLOSE_CONNECTION, NO_RESPONSE, RequestContext, Response, ResponseAction

log = logging.getLogger(__name__)
request_log = logging.getLogger("kafka.request.logger")

ApiHandler = Callable[[RequestContext, Any], Any]
DispatchResult = Union[Response, ResponseAction, Awaitable[Any]]

_pack_i32 = struct.Struct(">i").pack
_PEEK = struct.Struct(">hh")
_HEAD = struct.Struct(">hhi")
_unpack_i16 = struct.Struct(">h").unpack_from
_NO_TAGS = b"\x00"


class ConnectionInfo(Protocol):
    """What dispatch reads from (and records on) a connection; `network.Connection` fits."""

    connection_id: str
    listener_name: str
    security_protocol: str
    peer_host: str
    client_id: str | None
    client_software_name: str | None
    client_software_version: str | None


class _Route:
    """Everything needed to serve one (api key, version), resolved once."""

    __slots__ = ("api_key", "version", "spec", "fn", "decode", "encode_chunks", "header_flexible",
                 "request_header_version", "header_version", "api_name", "advertised")

    def __init__(self, api_key: int, version: int, spec: ApiSpec, fn: ApiHandler,
                 request_header_version: int, advertised: tuple[int, int]) -> None:
        self.api_key = api_key
        self.version = version
        self.spec = spec
        self.fn = fn
        self.decode = spec.request_codec(version).decode
        self.encode_chunks = spec.response_codec(version).encode_chunks
        self.request_header_version = request_header_version
        # ApiVersions answers with response header v0 at every version (KIP-511).
        self.header_flexible = spec.is_flexible(version) and api_key != ApiKey.API_VERSIONS
        self.header_version = 1 if self.header_flexible else 0
        self.api_name = spec.name
        self.advertised = advertised  # the BROKER_SUPPORTED entry this route was checked against


class RequestDispatcher:
    """ApiKey → handler table plus the decode/encode/error plumbing around the handlers."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self._handlers: dict[int, ApiHandler] = {}
        self._routes: dict[int, _Route] = {}  # (api_key << 16 | version) -> route
        self.requests_handled = 0
        self.error_responses = 0
        self.connections_closed = 0

    # ------------------------------------------------------------ registration
    def register(self, api_key: ApiKey | int, fn: ApiHandler) -> None:
        key = int(ApiKey(api_key))
        get_api(key)  # the schema must exist
        self._handlers[key] = fn
        self._routes.clear()

    def unregister(self, api_key: ApiKey | int) -> None:
        self._handlers.pop(int(api_key), None)
        self._routes.clear()

    @property
    def registered_keys(self) -> frozenset[int]:
        return frozenset(self._handlers)

    # ------------------------------------------------------------ the handler
    def handle(self, conn: ConnectionInfo, frame: memoryview) -> DispatchResult:
        # Fast path: a (key, version) already validated and resolved.
        try:
            api_key, version, correlation_id = _HEAD.unpack_from(frame, 0)
        except struct.error:
            return self._slow_handle(conn, frame)
        route = self._routes.get((api_key << 16) | (version & 0xFFFF))
        if route is None or BROKER_SUPPORTED.get(api_key) is not route.advertised:  # type: ignore[call-overload]
            return self._slow_handle(conn, frame)
        try:
            client_id, pos = _read_header_rest(frame, route.request_header_version)
        except ProtocolDecodeError as exc:
            return self._close(conn, f"unparsable request header: {exc}", api_key, version)
        return self._dispatch(conn, frame, route, correlation_id, client_id, pos)

    def _slow_handle(self, conn: ConnectionInfo, frame: memoryview) -> DispatchResult:
        try:
            header, pos = parse_request_header(frame)
        except UnknownApiKeyError as exc:
            return self._close(conn, f"unknown API key {exc.api_key}", -1, -1)
        except ProtocolDecodeError as exc:
            key, ver = _PEEK.unpack_from(frame) if len(frame) >= 4 else (-1, -1)
            return self._close(conn, f"unparsable request header: {exc}", key, ver)
        api_key = header.api_key
        version = header.api_version
        advertised = BROKER_SUPPORTED.get(api_key)  # type: ignore[call-overload]
        if advertised is None or not advertised[0] <= version <= advertised[1]:
            if api_key == ApiKey.API_VERSIONS:
                # KIP-511: answer at v0 with UNSUPPORTED_VERSION and our ApiVersions range.
                self.requests_handled += 1
                return Response((api_versions_fallback_response(header.correlation_id),))
            if advertised is None:
                reason = f"API key {api_key} is not enabled on this broker"
            else:
                reason = (f"unsupported version {version} of API key {api_key} "
                          f"(supported {advertised[0]}..{advertised[1]})")
            return self._close(conn, reason, api_key, version, header.client_id)
        fn = self._handlers.get(api_key)
        if fn is None:
            return self._close(conn, f"no handler for API key {api_key}", api_key, version, header.client_id)
        route = _Route(api_key, version, get_api(api_key), fn, header.header_version, advertised)
        self._routes[(api_key << 16) | version] = route
        return self._dispatch(conn, frame, route, header.correlation_id, header.client_id, pos)

    def _dispatch(self, conn: ConnectionInfo, frame: memoryview, route: _Route, correlation_id: int,
                  client_id: str | None, pos: int) -> DispatchResult:
        api_key = route.api_key
        version = route.version
        try:
            request, _end = route.decode(frame, pos)
        except ProtocolDecodeError as exc:
            return self._close(conn, f"unparsable request body: {exc}", api_key, version, client_id)
        if conn.client_id != client_id:
            conn.client_id = client_id
        if api_key == 18 and version >= 3:  # ApiVersions v3+ names the client software
            conn.client_software_name = request.client_software_name
            conn.client_software_version = request.client_software_version
        ctx = RequestContext(
            api_key, version, correlation_id, client_id, conn.connection_id,
            conn.listener_name, conn.security_protocol, conn.peer_host, self.clock.monotonic_ms(),
            route.request_header_version, route.header_version,
            conn.client_software_name, conn.client_software_version,
        )
        self.requests_handled += 1
        try:
            result = route.fn(ctx, request)
        except Exception as exc:
            return self._error_result(route, ctx, request, exc)
        return self._complete(route, ctx, request, result)

    # ------------------------------------------------------------ results
    def _complete(self, route: _Route, ctx: RequestContext, request: Any, result: Any) -> DispatchResult:
        if isinstance(result, asyncio.Future):
            return self._chain(route, ctx, request, result)
        if inspect.isawaitable(result):
            return self._await(route, ctx, request, result)
        return self._finish(route, ctx, request, result)

    def _finish(self, route: _Route, ctx: RequestContext, request: Any, result: Any) -> Response | ResponseAction:
        """A handler's final answer → what the connection writes."""
        if type(result) is Response or isinstance(result, ResponseAction):
            out = result
        elif result is None:
            log.error("Handler for %s v%d returned None (correlation id %d, client %s); closing the connection",
                      route.api_name, ctx.api_version, ctx.correlation_id, ctx.client_id)
            out = CLOSE_CONNECTION
        else:
            out = self._encode(route, ctx, request, result, on_error=True)
        if request_log.isEnabledFor(logging.DEBUG):
            self._log_completed(route, ctx, out)
        return out

    def _chain(self, route: _Route, ctx: RequestContext, request: Any,
               fut: asyncio.Future[Any]) -> asyncio.Future[Any]:
        """Encode the result of a future without a task (delayed operations)."""
        out: asyncio.Future[Any] = fut.get_loop().create_future()

        def done(f: asyncio.Future[Any]) -> None:
            if out.done():
                return
            if f.cancelled():
                log.info("%s v%d request (correlation id %d) from %s on %s was cancelled; closing the connection",
                         route.api_name, ctx.api_version, ctx.correlation_id, ctx.client_id, ctx.connection_id)
                out.set_result(CLOSE_CONNECTION)
                return
            exc = f.exception()
            if exc is not None:
                out.set_result(self._error_result(route, ctx, request, exc))
            else:
                out.set_result(self._finish(route, ctx, request, f.result()))

        fut.add_done_callback(done)
        return out

    async def _await(self, route: _Route, ctx: RequestContext, request: Any,
                     awaitable: Awaitable[Any]) -> Response | ResponseAction:
        try:
            result = await awaitable
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return self._error_result(route, ctx, request, exc)
        return self._finish(route, ctx, request, result)

    def _encode(self, route: _Route, ctx: RequestContext, request: Any, body: Any,
                on_error: bool) -> Response | ResponseAction:
        try:
            chunks = route.encode_chunks(body)
        except Exception:
            log.error("Failed to encode the %s v%d response (correlation id %d, client %s)",
                      route.api_name, ctx.api_version, ctx.correlation_id, ctx.client_id, exc_info=True)
            if not on_error:
                return CLOSE_CONNECTION
            self.error_responses += 1
            return self._error_body(route, ctx, request, ErrorCode.UNKNOWN_SERVER_ERROR, None)
        head = _pack_i32(ctx.correlation_id)
        if route.header_flexible:
            head += _NO_TAGS
        if chunks and type(chunks[0]) is bytes:
            chunks[0] = head + chunks[0]
        else:
            chunks.insert(0, head)
        return Response(chunks)

    def _error_result(self, route: _Route, ctx: RequestContext, request: Any,
                      exc: BaseException) -> Response | ResponseAction:
        if isinstance(exc, ApiError):
            code, message = int(exc.code), exc.message
            log.debug("%s v%d request (correlation id %d) from %s failed: %r",
                      route.api_name, ctx.api_version, ctx.correlation_id, ctx.client_id, exc)
        else:
            log.error("Unexpected error handling %s v%d request (correlation id %d, client id %s, connection %s)",
                      route.api_name, ctx.api_version, ctx.correlation_id, ctx.client_id, ctx.connection_id,
                      exc_info=exc)
            code, message = int(ErrorCode.UNKNOWN_SERVER_ERROR), None
        self.error_responses += 1
        if ctx.api_key == ApiKey.PRODUCE and getattr(request, "acks", 1) == 0:
            # The client expects no answer: closing is how it learns about the failure.
            log.info("Closing connection %s after a failed acks=0 produce from %s: %s",
                     ctx.connection_id, ctx.client_id, error_name(code))
            return CLOSE_CONNECTION
        out = self._error_body(route, ctx, request, code, message)
        if request_log.isEnabledFor(logging.DEBUG):
            self._log_completed(route, ctx, out)
        return out

    def _error_body(self, route: _Route, ctx: RequestContext, request: Any, code: int,
                    message: str | None) -> Response | ResponseAction:
        try:
            body = build_error_response(route.spec, ctx.api_version, request, code, message)
        except Exception:
            log.error("Could not build the error response for %s v%d; closing connection %s",
                      route.api_name, ctx.api_version, ctx.connection_id, exc_info=True)
            return CLOSE_CONNECTION
        return self._encode(route, ctx, request, body, on_error=False)

    def _close(self, conn: ConnectionInfo, reason: str, api_key: int, version: int,
               client_id: str | None = None) -> ResponseAction:
        self.connections_closed += 1
        log.info("Closing connection %s from %s (listener %s, api key %d, version %d, client id %s): %s",
                 conn.connection_id, conn.peer_host, conn.listener_name, api_key, version,
                 client_id if client_id is not None else conn.client_id, reason)
        return CLOSE_CONNECTION

    def _log_completed(self, route: _Route, ctx: RequestContext, out: Any) -> None:
        elapsed = self.clock.monotonic_ms() - ctx.received_at_ms
        if isinstance(out, Response):
            what = "%d bytes" % out.size
        else:
            what = repr(out)
        request_log.debug(
            "Completed request: api=%s version=%d correlation_id=%d client_id=%s connection=%s "
            "listener=%s response=%s total_time_ms=%d",
            route.api_name, ctx.api_version, ctx.correlation_id, ctx.client_id, ctx.connection_id,
            ctx.listener_name, what, elapsed)


def _read_header_rest(frame: memoryview, header_version: int) -> tuple[str | None, int]:
    """client_id (header v1+) and the tagged fields (v2) after the fixed 8 header bytes."""
    if header_version == 0:
        return None, 8
    try:
        (n,) = _unpack_i16(frame, 8)
    except struct.error:
        raise ProtocolDecodeError("truncated request header: no client id length") from None
    if n < 0:
        if n != -1:
            raise ProtocolDecodeError(f"invalid client id length {n}")
        client_id, pos = None, 10
    else:
        pos = 10 + n
        if pos > len(frame):
            raise ProtocolDecodeError(f"truncated client id: need {n} bytes, {len(frame) - 10} remain")
        try:
            client_id = str(frame[10:pos], "utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolDecodeError(f"client id is not UTF-8: {exc}") from None
    if header_version == 2:
        pos = skip_tagged_fields(frame, pos)
    return client_id, pos


def error_name(code: int) -> str:
    info = error_info(code)
    return info.name if info is not None else f"UNKNOWN_{code}"


# ---------------------------------------------------------------------------- error responses

# Request and response fields that identify what an entry is about, by concept.
_IDENTITY = {
    "name": "topic", "topic": "topic", "topic_name": "topic",
    "topic_id": "topic_id",
    "partition_index": "partition", "partition": "partition", "index": "partition",
    "partition_id": "partition",
    "group_id": "group", "member_id": "member", "group_instance_id": "group_instance",
    "resource_type": "resource_type", "resource_name": "resource_name",
    "entity_type": "entity_type", "entity_name": "entity_name",
    "producer_id": "producer_id",
}
# Integer fields that Kafka fills with -1 ("unknown") in an error response.
_UNKNOWN_SUFFIXES = ("offset", "watermark", "epoch", "timestamp", "_time_ms", "generation_id",
                     "producer_id", "node_id", "leader_id", "preferred_read_replica")
_ERROR_ONLY = {"error_code", "error_message"}


def build_error_response(spec: ApiSpec, version: int, request: Any, error_code: int,
                         message: str | None = None) -> Any:
    """The response to `request` that reports `error_code` everywhere it can.

    Generic over the schema: every `error_code` field of the response gets the code (top
    level, and in every per-topic / per-partition / per-resource entry); entries are mirrored
    from the request's arrays that name the same things (topic, partition, group...), with
    their identifying fields copied; `error_message` fields get `message`; offsets, epochs and
    timestamps without a declared default are -1; throttle time is 0; the rest keeps defaults.
    """
    return _build(spec.response, version, request, spec.request, {}, int(error_code), message)


def _build(rs: Struct, version: int, req: Any, req_struct: Struct | None, ids: dict[str, Any],
           code: int, message: str | None) -> Any:
    kwargs: dict[str, Any] = {}
    for f in rs.fields:
        if not f.present(version):
            continue
        name = f.name
        t = f.type
        if name == "error_code":
            kwargs[name] = code
        elif name == "error_message":
            if message is not None or f.nullable(version):
                kwargs[name] = message
        elif name == "throttle_time_ms":
            kwargs[name] = 0
        elif isinstance(t, ArrayOf):
            el = t.element
            if isinstance(el, Struct) and _carries_error(el, version):
                kwargs[name] = [
                    _build(el, version, obj, st, {**ids, **found}, code, message)
                    for obj, st, found in _mirror(req, req_struct, el, version)
                ]
        elif isinstance(t, Primitive):
            concept = _IDENTITY.get(name)
            if concept is not None and concept in ids and _fits(t, ids[concept]):
                kwargs[name] = ids[concept]
            elif (not f.explicit_default and t in (INT32, INT64, INT16)
                  and name.endswith(_UNKNOWN_SUFFIXES)):
                kwargs[name] = -1
            elif t is RECORDS:
                kwargs[name] = b""  # empty record set, never null: some clients reject null
            elif f.default is None and not f.nullable(version):
                kwargs[name] = "" if t is STRING else b""
    return rs(**kwargs)


def _fits(t: Primitive, value: Any) -> bool:
    if t is STRING:
        return isinstance(value, str)
    if t in (INT16, INT32, INT64):
        return isinstance(value, int) and not isinstance(value, bool)
    return type(value) is type(t.default_value())


_CARRIES: dict[tuple[int, int], bool] = {}


def _carries_error(s: Struct, version: int) -> bool:
    """True if `s` (or a struct array inside it) has an error_code field at `version`."""
    key = (id(s), version)
    hit = _CARRIES.get(key)
    if hit is None:
        hit = False
        for f in s.fields:
            if not f.present(version):
                continue
            if f.name == "error_code":
                hit = True
                break
            t = f.type
            if isinstance(t, ArrayOf) and isinstance(t.element, Struct) and _carries_error(t.element, version):
                hit = True
                break
        _CARRIES[key] = hit
    return hit


def _identities(s: Struct, version: int) -> dict[str, Field]:
    return {_IDENTITY[f.name]: f for f in s.fields
            if f.present(version) and f.name in _IDENTITY and isinstance(f.type, Primitive)}


def _arrays(s: Struct | None, version: int) -> list[Field]:
    if s is None:
        return []
    return [f for f in s.fields if f.present(version) and isinstance(f.type, ArrayOf)]


def _element_ids(el_type: Any, version: int, want: dict[str, Field]) -> set[str]:
    """Concepts an element of a request array can supply to a response entry."""
    if isinstance(el_type, Struct):
        return set(_identities(el_type, version)) & set(want)
    concept = _primitive_concept(el_type, want)
    return {concept} if concept is not None else set()


def _primitive_concept(el_type: Any, want: dict[str, Field]) -> str | None:
    for concept, f in want.items():
        if f.type is el_type:
            return concept
    return None


def _mirror(req: Any, req_struct: Struct | None, rs: Struct, version: int
            ) -> Iterator[tuple[Any, Struct | None, dict[str, Any]]]:
    """Entries of the request that a response array of `rs` should answer, one per entry:
    (request element or None, its struct or None, identity values found)."""
    if req is None or req_struct is None:
        return iter(())
    want = _identities(rs, version)
    best: tuple[int, int, int] | None = None
    best_path: tuple[Field, Field | None] | None = None
    arrays = _arrays(req_struct, version)
    for order, outer in enumerate(arrays):
        el = outer.type.element  # type: ignore[attr-defined]
        covered = _element_ids(el, version, want)
        candidates: list[tuple[set[str], Field | None]] = [(covered, None)]
        if isinstance(el, Struct):
            for inner in _arrays(el, version):
                candidates.append((covered | _element_ids(inner.type.element, version, want), inner))  # type: ignore[attr-defined]
        for cov, inner in candidates:
            if not cov:
                continue
            score = (len(cov), 0 if inner is None else -1, -order)
            if best is None or score > best:
                best, best_path = score, (outer, inner)
    if best_path is None:
        # Entries that are nothing but an error (CreateAcls results): one per request entry
        # of the only struct array of the request.
        plain = {f.name for f in rs.fields if f.present(version) and isinstance(f.type, Primitive)}
        struct_arrays = [a for a in arrays if isinstance(a.type.element, Struct)]  # type: ignore[attr-defined]
        if plain <= _ERROR_ONLY and len(struct_arrays) == 1:
            best_path = (struct_arrays[0], None)
        else:
            return iter(())
    return _walk(req, best_path[0], best_path[1], want, version)


def _walk(req: Any, outer: Field, inner: Field | None, want: dict[str, Field], version: int
          ) -> Iterator[tuple[Any, Struct | None, dict[str, Any]]]:
    outer_el = outer.type.element  # type: ignore[attr-defined]
    for item in getattr(req, outer.name, None) or ():
        found = _values(item, outer_el, want, version)
        if inner is None:
            yield (item, outer_el if isinstance(outer_el, Struct) else None, found)
            continue
        inner_el = inner.type.element  # type: ignore[attr-defined]
        for sub in getattr(item, inner.name, None) or ():
            yield (sub, inner_el if isinstance(inner_el, Struct) else None,
                   {**found, **_values(sub, inner_el, want, version)})


def _values(item: Any, el_type: Any, want: dict[str, Field], version: int) -> dict[str, Any]:
    if isinstance(el_type, Struct):
        out = {}
        for concept, f in _identities(el_type, version).items():
            if concept in want:
                out[concept] = getattr(item, f.name)
        return out
    concept = _primitive_concept(el_type, want)
    return {concept: item} if concept is not None else {}


__all__ = ["RequestDispatcher", "ConnectionInfo", "ApiHandler", "build_error_response", "error_name"]
