"""Per-request context and the response representation shared by the network layer and dispatch.

A response travels from an API handler to the connection writer as a `Response`: an ordered
list of chunks (header and body bytes, plus `FileRegion`s that the writer sends from the file
without copying), without the int32 size prefix, which the writer adds. Two markers replace a
response: `NO_RESPONSE` (acks=0 produce) and `CLOSE_CONNECTION` (close once the responses
before this one have been written).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Iterable, NamedTuple, TypeAlias

from kafkapy.common.types import FileRegion

Chunk: TypeAlias = "bytes | bytearray | memoryview | FileRegion"


class ResponseAction(enum.Enum):
    """What to do instead of sending a response."""

    NO_RESPONSE = "no-response"
    CLOSE_CONNECTION = "close-connection"

    def __repr__(self) -> str:
        return self.name


NO_RESPONSE = ResponseAction.NO_RESPONSE
CLOSE_CONNECTION = ResponseAction.CLOSE_CONNECTION


@dataclass(frozen=True, slots=True)
class Response:
    """One response frame's content (header + body), without the size prefix.

    `chunks` are written in order; bytes-like chunks may be coalesced with neighbouring
    responses, `FileRegion` chunks are sent from the file. `close_after` closes the
    connection once this response has been written.
    """

    chunks: tuple[Chunk, ...] | list[Chunk]
    close_after: bool = False

    @classmethod
    def of(cls, *chunks: Chunk, close_after: bool = False) -> Response:
        return cls(chunks, close_after)

    @property
    def size(self) -> int:
        """Bytes on the wire after the size prefix."""
        return sum(map(len, self.chunks))

    def to_bytes(self, *, size_prefix: bool = False) -> bytes:
        """Materialise the response (tests and debugging; reads any file regions)."""
        parts: list[bytes] = []
        if size_prefix:
            parts.append(self.size.to_bytes(4, "big", signed=True))
        parts.extend(_chunk_bytes(c) for c in self.chunks)
        return b"".join(parts)


def _chunk_bytes(chunk: Chunk) -> bytes:
    if isinstance(chunk, FileRegion):
        return chunk.read()
    return bytes(chunk)


def join_chunks(chunks: Iterable[Chunk]) -> bytes:
    """Concatenate chunks into bytes, reading file regions (tests and fallbacks)."""
    return b"".join(_chunk_bytes(c) for c in chunks)


class RequestContext(NamedTuple):
    """What a handler knows about a request besides its body.

    Immutable and slotted. A NamedTuple rather than a frozen dataclass because one is built
    per request: construction costs ~0.3 us instead of ~1.5 us.

    `received_at_ms` is the broker's monotonic clock (Clock.monotonic_ms) when the frame was
    complete; it feeds request timeouts and request metrics, never wall-clock fields.
    """

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    connection_id: str
    listener_name: str
    security_protocol: str
    peer_host: str
    received_at_ms: int
    header_version: int = 1
    response_header_version: int = 0
    client_software_name: str | None = None
    client_software_version: str | None = None

    @property
    def client_address(self) -> str:  # Kafka's name for the peer host
        return self.peer_host
