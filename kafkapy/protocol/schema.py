"""Declarative message schemas and their compiled, per-version codecs.

A message module declares its request and response once; every field carries the
version range it exists in, so the module reads like the protocol table::

    from kafkapy.protocol.schema import ApiSpec, ArrayOf, Field, Schema, INT16, INT32, INT64, STRING

    API = ApiSpec(key=18, name="ApiVersions", min_version=0, max_version=3, flexible_since=3,
        request=Schema(
            Field("client_software_name", STRING, since=3),
            Field("client_software_version", STRING, since=3),
        ),
        response=Schema(
            Field("error_code", INT16),
            Field("api_keys", ArrayOf(
                Field("api_key", INT16),
                Field("min_version", INT16),
                Field("max_version", INT16),
                name="ApiVersion")),
            Field("throttle_time_ms", INT32, since=1, ignorable=True),
            Field("finalized_features_epoch", INT64, since=3, tag=1, tagged_since=3, default=-1),
        ),
    )

    req = API.request(client_software_name="kcat")                 # keyword construction
    entry = API.response.struct("api_keys")(api_key=0, max_version=9)
    codec = API.response_codec(3)                                   # compiled once, cached
    data = codec.encode(API.response(api_keys=[entry]))
    obj, end = codec.decode(memoryview(data))

Vocabulary (mirrors Kafka's message JSON, names in snake_case):

- ``Field(name, type, since=0, until=None, nullable_since=None, tag=None, tagged_since=None,
  default=<type default>, ignorable=False, never_compact=False)``: ``since``/``until`` are the
  inclusive version range ("3+" is ``since=3``; "0-4" is ``until=4``); ``nullable_since`` the first
  version where the field may be null (all nullable ranges in Kafka are open-ended); ``tag`` and
  ``tagged_since`` declare a tagged field; ``never_compact`` keeps the classic encoding even in
  flexible versions (only the request header's client_id does that).
- Types: ``BOOL INT8 INT16 UINT16 INT32 UINT32 INT64 FLOAT64 UUID STRING BYTES RECORDS``;
  ``ArrayOf(INT32)``; ``ArrayOf(Field(...), ..., name=None)`` (array of structs);
  ``Struct(Field(...), ..., name=None)`` (a struct-typed field, or a named struct shared by
  several fields like Kafka's ``commonStructs``); ``ArrayOf(some_struct)``.
- ``Schema(*fields)``: a top-level struct. ``ApiSpec(key, name, min_version, max_version,
  flexible_since, request, response)``; ``DataSpec(name, min_version, max_version, flexible_since,
  schema)`` for versioned data that is not an API (``__consumer_offsets`` keys and values,
  consumer protocol). ``flexible_since=None`` means never flexible.

Defaults (Kafka's): 0 for numbers, False, "" for strings, b"" for bytes, [] for arrays, a default
instance for struct fields, the zero UUID, None for RECORDS; a nullable field whose spec default
is null must say ``default=None``.

Decoded objects are instances of classes generated per struct (``__slots__``, keyword-only
``__init__`` with defaults, ``==`` over all fields, readable repr). A field absent in the decoded
version holds its default; encoding ignores fields absent in the target version.
STRING decodes to ``str``, BYTES to ``bytes``, RECORDS to a ``memoryview`` slice of the input
(zero copy: the caller keeps the input alive and unchanged) or None, UUID to ``uuid.UUID``.

Codecs (see ``Codec``): ``decode(buf, pos=0) -> (obj, end)``, ``encode(obj) -> bytes``,
``encode_chunks(obj) -> list`` (a RECORDS value that is a ``FileRegion`` becomes its own list
element, for sendfile, its length prefix ending the chunk before it; payloads of 32 KiB or more
also stay separate, uncopied; everything else is joined into ``bytes`` chunks). Plain ``encode`` reads a FileRegion's bytes (a copy, for tests and fallbacks).
Malformed input raises ``ProtocolDecodeError`` naming the message, version and field path;
unencodable objects raise ``ProtocolEncodeError``. Registry accessors: ``kafkapy.protocol.messages``.

Compilation (once per struct, version and flexibility, on first use): each message becomes one
generated decode and one encode function with nested structs inlined and adjacent fixed-width
fields read or written by one precompiled ``struct.Struct``. A second, field-by-field decoder
(``Codec.checked_decode``) runs only when the fast one fails, to name the failing field.
"""
from __future__ import annotations

import re
import struct
import uuid
from typing import Any, Callable, Iterable

from kafkapy.common.types import FileRegion
from kafkapy.protocol import primitives as P
from kafkapy.protocol.errors import ProtocolDecodeError, ProtocolEncodeError, UnsupportedVersionError

__all__ = [
    "Type", "Primitive", "ArrayOf", "Struct", "Schema", "Field", "ApiSpec", "DataSpec", "Codec",
    "BOOL", "INT8", "INT16", "UINT16", "INT32", "UINT32", "INT64", "FLOAT64", "UUID", "STRING",
    "BYTES", "RECORDS", "ZERO_UUID", "snake_case", "camel_case",
]

ZERO_UUID = uuid.UUID(int=0)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def snake_case(name: str) -> str:
    """Kafka spec name to our field name: ``ThrottleTimeMs`` -> ``throttle_time_ms``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def camel_case(name: str) -> str:
    """Our field name to a class name: ``api_keys`` -> ``ApiKeys``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


# --------------------------------------------------------------------------- types

class Type:
    """Base of every field type."""

    spec_name: str = ""

    def default_value(self) -> Any:
        raise NotImplementedError


class Primitive(Type):
    """A primitive wire type. ``fmt`` is its struct code when it has a fixed width."""

    __slots__ = ("name", "spec_name", "fmt", "size", "_default")

    def __init__(self, name: str, spec_name: str, fmt: str | None, default: Any) -> None:
        self.name = name
        self.spec_name = spec_name
        self.fmt = fmt
        self.size = struct.calcsize(">" + fmt) if fmt else None
        self._default = default

    @property
    def fixed(self) -> bool:
        return self.fmt is not None

    def default_value(self) -> Any:
        return self._default

    def __repr__(self) -> str:
        return self.name


BOOL = Primitive("BOOL", "bool", "?", False)
INT8 = Primitive("INT8", "int8", "b", 0)
INT16 = Primitive("INT16", "int16", "h", 0)
UINT16 = Primitive("UINT16", "uint16", "H", 0)
INT32 = Primitive("INT32", "int32", "i", 0)
UINT32 = Primitive("UINT32", "uint32", "I", 0)
INT64 = Primitive("INT64", "int64", "q", 0)
FLOAT64 = Primitive("FLOAT64", "float64", "d", 0.0)
UUID = Primitive("UUID", "uuid", "16s", ZERO_UUID)
STRING = Primitive("STRING", "string", None, "")
BYTES = Primitive("BYTES", "bytes", None, b"")
RECORDS = Primitive("RECORDS", "records", None, None)

PRIMITIVES = (BOOL, INT8, INT16, UINT16, INT32, UINT32, INT64, FLOAT64, UUID, STRING, BYTES, RECORDS)


class Field:
    """One field of a struct, with the versions it exists in. See the module docstring."""

    __slots__ = ("name", "type", "since", "until", "nullable_since", "tag", "tagged_since",
                 "default", "explicit_default", "ignorable", "never_compact")

    def __init__(self, name: str, type: Type, *, since: int = 0, until: int | None = None,
                 nullable_since: int | None = None, tag: int | None = None,
                 tagged_since: int | None = None, default: Any = MISSING,
                 ignorable: bool = False, never_compact: bool = False) -> None:
        if not isinstance(type, Type):
            raise TypeError(f"field {name!r}: {type!r} is not a protocol type")
        if until is not None and until < since:
            raise ValueError(f"field {name!r}: until={until} < since={since}")
        if default is None and nullable_since is None:
            raise ValueError(f"field {name!r}: default None needs nullable_since")
        if tag is not None and tagged_since is None:
            tagged_since = since
        if tag is None and tagged_since is not None:
            raise ValueError(f"field {name!r}: tagged_since without tag")
        self.name = name
        self.type = type
        self.since = since
        self.until = until
        self.nullable_since = nullable_since
        self.tag = tag
        self.tagged_since = tagged_since
        self.explicit_default = default is not MISSING
        self.default = default if default is not MISSING else type.default_value()
        self.ignorable = ignorable
        self.never_compact = never_compact
        if isinstance(type, (Struct, ArrayOf)):
            struct_type = type if isinstance(type, Struct) else type.element
            if isinstance(struct_type, Struct) and struct_type.name is None:
                struct_type.name = camel_case(name)

    def present(self, version: int) -> bool:
        """True when the field exists (tagged or not) at ``version``."""
        if version < self.since or (self.until is not None and version > self.until):
            return False
        if self.tag is not None and version < self.tagged_since:
            return False
        return True

    def nullable(self, version: int) -> bool:
        return self.nullable_since is not None and version >= self.nullable_since

    def tagged(self, version: int) -> bool:
        return self.tag is not None and version >= self.tagged_since

    def fresh_default(self) -> Any:
        """The default value; a new object for mutable defaults (arrays, structs)."""
        if self.explicit_default:
            d = self.default
            return list(d) if isinstance(d, list) else d
        return self.type.default_value()

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.type!r}, since={self.since}, until={self.until})"


class ArrayOf(Type):
    """Array of a primitive (``ArrayOf(INT32)``), of a struct (``ArrayOf(Field(...), ...)``
    or ``ArrayOf(some_struct)``)."""

    __slots__ = ("element",)
    spec_name = "array"

    def __init__(self, element: Type | Field, *fields: Field, name: str | None = None) -> None:
        if isinstance(element, Field):
            element = Struct(element, *fields, name=name)
        elif fields:
            raise TypeError("ArrayOf(type) takes no extra fields")
        elif isinstance(element, ArrayOf):
            raise TypeError("arrays of arrays do not exist in the Kafka protocol")
        self.element: Type = element

    def default_value(self) -> list:
        return []

    def __repr__(self) -> str:
        return f"ArrayOf({self.element!r})"


class Struct(Type):
    """An ordered group of fields; the type of a struct field or of array elements.

    Calling it constructs an instance: ``struct(field=value, ...)``.
    """

    spec_name = "struct"

    def __init__(self, *fields: Field, name: str | None = None) -> None:
        seen: set[str] = set()
        tags: set[int] = set()
        for f in fields:
            if not isinstance(f, Field):
                raise TypeError(f"{f!r} is not a Field")
            if f.name in seen:
                raise ValueError(f"duplicate field name {f.name!r}")
            seen.add(f.name)
            if f.tag is not None:
                if f.tag in tags:
                    raise ValueError(f"duplicate tag {f.tag}")
                tags.add(f.tag)
        self.fields: tuple[Field, ...] = tuple(fields)
        self.name: str | None = name
        self._cls: type | None = None
        self._codecs: dict[tuple[int, bool], Codec] = {}

    # -- object model
    @property
    def cls(self) -> type:
        """The generated message class (built on first use)."""
        if self._cls is None:
            self._cls = _make_class(self)
        return self._cls

    def __call__(self, **kwargs: Any) -> Any:
        return self.cls(**kwargs)

    def default_value(self) -> Any:
        return self.cls()

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    def struct(self, *path: str) -> "Struct":
        """The nested struct reached through field names: ``schema.struct("topics", "partitions")``."""
        s: Struct = self
        for name in path:
            t = s.field(name).type
            if isinstance(t, ArrayOf):
                t = t.element
            if not isinstance(t, Struct):
                raise KeyError(f"field {name!r} of {s.name} is not a struct or array of structs")
            s = t
        return s

    # -- codecs
    def codec(self, version: int, flexible: bool) -> "Codec":
        """The compiled codec of this struct at ``version`` (cached)."""
        key = (version, flexible)
        c = self._codecs.get(key)
        if c is None:
            c = self._codecs[key] = compile_codec(self, version, flexible)
        return c

    def __repr__(self) -> str:
        return f"Struct({self.name})"


class Schema(Struct):
    """A top-level struct: the body of a request or response, or a versioned data record."""


class Codec:
    """Encoder/decoder of one struct at one version; built by the compiler, cached per version.

    ``decode(buf, pos=0) -> (obj, end)`` raises ProtocolDecodeError on malformed input.
    ``encode(obj) -> bytes``; ``encode_chunks(obj) -> list`` of bytes-like chunks where each
    FileRegion RECORDS value (and each payload of 32 KiB or more) is a separate element; ``encode_into(obj, out)`` appends parts
    (bytes, memoryviews, FileRegions) to ``out``.
    """

    __slots__ = ("name", "version", "flexible", "decode", "encode", "encode_chunks", "encode_into",
                 "raw_decode", "raw_encode", "checked_decode", "source")

    def __init__(self, name: str, version: int, flexible: bool, decode: Callable, encode: Callable,
                 encode_chunks: Callable, encode_into: Callable, raw_decode: Callable | None = None,
                 raw_encode: Callable | None = None, checked_decode: Callable | None = None,
                 source: str = "") -> None:
        self.name = name
        self.version = version
        self.flexible = flexible
        self.decode = decode
        self.encode = encode
        self.encode_chunks = encode_chunks
        self.encode_into = encode_into
        self.raw_decode = raw_decode or decode  # (memoryview, pos) -> (obj, end), no conversion
        self.raw_encode = raw_encode or encode_into  # (obj, out) without error translation
        # the field-by-field decoder used to explain a failure of the fast one (tests use it too)
        self.checked_decode = checked_decode or self.raw_decode
        self.source = source  # the generated Python source, for debugging

    def __repr__(self) -> str:
        return f"<Codec {self.name} v{self.version}{' flexible' if self.flexible else ''}>"


class ApiSpec:
    """One API: key, name, valid versions (Kafka 2.8), flexible versions, request and response."""

    def __init__(self, *, key: int, name: str, min_version: int, max_version: int,
                 flexible_since: int | None, request: Schema, response: Schema) -> None:
        self.key = key
        self.name = name
        self.min_version = min_version
        self.max_version = max_version
        self.flexible_since = flexible_since
        self.request = request
        self.response = response
        if request.name is None:
            request.name = name + "Request"
        if response.name is None:
            response.name = name + "Response"

    @property
    def versions(self) -> range:
        return range(self.min_version, self.max_version + 1)

    def is_flexible(self, version: int) -> bool:
        return self.flexible_since is not None and version >= self.flexible_since

    def _check(self, version: int) -> None:
        if not self.min_version <= version <= self.max_version:
            raise UnsupportedVersionError(self.key, version, self.min_version, self.max_version)

    def request_codec(self, version: int) -> Codec:
        self._check(version)
        return self.request.codec(version, self.is_flexible(version))

    def response_codec(self, version: int) -> Codec:
        self._check(version)
        return self.response.codec(version, self.is_flexible(version))

    def __repr__(self) -> str:
        return f"<ApiSpec {self.key} {self.name} v{self.min_version}..{self.max_version}>"


class DataSpec:
    """Versioned data that is not an API message (internal-topic keys/values, consumer protocol)."""

    def __init__(self, *, name: str, min_version: int, max_version: int,
                 flexible_since: int | None, schema: Schema) -> None:
        self.name = name
        self.min_version = min_version
        self.max_version = max_version
        self.flexible_since = flexible_since
        self.schema = schema
        if schema.name is None:
            schema.name = name

    @property
    def versions(self) -> range:
        return range(self.min_version, self.max_version + 1)

    def is_flexible(self, version: int) -> bool:
        return self.flexible_since is not None and version >= self.flexible_since

    def codec(self, version: int) -> Codec:
        if not self.min_version <= version <= self.max_version:
            raise UnsupportedVersionError(-1, version, self.min_version, self.max_version)
        return self.schema.codec(version, self.is_flexible(version))

    def __repr__(self) -> str:
        return f"<DataSpec {self.name} v{self.min_version}..{self.max_version}>"


# --------------------------------------------------------------------------- generated classes

def _make_class(s: Struct) -> type:
    """Generate a slotted class for struct ``s``: kw-only __init__ with defaults, ==, repr."""
    names = [f.name for f in s.fields]
    ns: dict[str, Any] = {"_MISSING": MISSING}
    params = []
    body = []
    for i, f in enumerate(s.fields):
        d = f.default
        if d is None or isinstance(d, (bool, int, float, str, bytes)) or d is ZERO_UUID:
            ns[f"_d{i}"] = d
            params.append(f"{f.name}=_d{i}")
            body.append(f"    self.{f.name} = {f.name}")
        else:
            ns[f"_f{i}"] = f.fresh_default
            params.append(f"{f.name}=_MISSING")
            body.append(f"    self.{f.name} = _f{i}() if {f.name} is _MISSING else {f.name}")
    src = "def __init__(self" + (", *, " + ", ".join(params) if params else "") + "):\n"
    src += "\n".join(body) if body else "    pass"
    exec(src, ns)  # noqa: S102 - generated from our own declarations
    tup = "(" + "".join(f"self.{n}, " for n in names) + ")"
    otup = "(" + "".join(f"other.{n}, " for n in names) + ")"
    exec(
        "def __eq__(self, other):\n"
        "    if other.__class__ is not self.__class__:\n"
        "        return NotImplemented\n"
        f"    return {tup} == {otup}\n",
        ns,
    )
    cls_name = s.name or "Struct"

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{cls_name}({inner})"

    cls = type(cls_name, (), {
        "__slots__": tuple(names),
        "__init__": ns["__init__"],
        "__eq__": ns["__eq__"],
        "__hash__": None,
        "__repr__": __repr__,
        "_fields": tuple(names),
        "_struct": s,
    })
    return cls


def iter_structs(t: Type | Struct) -> Iterable[Struct]:
    """All structs reachable from ``t`` (``t`` itself first), each once."""
    seen: set[int] = set()
    stack = [t]
    while stack:
        x = stack.pop()
        if isinstance(x, ArrayOf):
            stack.append(x.element)
        elif isinstance(x, Struct) and id(x) not in seen:
            seen.add(id(x))
            yield x
            stack.extend(reversed([f.type for f in x.fields]))




# --------------------------------------------------------------------------- compiler
#
# Each (struct, version, flexible) compiles to two generated functions:
#   d(buf, pos) -> (obj, pos)    reads fields in order; adjacent fixed-width fields share one
#                                precompiled struct.Struct; errors gain the field path
#   e(obj, out) -> None          appends encoded parts (bytes, memoryviews, FileRegions) to out
# Nested structs are compiled the same way and called from their parent.

_DEC_ERRORS = (ProtocolDecodeError, struct.error, UnicodeDecodeError)
_ENC_ERRORS = (struct.error, TypeError, AttributeError, ValueError, OverflowError)


def _decode_context(e: BaseException, struct_name: str, field: str, index: int) -> ProtocolDecodeError:
    if isinstance(e, ProtocolDecodeError):
        detail = getattr(e, "detail", None) or str(e)
        inner = getattr(e, "field_path", "")
    elif isinstance(e, struct.error):
        detail, inner = f"truncated buffer: {e}", ""
    else:
        detail, inner = f"invalid data: {e}", ""
    here = field.replace("[]", f"[{index}]") if field else ""
    path = here + ("." + inner if inner and here else inner)
    err = ProtocolDecodeError(f"{struct_name}: {detail}" + (f" (at {path})" if path else ""))
    err.detail = detail  # type: ignore[attr-defined]
    err.field_path = path  # type: ignore[attr-defined]
    err.struct_name = struct_name  # type: ignore[attr-defined]
    return err


def _string_io(compact: bool, nullable: bool, kind: str) -> tuple[Callable, Callable | None]:
    """(reader, writer) of a STRING or BYTES field; BYTES writers are None (use append_*)."""
    if kind == "string":
        if compact:
            return ((P.read_compact_nullable_string, P.write_compact_nullable_string) if nullable
                    else (P.read_compact_string, P.write_compact_string))
        return ((P.read_nullable_string, P.write_nullable_string) if nullable
                else (P.read_string, P.write_string))
    if compact:
        return (P.read_compact_nullable_bytes if nullable else P.read_compact_bytes), None
    return (P.read_nullable_bytes if nullable else P.read_bytes), None


def _append_non_null_bytes(out: list, b: Any, compact: bool) -> None:
    if b is None:
        raise TypeError("None for a non-nullable bytes field")
    P.append_bytes(out, b, compact)


class _Gen:
    """Accumulates generated source and the constants it refers to."""

    def __init__(self, s: Struct, version: int, flexible: bool) -> None:
        self.s = s
        self.version = version
        self.flexible = flexible
        self.ns: dict[str, Any] = {
            "_new": object.__new__, "_UUID": uuid.UUID, "_ctx": _decode_context,
            "_ERRS": _DEC_ERRORS,
            "_alen": P.read_array_length, "_calen": P.read_compact_array_length,
            "_walen": P.write_array_length, "_wcalen": P.write_compact_array_length,
            "_rtags": P.read_tagged_fields, "_wtags": P.write_tagged_fields,
            "_rrec": P.read_records, "_rcrec": P.read_compact_records,
            "_abytes": _append_non_null_bytes, "_anbytes": P.append_nullable_bytes,
            "_S16": struct.Struct(">16s"),
        }
        self.n = 0

    def const(self, value: Any, prefix: str = "_k") -> str:
        self.n += 1
        name = f"{prefix}{self.n}"
        self.ns[name] = value
        return name

    def tmp(self) -> str:
        self.n += 1
        return f"_t{self.n}"

    # -- reading one value of type t into `target`
    def read(self, t: Type, f: Field, target: str, ind: str) -> list[str]:
        v, flex = self.version, self.flexible
        compact = flex and not f.never_compact
        nullable = f.nullable(v)
        if isinstance(t, Primitive):
            if t is UUID:
                return [f"{ind}{target} = _UUID(bytes=_S16.unpack_from(buf, pos)[0]); pos += 16"]
            if t.fixed:
                st = self.const(struct.Struct(">" + t.fmt), "_S")
                return [f"{ind}{target} = {st}.unpack_from(buf, pos)[0]; pos += {t.size}"]
            if t is RECORDS:
                if nullable:
                    return [f"{ind}{target}, pos = {'_rcrec' if compact else '_rrec'}(buf, pos)"]
                reader = self.const(P.read_compact_non_null_records if compact
                                    else P.read_non_null_records, "_r")
                return [f"{ind}{target}, pos = {reader}(buf, pos)"]
            reader = self.const(_string_io(compact, nullable, "string" if t is STRING else "bytes")[0], "_r")
            return [f"{ind}{target}, pos = {reader}(buf, pos)"]
        if isinstance(t, Struct):
            if nullable:
                raise NotImplementedError(f"nullable struct field {f.name}")
            sub = self.const(t.codec(v, flex).raw_decode, "_d")
            return [f"{ind}{target}, pos = {sub}(buf, pos)"]
        assert isinstance(t, ArrayOf)
        el = t.element
        if isinstance(el, Primitive) and el.fixed and el is not UUID:
            rd = self.const(P.fixed_array_reader(el.fmt, compact, nullable), "_ra")
            return [f"{ind}{target}, pos = {rd}(buf, pos)"]
        n, lst = self.tmp(), self.tmp()
        lines = [f"{ind}{n}, pos = {'_calen' if compact else '_alen'}(buf, pos, {nullable})"]
        lines.append(f"{ind}if {n} < 0:")
        lines.append(f"{ind}    {target} = None")
        lines.append(f"{ind}else:")
        el = t.element
        i2 = ind + "    "
        x = self.tmp()
        lines.append(f"{i2}{lst} = []")
        lines.append(f"{i2}for _i in range({n}):")
        if isinstance(el, Struct):
            sub = self.const(el.codec(v, flex).raw_decode, "_d")
            lines.append(f"{i2}    {x}, pos = {sub}(buf, pos)")
        else:
            elem_field = Field("element", el, never_compact=f.never_compact)
            lines.extend(self.read(el, elem_field, x, i2 + "    "))
        lines.append(f"{i2}    {lst}.append({x})")
        lines.append(f"{i2}{target} = {lst}")
        return lines

    # -- writing the value of expression `expr` of type t (appending to out via _a)
    def write(self, t: Type, f: Field, expr: str, ind: str) -> list[str]:
        v, flex = self.version, self.flexible
        compact = flex and not f.never_compact
        nullable = f.nullable(v)
        if isinstance(t, Primitive):
            if t is UUID:
                return [f"{ind}_a({expr}.bytes)"]
            if t.fixed:
                st = self.const(struct.Struct(">" + t.fmt), "_S")
                return [f"{ind}_a({st}.pack({expr}))"]
            if (t is RECORDS or t is BYTES) and nullable:
                return [f"{ind}_anbytes(out, {expr}, {compact})"]
            if t is BYTES or t is RECORDS:
                return [f"{ind}_abytes(out, {expr}, {compact})"]
            writer = self.const(_string_io(compact, nullable, "string")[1], "_w")
            return [f"{ind}_a({writer}({expr}))"]
        if isinstance(t, Struct):
            sub = self.const(t.codec(v, flex).raw_encode, "_e")
            return [f"{ind}{sub}({expr}, out)"]
        assert isinstance(t, ArrayOf)
        val = self.tmp()
        lines = [f"{ind}{val} = {expr}"]
        alen = "_wcalen" if compact else "_walen"
        i2 = ind
        if nullable:
            lines.append(f"{ind}if {val} is None:")
            lines.append(f"{ind}    _a({alen}(None))")
            lines.append(f"{ind}else:")
            i2 = ind + "    "
        el = t.element
        if isinstance(el, Primitive) and el.fixed and el is not UUID:
            wr = self.const(P.fixed_array_writer(el.fmt, compact), "_wa")
            lines.append(f"{i2}_a({wr}({val}))")
            return lines
        lines.append(f"{i2}_a({alen}(len({val})))")
        x = self.tmp()
        if isinstance(el, Struct):
            sub = self.const(el.codec(v, flex).raw_encode, "_e")
            lines.append(f"{i2}for {x} in {val}:")
            lines.append(f"{i2}    {sub}({x}, out)")
            return lines
        elem_field = Field("element", el, never_compact=f.never_compact)
        lines.append(f"{i2}for {x} in {val}:")
        lines.extend(self.write(el, elem_field, x, i2 + "    "))
        return lines


    def tag_functions(self, f: Field) -> tuple[Callable, Callable]:
        """(reader, writer) of one tagged field's value: reader(buf, pos) -> (v, pos),
        writer(v) -> bytes."""
        rsrc = (["def _tr(buf, pos):", "    _blen = len(buf)"] + self.read(f.type, f, "_v", "    ")
                + ["    return _v, pos"])
        wsrc = (["def _tw(v):", "    out = []", "    _a = out.append"]
                + self.write(f.type, f, "v", "    ") + ["    return b''.join(out)"])
        ns2 = dict(self.ns)
        exec("\n".join(rsrc) + "\n" + "\n".join(wsrc), ns2)  # noqa: S102
        return ns2["_tr"], ns2["_tw"]


def _is_fixed(f: Field) -> bool:
    return isinstance(f.type, Primitive) and f.type.fixed


def _compile_checked(s: Struct, version: int, flexible: bool) -> tuple[Callable, Callable, str]:
    """One decode and one encode function for ``s`` alone (nested structs are calls); the
    decoder tracks the field being read so errors name their path."""
    g = _Gen(s, version, flexible)
    regular = [f for f in s.fields if f.present(version) and not f.tagged(version)]
    tagged = sorted((f for f in s.fields if f.present(version) and f.tagged(version) and flexible),
                    key=lambda f: f.tag)
    absent = [f for f in s.fields if f not in regular and f not in tagged]
    cls = g.const(s.cls, "_C")
    sname = s.name or "struct"

    # group adjacent fixed-width fields
    groups: list[list[Field]] = []
    for f in regular:
        if _is_fixed(f) and groups and _is_fixed(groups[-1][0]):
            groups[-1].append(f)
        else:
            groups.append([f])

    dec = ["def _dec(buf, pos):", "    _f = ''; _i = 0", "    try:", f"        o = _new({cls})"]
    enc = ["def _enc(o, out):", "    _a = out.append"]
    I = "        "
    for grp in groups:
        f0 = grp[0]
        if _is_fixed(f0):
            fmt = ">" + "".join(f.type.fmt for f in grp)  # type: ignore[attr-defined]
            st = g.const(struct.Struct(fmt), "_S")
            size = struct.calcsize(fmt)
            targets = []
            post = []
            args = []
            for f in grp:
                if f.type is UUID:
                    t = g.tmp()
                    targets.append(t)
                    post.append(f"{I}o.{f.name} = _UUID(bytes={t})")
                    args.append(f"o.{f.name}.bytes")
                else:
                    targets.append(f"o.{f.name}")
                    args.append(f"o.{f.name}")
            dec.append(f"{I}_f = {f0.name!r}")
            dec.append(f"{I}{', '.join(targets)}, = {st}.unpack_from(buf, pos); pos += {size}")
            dec.extend(post)
            enc.append(f"    _a({st}.pack({', '.join(args)}))")
        else:
            is_struct_array = isinstance(f0.type, ArrayOf) and isinstance(f0.type.element, Struct)
            dec.append(f"{I}_f = {f0.name + ('[]' if is_struct_array else '')!r}")
            dec.extend(g.read(f0.type, f0, f"o.{f0.name}", I))
            enc.extend(g.write(f0.type, f0, f"o.{f0.name}", "    "))
    for f in absent + tagged:
        d = f.default
        if d is None or isinstance(d, (bool, int, float, str, bytes)) or d is ZERO_UUID:
            dec.append(f"{I}o.{f.name} = {g.const(d, '_v')}")
        else:
            dec.append(f"{I}o.{f.name} = {g.const(f.fresh_default, '_fd')}()")
    if flexible:
        known: dict[int, Callable] = {}
        names: dict[int, str] = {}
        if tagged:
            enc.append("    _tg = []")
        for f in tagged:
            tr, tw_fn = g.tag_functions(f)
            known[f.tag] = tr  # type: ignore[index]
            names[f.tag] = f.name  # type: ignore[index]
            tw = g.const(tw_fn, "_tw")
            dv = g.const(f.default, "_dv")
            enc.append(f"    if o.{f.name} != {dv}:")
            enc.append(f"        _tg.append(({f.tag}, {tw}(o.{f.name})))")
        dec.append(f"{I}_f = '<tagged fields>'")
        dec.append(f"{I}if pos < len(buf) and buf[pos] == 0:")
        dec.append(f"{I}    pos += 1")
        dec.append(f"{I}else:")
        kn = g.const(known or None, "_kn")
        dec.append(f"{I}    _tv, pos = _rtags(buf, pos, {kn})")
        if known:
            nm = g.const(names, "_nm")
            dec.append(f"{I}    for _tag, _val in _tv.items():")
            dec.append(f"{I}        setattr(o, {nm}[_tag], _val)")
        if tagged:
            enc.append("    _a(_wtags(_tg) if _tg else b'\\x00')")
        else:
            enc.append("    _a(b'\\x00')")
    dec.append(f"{I}return o, pos")
    dec.append("    except _ERRS as e:")
    dec.append(f"        raise _ctx(e, {sname!r}, _f, _i) from None")
    if len(enc) == 2:
        enc.append("    pass")
    src = "\n".join(dec) + "\n\n" + "\n".join(enc) + "\n"
    exec(src, g.ns)  # noqa: S102 - generated from our own declarations
    return g.ns["_dec"], g.ns["_enc"], src


def compile_codec(s: Struct, version: int, flexible: bool) -> Codec:
    """Compile ``s`` at ``version``: a fast decoder/encoder with every nested struct inlined,
    plus a checked decoder that re-reads input the fast one rejected to name the failing field."""
    checked_dec, _checked_enc, _ = _compile_checked(s, version, flexible)
    g = _Inline(s, version, flexible)
    g.ns["_checked"] = checked_dec
    dec = ["def _dec(buf, pos):", "    _pos0 = pos", "    _blen = len(buf)", "    try:"]
    dec += g.dec_struct(s, "o", "        ")
    dec += ["        return o, pos",
            "    except _FAST_ERRS as e:",
            "        _checked(buf, _pos0)  # raises ProtocolDecodeError with the field path",
            f"        raise _ctx(e, {s.name or 'struct'!r}, '', 0) from None"]
    enc = ["def _enc(o, out):", "    _a = out.append"] + (g.enc_struct(s, "o", "    ") or ["    pass"])
    src = "\n".join(dec) + "\n\n" + "\n".join(enc) + "\n"
    exec(src, g.ns)  # noqa: S102 - generated from our own declarations
    raw_dec = g.ns["_dec"]
    raw_enc = g.ns["_enc"]
    sname = s.name or "struct"
    label = f"{sname} v{version}"
    return Codec(sname, version, flexible, *_wrappers(label, raw_dec, raw_enc),
                 raw_decode=raw_dec, raw_encode=raw_enc, checked_decode=checked_dec, source=src)


_FAST_ERRS = (ProtocolDecodeError, struct.error, UnicodeDecodeError, IndexError)
_ARRAY_STRUCTS: dict[str, list[struct.Struct]] = {}


def _array_structs(fmt: str) -> list[struct.Struct]:
    """Precompiled structs for 0..127 elements of ``fmt``."""
    lst = _ARRAY_STRUCTS.get(fmt)
    if lst is None:
        lst = _ARRAY_STRUCTS[fmt] = [struct.Struct(f">{n}{fmt}") for n in range(128)]
    return lst


def _split(s: Struct, version: int, flexible: bool) -> tuple[list[Field], list[Field], list[Field]]:
    regular = [f for f in s.fields if f.present(version) and not f.tagged(version)]
    tagged = sorted((f for f in s.fields if f.present(version) and f.tagged(version) and flexible),
                    key=lambda f: f.tag)  # type: ignore[arg-type, return-value]
    absent = [f for f in s.fields if f not in regular and f not in tagged]
    return regular, tagged, absent


def _groups(fields: list[Field]) -> list[list[Field]]:
    groups: list[list[Field]] = []
    for f in fields:
        if _is_fixed(f) and groups and _is_fixed(groups[-1][0]):
            groups[-1].append(f)
        else:
            groups.append([f])
    return groups


def _is_struct_array(t: Type) -> bool:
    return isinstance(t, ArrayOf) and isinstance(t.element, Struct)


def _is_fixed_array(t: Type) -> bool:
    return (isinstance(t, ArrayOf) and isinstance(t.element, Primitive) and t.element.fixed
            and t.element is not UUID)


class _Inline(_Gen):
    """Generates one function per message with nested structs inlined (the fast path)."""

    def __init__(self, s: Struct, version: int, flexible: bool) -> None:
        super().__init__(s, version, flexible)
        self.ns["_FAST_ERRS"] = _FAST_ERRS
        self.ns["_I32"] = struct.Struct(">i")
        self.ns["_H"] = struct.Struct(">h")
        self.ns["_Struct"] = struct.Struct
        self.ns["_UV"] = [bytes((i,)) for i in range(128)]

    def read(self, t: Type, f: Field, target: str, ind: str) -> list[str]:
        """Strings get an inline fast path (short, in bounds, valid UTF-8); anything else goes
        through the checked reader."""
        if t is not STRING:
            return super().read(t, f, target, ind)
        compact = self.flexible and not f.never_compact
        reader = self.const(_string_io(compact, f.nullable(self.version), "string")[0], "_r")
        n = self.tmp()
        if compact:
            return [f"{ind}{n} = buf[pos]",
                    f"{ind}if 0 < {n} < 128 and pos + {n} <= _blen:",
                    f"{ind}    {target} = str(buf[pos + 1:pos + {n}], 'utf-8'); pos += {n}",
                    f"{ind}else:",
                    f"{ind}    {target}, pos = {reader}(buf, pos)"]
        return [f"{ind}{n}, = _H.unpack_from(buf, pos)",
                f"{ind}if {n} >= 0 and pos + 2 + {n} <= _blen:",
                f"{ind}    {target} = str(buf[pos + 2:pos + 2 + {n}], 'utf-8'); pos += 2 + {n}",
                f"{ind}else:",
                f"{ind}    {target}, pos = {reader}(buf, pos)"]

    def _fixed_group_dec(self, grp: list[Field], target: str, ind: str) -> list[str]:
        fmt = ">" + "".join(f.type.fmt for f in grp)  # type: ignore[attr-defined]
        st = self.const(struct.Struct(fmt), "_S")
        targets, post = [], []
        for f in grp:
            if f.type is UUID:
                t = self.tmp()
                targets.append(t)
                post.append(f"{ind}{target}.{f.name} = _UUID(bytes={t})")
            else:
                targets.append(f"{target}.{f.name}")
        return ([f"{ind}{', '.join(targets)}, = {st}.unpack_from(buf, pos); "
                 f"pos += {struct.calcsize(fmt)}"] + post)

    def _count(self, f: Field, n: str, ind: str) -> list[str]:
        """Read an array count into ``n`` (fast path for small counts)."""
        compact = self.flexible and not f.never_compact
        nullable = f.nullable(self.version)
        b = self.tmp()
        if compact:
            return [f"{ind}{b} = buf[pos]",
                    f"{ind}if 0 < {b} < 128:",
                    f"{ind}    {n} = {b} - 1; pos += 1",
                    f"{ind}else:",
                    f"{ind}    {n}, pos = _calen(buf, pos, {nullable})"]
        return [f"{ind}{n}, = _I32.unpack_from(buf, pos)",
                f"{ind}if 0 <= {n} < 128:",
                f"{ind}    pos += 4",
                f"{ind}else:",
                f"{ind}    {n}, pos = _alen(buf, pos, {nullable})"]

    def dec_struct(self, s: Struct, target: str, ind: str) -> list[str]:
        v, flex = self.version, self.flexible
        regular, tagged, absent = _split(s, v, flex)
        lines = [f"{ind}{target} = _new({self.const(s.cls, '_C')})"]
        for grp in _groups(regular):
            f = grp[0]
            t = f.type
            if _is_fixed(f):
                lines += self._fixed_group_dec(grp, target, ind)
            elif isinstance(t, Struct):
                x = self.tmp()
                lines += self.dec_struct(t, x, ind)
                lines.append(f"{ind}{target}.{f.name} = {x}")
            elif _is_struct_array(t):
                n, lst, x = self.tmp(), self.tmp(), self.tmp()
                lines += self._count(f, n, ind)
                lines += [f"{ind}if {n} < 0:",
                          f"{ind}    {target}.{f.name} = None",
                          f"{ind}else:",
                          f"{ind}    {lst} = []",
                          f"{ind}    for _ in range({n}):"]
                lines += self.dec_struct(t.element, x, ind + "        ")  # type: ignore[attr-defined]
                lines += [f"{ind}        {lst}.append({x})",
                          f"{ind}    {target}.{f.name} = {lst}"]
            elif _is_fixed_array(t) and not f.nullable(v):
                el = t.element  # type: ignore[attr-defined]
                n, st = self.tmp(), self.tmp()
                arr = self.const(_array_structs(el.fmt), "_AS")
                lines += self._count(f, n, ind)
                lines += [f"{ind}{st} = {arr}[{n}] if {n} < 128 else _Struct('>%d{el.fmt}' % {n})",
                          f"{ind}{target}.{f.name} = list({st}.unpack_from(buf, pos)); "
                          f"pos += {st}.size"]
            else:
                lines += self.read(t, f, f"{target}.{f.name}", ind)
        for f in absent + tagged:
            d = f.default
            if d is None or isinstance(d, (bool, int, float, str, bytes)) or d is ZERO_UUID:
                lines.append(f"{ind}{target}.{f.name} = {self.const(d, '_v')}")
            else:
                lines.append(f"{ind}{target}.{f.name} = {self.const(f.fresh_default, '_fd')}()")
        if flex:
            known = {}
            names = {}
            for f in tagged:
                known[f.tag] = self.tag_functions(f)[0]
                names[f.tag] = f.name
            kn = self.const(known or None, "_kn")
            lines += [f"{ind}if buf[pos] == 0:",
                      f"{ind}    pos += 1",
                      f"{ind}else:",
                      f"{ind}    _tv, pos = _rtags(buf, pos, {kn})"]
            if known:
                nm = self.const(names, "_nm")
                lines += [f"{ind}    for _tag, _val in _tv.items():",
                          f"{ind}        setattr({target}, {nm}[_tag], _val)"]
        return lines

    def enc_struct(self, s: Struct, obj: str, ind: str) -> list[str]:
        v, flex = self.version, self.flexible
        regular, tagged, _absent = _split(s, v, flex)
        lines: list[str] = []
        for grp in _groups(regular):
            f = grp[0]
            t = f.type
            if _is_fixed(f):
                fmt = ">" + "".join(x.type.fmt for x in grp)  # type: ignore[attr-defined]
                st = self.const(struct.Struct(fmt), "_S")
                args = [f"{obj}.{x.name}.bytes" if x.type is UUID else f"{obj}.{x.name}"
                        for x in grp]
                lines.append(f"{ind}_a({st}.pack({', '.join(args)}))")
            elif isinstance(t, Struct):
                x = self.tmp()
                lines.append(f"{ind}{x} = {obj}.{f.name}")
                lines += self.enc_struct(t, x, ind)
            elif _is_fixed_array(t) and not f.nullable(v):
                el = t.element  # type: ignore[attr-defined]
                compact = flex and not f.never_compact
                arr = self.const(_array_structs(el.fmt), "_AS")
                slow = self.const(P.fixed_array_writer(el.fmt, compact), "_wa")
                val, n = self.tmp(), self.tmp()
                prefix = f"_UV[{n} + 1]" if compact else f"_I32.pack({n})"
                lines += [f"{ind}{val} = {obj}.{f.name}",
                          f"{ind}{n} = len({val})",
                          f"{ind}_a({prefix} + {arr}[{n}].pack(*{val}) if {n} < 127 else {slow}({val}))"]
            elif _is_struct_array(t):
                compact = flex and not f.never_compact
                alen = "_wcalen" if compact else "_walen"
                val, x = self.tmp(), self.tmp()
                lines.append(f"{ind}{val} = {obj}.{f.name}")
                i2 = ind
                if f.nullable(v):
                    lines += [f"{ind}if {val} is None:",
                              f"{ind}    _a({alen}(None))",
                              f"{ind}else:"]
                    i2 = ind + "    "
                lines.append(f"{i2}_a({alen}(len({val})))")
                lines.append(f"{i2}for {x} in {val}:")
                body = self.enc_struct(t.element, x, i2 + "    ")  # type: ignore[attr-defined]
                lines += body or [f"{i2}    pass"]
            else:
                lines += self.write(t, f, f"{obj}.{f.name}", ind)
        if flex:
            if not tagged:
                lines.append(f"{ind}_a(b'\\x00')")
            else:
                tg = self.tmp()
                lines.append(f"{ind}{tg} = []")
                for f in tagged:
                    tw = self.const(self.tag_functions(f)[1], "_tw")
                    dv = self.const(f.default, "_dv")
                    lines += [f"{ind}if {obj}.{f.name} != {dv}:",
                              f"{ind}    {tg}.append(({f.tag}, {tw}({obj}.{f.name})))"]
                lines.append(f"{ind}_a(_wtags({tg}) if {tg} else b'\\x00')")
        return lines


# encode_chunks keeps parts at least this large (record payloads) as their own chunks, uncopied
_OWN_CHUNK_BYTES = 32768


def _wrappers(label: str, raw_dec: Callable, raw_enc: Callable) -> tuple[Callable, ...]:
    def decode(buf: Any, pos: int = 0) -> tuple[Any, int]:
        if buf.__class__ is not memoryview:
            buf = memoryview(buf)
        try:
            return raw_dec(buf, pos)
        except ProtocolDecodeError as e:
            raise ProtocolDecodeError(f"{label}: {getattr(e, 'detail', e)}"
                                      + (f" (at {e.field_path})" if getattr(e, "field_path", "")
                                         else "")) from None

    def encode_into(obj: Any, out: list) -> None:
        try:
            raw_enc(obj, out)
        except _ENC_ERRORS as e:
            raise ProtocolEncodeError(f"{label}: cannot encode: {e}") from None

    def encode(obj: Any) -> bytes:
        out: list = []
        encode_into(obj, out)
        try:
            return b"".join(out)
        except TypeError:  # a FileRegion among the parts: read it (a copy)
            return b"".join([p.read() if isinstance(p, FileRegion) else p for p in out])

    def encode_chunks(obj: Any) -> list:
        out: list = []
        encode_into(obj, out)
        chunks: list = []
        cur: list = []
        for p in out:
            if p.__class__ is FileRegion or len(p) >= _OWN_CHUNK_BYTES:
                if cur:
                    chunks.append(b"".join(cur))
                    cur = []
                chunks.append(p)
            else:
                cur.append(p)
        if cur:
            chunks.append(b"".join(cur))
        return chunks

    return decode, encode, encode_chunks, encode_into
