"""Size-prefixed framing: an int32 size, then that many bytes (header + body).

``next_frame(buf, pos, max_bytes)`` finds the frame starting at ``pos``:

- ``(memoryview, end)``: a complete frame (the payload, without the size prefix), and the
  position just after it;
- ``(None, total)``: not complete yet; ``total`` is how many bytes from ``pos`` the frame needs
  (4 while even the size prefix is incomplete);
- raises ``InvalidFrameError`` for a negative size or one above ``max_bytes``
  (``socket.request.max.bytes``): the connection must be closed.
"""
from __future__ import annotations

import struct
from typing import Any

from kafkapy.protocol.errors import ProtocolDecodeError

DEFAULT_MAX_REQUEST_BYTES = 104857600  # socket.request.max.bytes default (100 MiB)
SIZE_PREFIX_BYTES = 4

_SIZE = struct.Struct(">i")


class InvalidFrameError(ProtocolDecodeError):
    def __init__(self, size: int, max_bytes: int) -> None:
        if size < 0:
            msg = f"invalid negative frame size {size}"
        else:
            msg = f"frame size {size} is larger than the maximum {max_bytes}"
        super().__init__(msg)
        self.size = size
        self.max_bytes = max_bytes


def next_frame(buf: Any, pos: int = 0,
               max_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> tuple[memoryview | None, int]:
    """See the module docstring. ``buf`` is any bytes-like object; the frame is a zero-copy view."""
    avail = len(buf) - pos
    if avail < SIZE_PREFIX_BYTES:
        return None, SIZE_PREFIX_BYTES
    (size,) = _SIZE.unpack_from(buf, pos)
    if size < 0 or size > max_bytes:
        raise InvalidFrameError(size, max_bytes)
    total = SIZE_PREFIX_BYTES + size
    if avail < total:
        return None, total
    start = pos + SIZE_PREFIX_BYTES
    return memoryview(buf)[start:start + size], pos + total


def frame(payload: Any) -> bytes:
    """Prefix ``payload`` (header + body) with its size."""
    return _SIZE.pack(len(payload)) + bytes(payload)


def size_prefix(size: int) -> bytes:
    return _SIZE.pack(size)


def frame_chunks(chunks: list) -> list:
    """Prefix a list of chunks (bytes-like or FileRegion, all with ``len``) with their total size;
    the prefix joins the first chunk when that is bytes."""
    total = sum(len(c) for c in chunks)
    head = _SIZE.pack(total)
    if chunks and isinstance(chunks[0], bytes):
        return [head + chunks[0], *chunks[1:]]
    return [head, *chunks]
