"""Configuration definition machinery and a Java `.properties` reader.

A `ConfigDef` declares each property once: its Kafka name, type, default (or
`REQUIRED`), validator, importance, doc and dynamic-update mode. Parsing follows
Kafka's rules: strings are trimmed, booleans are "true"/"false" in any case, numbers
must fit their type, lists are comma separated (whitespace around commas ignored).

A subclass of `AbstractConfig` binds a `ConfigDef`; every property becomes a
read-only attribute named after it (``log.retention.ms`` -> ``.log_retention_ms``):

    class TopicConfig(AbstractConfig):
        config_def = TOPIC_DEF

    cfg = TopicConfig({"retention.ms": "1000"})
    cfg.retention_ms  # 1000

Invalid values raise `ConfigError` with one line naming the property and the value.
Unknown properties are not fatal; they are returned in `.unknown` and logged once
as warnings.
"""
from __future__ import annotations

import enum
import logging
from decimal import Decimal
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

logger = logging.getLogger(__name__)

__all__ = [
    "Type", "BOOLEAN", "SHORT", "INT", "LONG", "DOUBLE", "STRING", "LIST", "PASSWORD", "CLASS",
    "Importance", "HIGH", "MEDIUM", "LOW", "REQUIRED", "READ_ONLY", "PER_BROKER", "CLUSTER_WIDE",
    "Password", "ConfigError", "Validator", "at_least", "between", "one_of", "non_empty_string",
    "list_of", "non_empty_list", "all_of", "validator", "ConfigKey", "ConfigDef", "ParseResult",
    "AbstractConfig", "attr_name", "parse_value", "format_value", "java_double", "parse_properties",
    "load_properties", "dump_properties",
]


# ---------------------------------------------------------------------------------------------
# Types, importance, sentinels


class Type(enum.Enum):
    BOOLEAN = "boolean"
    SHORT = "short"
    INT = "int"
    LONG = "long"
    DOUBLE = "double"
    STRING = "string"
    LIST = "list"
    PASSWORD = "password"
    CLASS = "class"

    def __str__(self) -> str:
        return self.name


BOOLEAN = Type.BOOLEAN
SHORT = Type.SHORT
INT = Type.INT
LONG = Type.LONG
DOUBLE = Type.DOUBLE
STRING = Type.STRING
LIST = Type.LIST
PASSWORD = Type.PASSWORD
CLASS = Type.CLASS


class Importance(enum.Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    def __str__(self) -> str:
        return self.value


HIGH = Importance.HIGH
MEDIUM = Importance.MEDIUM
LOW = Importance.LOW

# Dynamic update modes, as Kafka's documentation names them.
READ_ONLY = "read-only"
PER_BROKER = "per-broker"
CLUSTER_WIDE = "cluster-wide"


class _Required:
    __slots__ = ()

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Default marker of a property that has no default value and must be supplied."""


_INT_RANGES = {
    Type.SHORT: (-(2 ** 15), 2 ** 15 - 1),
    Type.INT: (-(2 ** 31), 2 ** 31 - 1),
    Type.LONG: (-(2 ** 63), 2 ** 63 - 1),
}
INT_MAX = 2 ** 31 - 1
LONG_MAX = 2 ** 63 - 1
DOUBLE_MAX = 1.7976931348623157e308


class Password:
    """A secret value: never shown by `str`, `repr` or the config dump."""

    __slots__ = ("_value",)
    HIDDEN = "[hidden]"

    def __init__(self, value: str) -> None:
        self._value = value

    def value(self) -> str:
        return self._value

    def __str__(self) -> str:
        return self.HIDDEN

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Password) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class ConfigError(ValueError):
    """A configuration problem, described in one line."""

    def __init__(self, message: str, *, name: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.name = name
        self.value = value

    @classmethod
    def invalid(cls, name: str, value: object, reason: str | None = None) -> ConfigError:
        shown = format_value(value) if not isinstance(value, str) else value
        text = f"Invalid value {shown} for configuration {name}"
        if reason:
            text += f": {reason}"
        return cls(text, name=name, value=value)


# ---------------------------------------------------------------------------------------------
# Validators: callables (name, parsed_value) -> None raising ConfigError; str() describes them
# for the documentation table.


class Validator:
    __slots__ = ()

    def __call__(self, name: str, value: Any) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:
        return ""

    def __str__(self) -> str:
        return self.describe()


class _Range(Validator):
    __slots__ = ("low", "high")

    def __init__(self, low: float | None, high: float | None) -> None:
        self.low = low
        self.high = high

    def __call__(self, name: str, value: Any) -> None:
        if value is None:
            raise ConfigError.invalid(name, None, "Value must be non-null")
        if self.low is not None and value < self.low:
            raise ConfigError.invalid(name, value, f"Value must be at least {self.low}")
        if self.high is not None and value > self.high:
            raise ConfigError.invalid(name, value, f"Value must be no more than {self.high}")

    def describe(self) -> str:
        if self.high is None:
            return f"[{self.low},...]" if self.low is not None else "[...]"
        if self.low is None:
            return f"[...,{self.high}]"
        return f"[{self.low},...,{self.high}]"


def at_least(low: float) -> Validator:
    """Numbers >= `low`."""
    return _Range(low, None)


def between(low: float, high: float) -> Validator:
    """Numbers in [low, high], both inclusive."""
    return _Range(low, high)


class _OneOf(Validator):
    __slots__ = ("choices", "case_insensitive", "_folded")

    def __init__(self, choices: Iterable[str], case_insensitive: bool) -> None:
        self.choices = tuple(choices)
        self.case_insensitive = case_insensitive
        self._folded = frozenset(c.lower() for c in self.choices) if case_insensitive else frozenset(self.choices)

    def check_one(self, name: str, value: Any) -> None:
        key = value.lower() if (self.case_insensitive and isinstance(value, str)) else value
        if key not in self._folded:
            how = " (case insensitive)" if self.case_insensitive else ""
            raise ConfigError.invalid(name, value, f"String must be one of{how}: {', '.join(self.choices)}")

    def __call__(self, name: str, value: Any) -> None:
        self.check_one(name, value)

    def describe(self) -> str:
        prefix = "(case insensitive) " if self.case_insensitive else ""
        return f"{prefix}[{', '.join(self.choices)}]"


def one_of(*choices: str, case_insensitive: bool = False) -> Validator:
    """A string among `choices` (None is rejected)."""
    return _OneOf(choices, case_insensitive)


class _ListOf(Validator):
    __slots__ = ("item",)

    def __init__(self, item: _OneOf) -> None:
        self.item = item

    def __call__(self, name: str, value: Any) -> None:
        if value is None:
            raise ConfigError.invalid(name, None, "Value must be non-null")
        for element in value:
            self.item.check_one(name, element)

    def describe(self) -> str:
        return self.item.describe()


def list_of(*choices: str, case_insensitive: bool = False) -> Validator:
    """A LIST whose every element is among `choices`."""
    return _ListOf(_OneOf(choices, case_insensitive))


class _NonEmptyString(Validator):
    __slots__ = ()

    def __call__(self, name: str, value: Any) -> None:
        if value is None or (isinstance(value, str) and value.strip() == ""):
            raise ConfigError.invalid(name, value, "String must be non-empty")

    def describe(self) -> str:
        return "non-empty string"


non_empty_string: Validator = _NonEmptyString()


class _NonEmptyList(Validator):
    __slots__ = ()

    def __call__(self, name: str, value: Any) -> None:
        if not value:
            raise ConfigError.invalid(name, value, "Empty list")
        for element in value:
            if element == "":
                raise ConfigError.invalid(name, value, "List elements must be non-empty")

    def describe(self) -> str:
        return "non-empty list"


non_empty_list: Validator = _NonEmptyList()


class _AllOf(Validator):
    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Validator, ...]) -> None:
        self.parts = parts

    def __call__(self, name: str, value: Any) -> None:
        for part in self.parts:
            part(name, value)

    def describe(self) -> str:
        return ", ".join(p.describe() for p in self.parts if p.describe())


def all_of(*validators: Validator) -> Validator:
    """Every validator in turn."""
    return _AllOf(validators)


class _Lambda(Validator):
    __slots__ = ("fn", "text")

    def __init__(self, fn: Callable[[str, Any], None], text: str) -> None:
        self.fn = fn
        self.text = text

    def __call__(self, name: str, value: Any) -> None:
        self.fn(name, value)

    def describe(self) -> str:
        return self.text


def validator(fn: Callable[[str, Any], None], description: str) -> Validator:
    """Wrap a check function (name, value) that raises `ConfigError` into a described validator."""
    return _Lambda(fn, description)


# ---------------------------------------------------------------------------------------------
# Parsing and formatting of single values

_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_DOUBLE_RE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[fFdD]?\Z")
_LIST_SPLIT = re.compile(r"\s*,\s*")
_CLASS_RE = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:\$[\w$]+)?\Z")


def _parse_int(name: str, type_: Type, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError.invalid(name, value, f"Not a number of type {type_}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str):
        text = value.strip()
        if not _INT_RE.match(text):
            raise ConfigError.invalid(name, value, f"Not a number of type {type_}")
        result = int(text)
    else:
        raise ConfigError.invalid(name, value, f"Expected value of type {type_}, but it was a "
                                  f"{type(value).__name__}")
    low, high = _INT_RANGES[type_]
    if not low <= result <= high:
        raise ConfigError.invalid(name, value, f"Not a number of type {type_}")
    return result


def parse_value(name: str, type_: Type, value: Any) -> Any:
    """Parse a raw value (usually a string from a properties file) into its typed form.

    None stays None. Already-typed values are accepted when they fit.
    """
    if value is None:
        return None
    if type_ is Type.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            if text == "true":
                return True
            if text == "false":
                return False
        raise ConfigError.invalid(name, value, "Expected value to be either true or false")
    if type_ in _INT_RANGES:
        return _parse_int(name, type_, value)
    if type_ is Type.DOUBLE:
        if isinstance(value, bool):
            raise ConfigError.invalid(name, value, "Not a number of type DOUBLE")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            text = value.strip()
            if _DOUBLE_RE.match(text):
                if text[-1] in "fFdD" and not text.endswith("Infinity"):
                    text = text[:-1]
                return float(text.replace("Infinity", "inf"))
        raise ConfigError.invalid(name, value, "Not a number of type DOUBLE")
    if type_ is Type.STRING:
        if isinstance(value, str):
            return value.strip()
        raise ConfigError.invalid(name, value, f"Expected value to be a string, but it was a "
                                  f"{type(value).__name__}")
    if type_ is Type.LIST:
        if isinstance(value, str):
            text = value.strip()
            return () if text == "" else tuple(_LIST_SPLIT.split(text))
        if isinstance(value, (list, tuple)):
            return tuple(str(v) for v in value)
        raise ConfigError.invalid(name, value, "Expected a comma separated list.")
    if type_ is Type.PASSWORD:
        if isinstance(value, Password):
            return value
        if isinstance(value, str):
            return Password(value.strip())
        raise ConfigError.invalid(name, value, f"Expected value to be a string, but it was a "
                                  f"{type(value).__name__}")
    if type_ is Type.CLASS:
        if isinstance(value, type):
            return f"{value.__module__}.{value.__qualname__}"
        if isinstance(value, str):
            text = value.strip()
            if text == "" or _CLASS_RE.match(text):
                return text
            raise ConfigError.invalid(name, value, f"Class {text} could not be found.")
        raise ConfigError.invalid(name, value, "Expected a Class instance or class name.")
    raise ConfigError(f"Unknown type {type_} for configuration {name}", name=name)  # pragma: no cover


def format_value(value: Any, type_: Type | None = None) -> str:
    """Render a parsed value the way Kafka writes configs ("null", "true", "a,b", "[hidden]", "1.0E7")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return java_double(value)
    return str(value)


def java_double(value: float) -> str:
    """A double as Java's Double.toString writes it (shortest digits; E notation outside [1e-3, 1e7))."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        return repr(value)
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    exp10 = len(digits) - 1 + int(exponent)
    mantissa = text[0] + "." + (text[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{exp10}"


def attr_name(name: str) -> str:
    """The Python attribute for a property name: dots and dashes become underscores."""
    return re.sub(r"[^0-9A-Za-z_]", "_", name).lower()


# ---------------------------------------------------------------------------------------------
# Definitions


@dataclass(frozen=True, slots=True)
class ConfigKey:
    name: str
    type: Type
    default: Any
    validator: Validator | None
    importance: Importance
    doc: str
    dynamic: str  # READ_ONLY, PER_BROKER or CLUSTER_WIDE
    attr: str
    group: str | None = None
    deprecated: str | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def is_dynamic(self) -> bool:
        return self.dynamic != READ_ONLY

    def default_text(self) -> str:
        if self.default is REQUIRED:
            return ""
        if self.type is Type.PASSWORD and self.default is not None:
            return Password.HIDDEN
        if self.type is Type.STRING and self.default == "":
            return '""'
        return format_value(self.default, self.type)


@dataclass(frozen=True, slots=True)
class ParseResult:
    values: dict[str, Any]        # every defined property, parsed (defaults filled in)
    unknown: tuple[str, ...]      # supplied names that are not defined
    originals: dict[str, Any]     # what was supplied, untouched


class ConfigDef:
    """An ordered set of property definitions."""

    def __init__(self, known_prefixes: Iterable[str] = ()) -> None:
        self._keys: dict[str, ConfigKey] = {}
        self._attrs: dict[str, str] = {}
        self.known_prefixes: tuple[str, ...] = tuple(known_prefixes)

    def define(self, name: str, type: Type, default: Any = REQUIRED, validator: Validator | None = None,
               importance: Importance = Importance.MEDIUM, doc: str = "", dynamic: bool | str = False,
               *, group: str | None = None, deprecated: str | None = None,
               attr: str | None = None) -> ConfigDef:
        """Declare one property. Returns self so definitions can be chained.

        `dynamic` is False (read-only), True (cluster-wide) or one of PER_BROKER/CLUSTER_WIDE.
        The default value goes through the same parsing and validation as supplied values.
        """
        if name in self._keys:
            raise ValueError(f"Configuration {name} is defined twice.")
        if not isinstance(type, Type):
            raise TypeError(f"{name}: type must be a config Type, not {type!r}")
        attribute = attr or attr_name(name)
        if attribute in self._attrs:
            raise ValueError(f"Configurations {self._attrs[attribute]} and {name} map to the same "
                             f"attribute {attribute}")
        if dynamic is True:
            mode = CLUSTER_WIDE
        elif dynamic is False:
            mode = READ_ONLY
        elif dynamic in (READ_ONLY, PER_BROKER, CLUSTER_WIDE):
            mode = dynamic
        else:
            raise ValueError(f"{name}: invalid dynamic update mode {dynamic!r}")
        parsed_default = default
        if default is not REQUIRED:
            parsed_default = parse_value(name, type, default)
            if validator is not None and parsed_default is not None:
                validator(name, parsed_default)
        self._keys[name] = ConfigKey(name, type, parsed_default, validator, importance, doc, mode,
                                     attribute, group, deprecated)
        self._attrs[attribute] = name
        return self

    # Mapping-like access
    def __contains__(self, name: object) -> bool:
        return name in self._keys

    def __getitem__(self, name: str) -> ConfigKey:
        return self._keys[name]

    def __iter__(self) -> Iterator[ConfigKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def names(self) -> list[str]:
        return list(self._keys)

    def by_attr(self, attribute: str) -> ConfigKey | None:
        name = self._attrs.get(attribute)
        return self._keys[name] if name is not None else None

    def is_known(self, name: str) -> bool:
        return name in self._keys or any(name.startswith(p) for p in self.known_prefixes)

    def parse_one(self, name: str, value: Any) -> Any:
        key = self._keys[name]
        parsed = parse_value(name, key.type, value)
        if key.validator is not None:
            key.validator(name, parsed)
        return parsed

    def parse(self, props: Mapping[str, Any]) -> ParseResult:
        """Parse and validate `props`; fill in defaults. Raises ConfigError on the first problem."""
        originals = dict(props)
        values: dict[str, Any] = {}
        for key in self._keys.values():
            if key.name in originals:
                values[key.name] = self.parse_one(key.name, originals[key.name])
            elif key.default is REQUIRED:
                raise ConfigError(f'Missing required configuration "{key.name}" which has no default value.',
                                  name=key.name)
            else:
                values[key.name] = key.default
        unknown = tuple(n for n in originals if not self.is_known(n))
        return ParseResult(values, unknown, originals)

    # Documentation
    def to_markdown(self, *, heading: str | None = None) -> str:
        """A markdown table of every property, sorted by importance then name."""
        order = {Importance.HIGH: 0, Importance.MEDIUM: 1, Importance.LOW: 2}
        rows = sorted(self._keys.values(), key=lambda k: (order[k.importance], k.name))
        out: list[str] = []
        if heading:
            out += [heading, ""]
        out.append("| Name | Description | Type | Default | Valid values | Importance | Update mode |")
        out.append("| --- | --- | --- | --- | --- | --- | --- |")
        for key in rows:
            doc = key.doc
            if key.deprecated:
                doc = f"{doc} *Deprecated: {key.deprecated}*" if doc else f"*Deprecated: {key.deprecated}*"
            cells = [f"`{key.name}`", doc, key.type.name.lower(), key.default_text(),
                     key.validator.describe() if key.validator is not None else "",
                     str(key.importance), key.dynamic]
            out.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
        return "\n".join(out) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------------------------------------
# Parsed configurations


class AbstractConfig:
    """Parsed, validated, immutable configuration bound to a `ConfigDef`.

    Subclasses set `config_def`; each defined property becomes a read-only attribute
    (unless the subclass defines that attribute itself, e.g. to derive a value).
    """

    __slots__ = ("_values", "_originals", "_unknown")
    config_def: ClassVar[ConfigDef]
    unknown_warning = "The configuration '%s' was supplied but isn't a known config."

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        config_def = cls.__dict__.get("config_def")
        if config_def is None:
            return
        for key in config_def:
            if _defined_in_hierarchy(cls, key.attr):
                continue
            setattr(cls, key.attr, property(_getter(key.name), doc=key.doc or None))

    def __init__(self, props: Mapping[str, Any], *, log_unknown: bool = True) -> None:
        result = self.config_def.parse(props)
        object.__setattr__(self, "_values", result.values)
        object.__setattr__(self, "_originals", result.originals)
        object.__setattr__(self, "_unknown", result.unknown)
        if log_unknown:
            for name in result.unknown:
                logger.warning(self.unknown_warning, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def get(self, name: str) -> Any:
        """The parsed value of a property by its Kafka name (KeyError if not defined)."""
        return self._values[name]

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def values(self) -> dict[str, Any]:
        """Every defined property's parsed value, by Kafka name."""
        return dict(self._values)

    def originals(self) -> dict[str, Any]:
        """What was supplied, unparsed (unknown properties included)."""
        return dict(self._originals)

    def originals_with_prefix(self, prefix: str, strip: bool = True) -> dict[str, Any]:
        return {(k[len(prefix):] if strip else k): v for k, v in self._originals.items() if k.startswith(prefix)}

    def is_set(self, name: str) -> bool:
        """Whether `name` was supplied explicitly (as opposed to taking its default)."""
        return name in self._originals

    @property
    def unknown(self) -> tuple[str, ...]:
        return self._unknown

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.unknown_warning % name for name in self._unknown)

    def log_values(self, log: logging.Logger | logging.LoggerAdapter, title: str | None = None) -> None:
        """Log every property as Kafka does at startup: a title line, then `\\tname = value` sorted."""
        lines = [title or f"{type(self).__name__} values: "]
        for name in sorted(self._values):
            key = self.config_def[name]
            lines.append(f"\t{name} = {_java_to_string(self._values[name])}")
        log.info("%s", "\n".join(lines))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values == self._values  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._values.items())))

    def __repr__(self) -> str:
        set_values = ", ".join(f"{k}={format_value(self._values[k])}"
                               for k in self._originals if k in self._values)
        return f"{type(self).__name__}({set_values})"


def _java_to_string(value: Any) -> str:
    # How Kafka's startup dump prints a parsed value: lists as "[a, b]", the rest as configs are written.
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return format_value(value)


def _defined_in_hierarchy(cls: type, attr: str) -> bool:
    """Whether a class in `cls`'s MRO defines `attr` itself (not as a generated property)."""
    for klass in cls.__mro__:
        obj = klass.__dict__.get(attr)
        if obj is None:
            continue
        if isinstance(obj, property) and getattr(obj.fget, "_generated", False):
            continue
        return True
    return False


def _getter(name: str) -> Callable[[AbstractConfig], Any]:
    def get(self: AbstractConfig) -> Any:
        return self._values[name]
    get.__name__ = attr_name(name)
    get._generated = True  # type: ignore[attr-defined]
    return get


# ---------------------------------------------------------------------------------------------
# Java .properties files

_WS = " \t\f"


def _logical_lines(text: str) -> Iterator[str]:
    """Join natural lines into logical lines as java.util.Properties does.

    Leading whitespace of every natural line is dropped; a line whose first character is
    # or ! is a comment when nothing has been collected for the logical line yet (also
    right after a continuation that contributed nothing); an odd run of backslashes at
    the end continues the logical line on the next natural line.
    """
    pieces = re.split(r"(\r\n|\r|\n)", text)
    # pieces alternate: line, terminator, line, terminator, ..., last line (maybe "")
    count = (len(pieces) + 1) // 2
    collected: list[str] = []
    for idx in range(count):
        line = pieces[2 * idx].lstrip(_WS)
        terminator = pieces[2 * idx + 1] if 2 * idx + 1 < len(pieces) else ""
        empty_so_far = not any(collected)
        if empty_so_far:
            collected = []
            if not line or line[0] in "#!":
                continue
        elif not line:
            # a continuation onto an empty line ends the logical line
            yield "".join(collected)
            collected = []
            continue
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2 == 1:
            collected.append(line[:-1])
            # Java ends the file here when the terminator is the input's last character
            # (or there is none); a "\r\n" ending, however, reads on and finds nothing.
            at_end = idx == count - 1 or (idx == count - 2 and pieces[-1] == "" and terminator != "\r\n")
            if at_end:
                yield "".join(collected)
                return
            continue
        collected.append(line)
        yield "".join(collected)
        collected = []
    if any(collected):
        yield "".join(collected)


_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            break
        c = text[i]
        if c == "u":
            digits = text[i + 1:i + 5]
            if len(digits) != 4 or not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                raise ConfigError(f"Malformed \\uxxxx encoding in properties: {text!r}")
            out.append(chr(int(digits, 16)))
            i += 5
            continue
        out.append(_ESCAPES.get(c, c))
        i += 1
    result = "".join(out)
    if any("\ud800" <= ch <= "\udfff" for ch in result):
        # \uXXXX pairs spell characters beyond the BMP as UTF-16 surrogates: join them.
        result = result.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return result


def _split_key_value(line: str) -> tuple[str, str]:
    n = len(line)
    i = 0
    backslash = False
    key_end = n
    value_start = n
    has_sep = False
    while i < n:
        c = line[i]
        if backslash:
            backslash = False
        elif c == "\\":
            backslash = True
        elif c in "=:":
            key_end = i
            value_start = i + 1
            has_sep = True
            break
        elif c in _WS:
            key_end = i
            value_start = i + 1
            break
        i += 1
    j = value_start
    while j < n and line[j] in _WS:
        j += 1
    if not has_sep and j < n and line[j] in "=:":
        j += 1
        while j < n and line[j] in _WS:
            j += 1
    return _unescape(line[:key_end]), _unescape(line[j:])


def parse_properties(text: str) -> dict[str, str]:
    """Parse `.properties` text with Java's `Properties.load` rules (the last duplicate wins)."""
    result: dict[str, str] = {}
    for logical in _logical_lines(text):
        key, value = _split_key_value(logical)
        result[key] = value
    return result


def load_properties(path: str | Path, encoding: str = "latin-1") -> dict[str, str]:
    """Read a `.properties` file. Kafka reads them as ISO-8859-1, so that is the default."""
    with open(path, "rb") as f:
        data = f.read()
    return parse_properties(data.decode(encoding))


def _escape(text: str, is_key: bool) -> str:
    out: list[str] = []
    for idx, c in enumerate(text):
        if c == " ":
            out.append("\\ " if (is_key or idx == 0) else " ")
        elif c in "\\=:#!":
            out.append("\\" + c)
        elif c == "\t":
            out.append("\\t")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\f":
            out.append("\\f")
        elif ord(c) < 0x20 or ord(c) > 0x7E:
            if ord(c) > 0xFFFF:
                encoded = c.encode("utf-16-be")
                for k in range(0, len(encoded), 2):
                    out.append("\\u%04X" % int.from_bytes(encoded[k:k + 2], "big"))
            else:
                out.append("\\u%04X" % ord(c))
        else:
            out.append(c)
    return "".join(out)


def dump_properties(props: Mapping[str, Any], comment: str | None = None) -> str:
    """Render `props` as `.properties` text that `parse_properties` reads back unchanged.

    Non-ASCII characters become `\\uXXXX` escapes, so the output is plain ASCII.
    """
    lines: list[str] = []
    if comment is not None:
        for line in comment.splitlines() or [""]:
            lines.append("#" + line)
    for key, value in props.items():
        text = value if isinstance(value, str) else format_value(value)
        lines.append(f"{_escape(str(key), True)}={_escape(text, False)}")
    return "\n".join(lines) + "\n"
