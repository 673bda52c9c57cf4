"""The numbers of a segment and its indexes that the produce path reads and writes.

`LogSegment` is built on `SegmentCore` and the two indexes on `IndexCore`. When the C append helper
(``kafkapy.log._append``, csrc/append_module.c) is built, these are its C structs: the helper then
reads and writes a few adjacent fields instead of a dozen int objects scattered over the heap (after
the kernel has copied a batch into the page cache, each of those is a likely cache miss). Python sees
them as ordinary int attributes either way. Without the helper (not built, or ``KAFKAPY_NATIVE=0``)
they are plain slots with the same names. The C fields are 64-bit: values past that range raise
OverflowError, so callers clamp (as `arm_fast_append` does with config.LONG_MAX).
"""
from __future__ import annotations

from kafkapy.common.native import native_enabled

_native = None
if native_enabled():
    try:
        from . import _append as _native
    except ImportError:   # not built
        _native = None

if _native is not None:
    SegmentCore = _native.SegmentCore
    IndexCore = _native.IndexCore
else:
    class SegmentCore:  # type: ignore[no-redef]
        __slots__ = ("fd", "size", "base_offset", "index_interval_bytes", "bytes_since_last_index_entry",
                     "max_timestamp_so_far", "offset_of_max_timestamp_so_far", "fast_limit_size",
                     "fast_limit_offset", "fast_limit_timestamp")

    class IndexCore:  # type: ignore[no-redef]
        __slots__ = ("entries", "_last_offset", "_last_ts", "_last_off")

NATIVE_CORES = _native is not None
