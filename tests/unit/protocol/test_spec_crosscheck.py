"""Mechanical comparison of every kafkapy schema with Kafka 2.8's message JSON (a test oracle).

For each JSON file and each valid version: same fields in the same order, same types, nullability,
tagged fields (tag numbers), defaults, ignorable flags, struct names, valid and flexible versions.
A drift fails naming the API, version and field path.
"""
from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest

from kafkapy.protocol import header
from kafkapy.protocol.schema import (
    ArrayOf, DataSpec, Field, Primitive, Struct, snake_case,
)

SPEC_ROOT = Path(__file__).resolve().parents[3] / ".." / "shared" / "kafka-spec" / "2.8"
MESSAGE_DIR = SPEC_ROOT / "message"
CORE_DIR = SPEC_ROOT / "core-message"

pytestmark = pytest.mark.skipif(
    not MESSAGE_DIR.is_dir(), reason=f"Kafka spec folder {MESSAGE_DIR} is absent"
)


def _strip_comments(text: str) -> str:
    """Remove // comments outside string literals."""
    out = []
    i, n, in_str = 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def load_spec(path: Path) -> dict:
    # raw_decode: DescribeProducersRequest.json has trailing tokens after the root object
    return json.JSONDecoder().raw_decode(_strip_comments(path.read_text()).strip())[0]


def parse_versions(s: str | None) -> tuple[int, int | None] | None:
    """"3+" -> (3, None); "0-4" -> (0, 4); "1" -> (1, 1); "none"/None -> None."""
    if s is None or s == "none":
        return None
    s = s.strip()
    if s.endswith("+"):
        return int(s[:-1]), None
    if "-" in s:
        lo, hi = s.split("-")
        return int(lo), int(hi)
    return int(s), int(s)


def in_range(rng: tuple[int, int | None] | None, v: int) -> bool:
    return rng is not None and v >= rng[0] and (rng[1] is None or v <= rng[1])


PRIMITIVE_NAMES = {"bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64",
                   "uuid", "string", "bytes", "records"}


def spec_default(f: dict):
    d = f.get("default")
    t = f["type"]
    if d is None:
        return _NO_DEFAULT
    if isinstance(d, (int, float, bool)):
        return d
    if d == "null":
        return None
    if t == "bool":
        return d == "true"
    if t in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
        return int(d, 0)
    if t == "float64":
        return float(d)
    return d


_NO_DEFAULT = object()


def type_label(t) -> str:
    if isinstance(t, Primitive):
        return t.spec_name
    if isinstance(t, ArrayOf):
        return "[]" + type_label(t.element)
    if isinstance(t, Struct):
        return str(t.name)
    return repr(t)


def compare_struct(errors: list[str], where: str, spec_fields: list[dict], ours: Struct,
                   version: int, structs: dict[str, list[dict]]) -> None:
    sf = [f for f in spec_fields if in_range(parse_versions(f["versions"]), version)]
    of = [f for f in ours.fields if f.present(version)]
    s_names = [snake_case(f["name"]) for f in sf]
    o_names = [f.name for f in of]
    if s_names != o_names:
        errors.append(f"{where}: fields differ: spec {s_names} != ours {o_names}")
        return
    for s, o in zip(sf, of):
        compare_field(errors, f"{where}.{o.name}", s, o, version, structs)


def compare_field(errors: list[str], where: str, s: dict, o: Field, version: int,
                  structs: dict[str, list[dict]]) -> None:
    st = s["type"]
    ot = o.type
    is_array = st.startswith("[]")
    base = st[2:] if is_array else st
    if is_array != isinstance(ot, ArrayOf):
        errors.append(f"{where}: type {st} != ours {type_label(ot)}")
        return
    elem = ot.element if isinstance(ot, ArrayOf) else ot
    if base in PRIMITIVE_NAMES:
        if not isinstance(elem, Primitive) or elem.spec_name != base:
            errors.append(f"{where}: type {st} != ours {type_label(ot)}")
            return
    else:
        if not isinstance(elem, Struct):
            errors.append(f"{where}: type {st} is a struct, ours is {type_label(ot)}")
            return
        if elem.name != base:
            errors.append(f"{where}: struct name {base} != ours {elem.name}")
        sub_fields = s.get("fields")
        if sub_fields is None:
            sub_fields = structs.get(base)
        if sub_fields is None:
            errors.append(f"{where}: spec struct {base} not found")
        else:
            compare_struct(errors, where, sub_fields, elem, version, structs)
    nullable = in_range(parse_versions(s.get("nullableVersions")), version)
    if nullable != o.nullable(version):
        errors.append(f"{where}: nullable {nullable} != ours {o.nullable(version)}")
    tagged = in_range(parse_versions(s.get("taggedVersions")), version)
    if tagged != o.tagged(version):
        errors.append(f"{where}: tagged {tagged} != ours {o.tagged(version)}")
    elif tagged and s.get("tag") != o.tag:
        errors.append(f"{where}: tag {s.get('tag')} != ours {o.tag}")
    never_compact = s.get("flexibleVersions") == "none"
    if never_compact != o.never_compact:
        errors.append(f"{where}: field flexibleVersions {s.get('flexibleVersions')} "
                      f"!= ours never_compact={o.never_compact}")
    if bool(s.get("ignorable", False)) != o.ignorable:
        errors.append(f"{where}: ignorable {s.get('ignorable', False)} != ours {o.ignorable}")
    d = spec_default(s)
    if d is _NO_DEFAULT:
        if o.explicit_default and o.default != o.type.default_value():
            errors.append(f"{where}: spec has no default, ours is {o.default!r}")
    elif isinstance(elem, Primitive) and not is_array and o.default != d:
        errors.append(f"{where}: default {d!r} != ours {o.default!r}")


def check_versioned(errors: list[str], label: str, spec: dict, ours: Struct, lo: int, hi: int,
                    flexible_since: int | None) -> None:
    valid = parse_versions(spec["validVersions"])
    if (valid[0], valid[1]) != (lo, hi):
        errors.append(f"{label}: valid versions {spec['validVersions']} != ours {lo}-{hi}")
    flex = parse_versions(spec.get("flexibleVersions"))
    ours_flex = None if flexible_since is None else (flexible_since, None)
    if flex != ours_flex:
        errors.append(f"{label}: flexible versions {spec.get('flexibleVersions')} "
                      f"!= ours since {flexible_since}")
    if spec["name"] != ours.name:
        errors.append(f"{label}: schema name {spec['name']} != ours {ours.name}")
    structs = {c["name"]: c["fields"] for c in spec.get("commonStructs", [])}
    for v in range(valid[0], (valid[1] if valid[1] is not None else valid[0]) + 1):
        compare_struct(errors, f"{label} v{v}", spec["fields"], ours, v, structs)


def _data_specs() -> dict[str, DataSpec]:
    """Every DataSpec defined in kafkapy.protocol (message modules and header.py), by name."""
    import kafkapy.protocol.messages as pkg

    found: dict[str, DataSpec] = {}
    modules = [header] + [importlib.import_module(f"{pkg.__name__}.{m.name}")
                          for m in pkgutil.iter_modules(pkg.__path__)]
    for mod in modules:
        for value in vars(mod).values():
            if isinstance(value, DataSpec):
                found[value.name] = value
    return found


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


@pytest.mark.parametrize("path", _files(MESSAGE_DIR) + _files(CORE_DIR), ids=lambda p: p.stem)
def test_schema_matches_spec(path: Path) -> None:
    from kafkapy.protocol import messages

    spec = load_spec(path)
    errors: list[str] = []
    kind = spec["type"]
    if kind in ("request", "response"):
        key = spec["apiKey"]
        api = messages.APIS.get(key)
        if api is None:
            pytest.fail(f"{spec['name']}: no schema module registered for api key {key}")
        ours = api.request if kind == "request" else api.response
        check_versioned(errors, f"{spec['name']} (key {key})", spec, ours,
                        api.min_version, api.max_version, api.flexible_since)
    else:
        data = _data_specs().get(spec["name"])
        if data is None:
            if spec["name"] in _UNMODELLED:
                pytest.skip(f"{spec['name']}: {_UNMODELLED[spec['name']]}")
            pytest.fail(f"{spec['name']}: no DataSpec named {spec['name']!r} in kafkapy.protocol")
        check_versioned(errors, spec["name"], spec, data.schema, data.min_version,
                        data.max_version, data.flexible_since)
    assert not errors, "\n".join(errors)


# Data schemas kafkapy has no use for (KRaft-only or principal forwarding for Envelope).
_UNMODELLED = {
    "LeaderChangeMessage": "KRaft control record, not used by a ZooKeeper-mode broker",
    "DefaultPrincipalData": "principal serialization for Envelope forwarding, off in ZK mode",
    "TransactionLogKey": "transaction log records are not modelled yet",
    "TransactionLogValue": "transaction log records are not modelled yet",
}


def test_every_api_key_registered() -> None:
    from kafkapy.protocol import messages
    from kafkapy.protocol.api_keys import ApiKey

    missing = [k.name for k in ApiKey if int(k) not in messages.APIS]
    assert not missing, f"api keys without a schema module: {missing}"


def test_snake_case_names() -> None:
    assert snake_case("ThrottleTimeMs") == "throttle_time_ms"
    assert snake_case("V0Host") == "v0_host"
    assert snake_case("protocolType") == "protocol_type"
    assert re.fullmatch(r"[a-z0-9_]+", snake_case("IsInternal"))


def test_checker_detects_drift() -> None:
    """The comparison itself must notice a wrong type, a missing field and a wrong tag."""
    from kafkapy.protocol.schema import INT16, INT32, Schema, STRING

    spec = {"name": "X", "validVersions": "0-1", "flexibleVersions": "1+", "fields": [
        {"name": "A", "type": "int32", "versions": "0+"},
        {"name": "B", "type": "string", "versions": "1+", "tag": 0, "taggedVersions": "1+"},
    ]}
    good = Schema(Field("a", INT32), Field("b", STRING, since=1, tag=0), name="X")
    errors: list[str] = []
    check_versioned(errors, "X", spec, good, 0, 1, 1)
    assert errors == []
    for bad in (Schema(Field("a", INT16), Field("b", STRING, since=1, tag=0), name="X"),
                Schema(Field("a", INT32), name="X"),
                Schema(Field("a", INT32), Field("b", STRING, since=1, tag=1), name="X")):
        errors = []
        check_versioned(errors, "X", spec, bad, 0, 1, 1)
        assert errors and errors[0].startswith("X v")
