"""Hypothesis strategies and settings shared by the record-format tests."""
from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from kafkapy.protocol.records import SimpleRecord

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

maybe_bytes = st.one_of(st.none(), st.binary(max_size=64))
header_key = st.text(max_size=12)
headers = st.lists(st.tuples(header_key, maybe_bytes), max_size=4).map(tuple)
timestamps = st.integers(min_value=0, max_value=2**41)


@st.composite
def v2_records(draw, min_size: int = 1, max_size: int = 20):
    base_ts = draw(timestamps)
    n = draw(st.integers(min_size, max_size))
    out = []
    for _ in range(n):
        ts = base_ts + draw(st.integers(-1000, 100000))
        out.append(SimpleRecord(draw(maybe_bytes), draw(maybe_bytes), draw(headers), ts))
    return out


@st.composite
def legacy_records(draw, min_size: int = 1, max_size: int = 20):
    base_ts = draw(timestamps)
    n = draw(st.integers(min_size, max_size))
    return [SimpleRecord(draw(maybe_bytes), draw(maybe_bytes), (), base_ts + draw(st.integers(0, 100000)))
            for _ in range(n)]
