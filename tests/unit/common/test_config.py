from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kafkapy.common.config import (
    BOOLEAN, CLASS, CLUSTER_WIDE, DOUBLE, HIGH, INT, LIST, LONG, LOW, MEDIUM, PASSWORD, PER_BROKER,
    READ_ONLY, REQUIRED, SHORT, STRING, AbstractConfig, ConfigDef, ConfigError, Password, all_of,
    at_least, attr_name, between, dump_properties, format_value, list_of, load_properties,
    non_empty_list, non_empty_string, one_of, parse_properties, parse_value, validator,
)


# ------------------------------------------------------------------ value parsing

@pytest.mark.parametrize("raw,expected", [
    ("true", True), ("TRUE", True), (" True ", True), ("false", False), ("FaLsE", False), (True, True),
])
def test_boolean(raw, expected):
    assert parse_value("x.enable", BOOLEAN, raw) is expected


@pytest.mark.parametrize("raw", ["yes", "1", "", "t", 1])
def test_boolean_rejects(raw):
    with pytest.raises(ConfigError) as info:
        parse_value("x.enable", BOOLEAN, raw)
    assert "Expected value to be either true or false" in str(info.value)


@pytest.mark.parametrize("type_,raw,expected", [
    (INT, "42", 42), (INT, " -7 ", -7), (INT, "+3", 3), (INT, 5, 5), (INT, "2147483647", 2 ** 31 - 1),
    (LONG, "9223372036854775807", 2 ** 63 - 1), (LONG, "-1", -1), (SHORT, "32767", 32767),
    (DOUBLE, "0.5", 0.5), (DOUBLE, "1e3", 1000.0), (DOUBLE, "2", 2.0), (DOUBLE, 3, 3.0),
    (DOUBLE, "1.5d", 1.5), (DOUBLE, "Infinity", float("inf")),
])
def test_numbers(type_, raw, expected):
    got = parse_value("n", type_, raw)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("type_,raw", [
    (INT, "abc"), (INT, "1.5"), (INT, "2147483648"), (INT, "1_000"), (INT, ""), (INT, True),
    (SHORT, "32768"), (LONG, "9223372036854775808"), (DOUBLE, "abc"), (DOUBLE, "inf"), (DOUBLE, "1_0"),
])
def test_numbers_reject(type_, raw):
    with pytest.raises(ConfigError):
        parse_value("n", type_, raw)


def test_error_message_is_kafkas_one_line():
    with pytest.raises(ConfigError) as info:
        parse_value("num.partitions", INT, "abc")
    assert str(info.value) == "Invalid value abc for configuration num.partitions: Not a number of type INT"
    assert info.value.name == "num.partitions" and info.value.value == "abc"
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("raw,expected", [
    ("a,b,c", ("a", "b", "c")), (" a , b ,c ", ("a", "b", "c")), ("", ()), ("   ", ()),
    ("a,,b", ("a", "", "b")), ("single", ("single",)), (["x", "y"], ("x", "y")),
])
def test_list(raw, expected):
    assert parse_value("l", LIST, raw) == expected


def test_string_trimmed_password_hidden_class():
    assert parse_value("s", STRING, "  hello world \t") == "hello world"
    pw = parse_value("p", PASSWORD, " secret ")
    assert isinstance(pw, Password) and pw.value() == "secret"
    assert str(pw) == repr(pw) == "[hidden]"
    assert parse_value("c", CLASS, " org.example.Foo ") == "org.example.Foo"
    with pytest.raises(ConfigError):
        parse_value("c", CLASS, "not a class")
    assert parse_value("s", STRING, None) is None


def test_format_value():
    assert format_value(True) == "true"
    assert format_value(None) == "null"
    assert format_value(("a", "b")) == "a,b"
    assert format_value(Password("x")) == "[hidden]"
    assert format_value(0.5) == "0.5"
    assert format_value(1.7976931348623157e308) == "1.7976931348623157E308"
    assert format_value(1e7) == "1.0E7"
    assert format_value(1e-4) == "1.0E-4"
    assert format_value(float("inf")) == "Infinity"


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(2 ** 31), max_value=2 ** 31 - 1), st.text(" \t", max_size=3))
def test_int_round_trip(n, pad):
    assert parse_value("n", INT, f"{pad}{n}{pad}") == n


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="abcXYZ019._-", min_size=1, max_size=8), min_size=1, max_size=6))
def test_list_round_trip(items):
    assert parse_value("l", LIST, " , ".join(items)) == tuple(items)
    assert parse_value("l", LIST, format_value(tuple(items))) == tuple(items)


# ------------------------------------------------------------------ validators

def test_range_validators():
    v = at_least(1)
    v("num.partitions", 1)
    with pytest.raises(ConfigError) as info:
        v("num.partitions", 0)
    assert str(info.value) == "Invalid value 0 for configuration num.partitions: Value must be at least 1"
    b = between(0, 100)
    b("p", 0)
    b("p", 100)
    with pytest.raises(ConfigError, match="no more than 100"):
        b("p", 101)
    with pytest.raises(ConfigError, match="non-null"):
        b("p", None)
    assert str(at_least(1)) == "[1,...]"
    assert str(between(0, 100)) == "[0,...,100]"
    assert str(between(0.0, 1.0)) == "[0.0,...,1.0]"


def test_string_validators():
    v = one_of("CreateTime", "LogAppendTime")
    v("t", "CreateTime")
    with pytest.raises(ConfigError) as info:
        v("t", "createtime")
    assert str(info.value) == ("Invalid value createtime for configuration t: "
                               "String must be one of: CreateTime, LogAppendTime")
    one_of("none", "required", case_insensitive=True)("a", "REQUIRED")
    with pytest.raises(ConfigError, match="non-empty"):
        non_empty_string("s", " ")
    non_empty_string("s", "x")
    assert str(v) == "[CreateTime, LogAppendTime]"


def test_list_validators():
    v = list_of("compact", "delete")
    v("log.cleanup.policy", ("compact", "delete"))
    v("log.cleanup.policy", ())
    with pytest.raises(ConfigError) as info:
        v("log.cleanup.policy", ("delete", "bogus"))
    assert "Invalid value bogus for configuration log.cleanup.policy" in str(info.value)
    with pytest.raises(ConfigError):
        non_empty_list("l", ())
    with pytest.raises(ConfigError):
        non_empty_list("l", ("a", ""))


def test_composite_and_custom_validators():
    def even(name, value):
        if value % 2:
            raise ConfigError.invalid(name, value, "must be even")
    v = all_of(at_least(0), validator(even, "even numbers"))
    v("n", 4)
    with pytest.raises(ConfigError, match="at least 0"):
        v("n", -2)
    with pytest.raises(ConfigError, match="must be even"):
        v("n", 3)
    assert str(v) == "[0,...], even numbers"


# ------------------------------------------------------------------ ConfigDef and AbstractConfig

def make_def() -> ConfigDef:
    d = ConfigDef(known_prefixes=("listener.name.",))
    d.define("zookeeper.connect", STRING, importance=HIGH, doc="ZooKeeper connect string.")
    d.define("num.partitions", INT, default=1, validator=at_least(1), importance=MEDIUM,
             doc="Default partitions.")
    d.define("log.retention.ms", LONG, default=None, importance=HIGH, doc="Retention.", dynamic=True)
    d.define("log.cleanup.policy", LIST, default="delete", validator=list_of("compact", "delete"),
             importance=MEDIUM, doc="Policies.", dynamic=True)
    d.define("listeners", STRING, default=None, importance=HIGH, doc="Listeners.", dynamic=PER_BROKER)
    d.define("ssl.key.password", PASSWORD, default=None, importance=HIGH, doc="Secret | pipe.")
    d.define("compression.type", STRING, default="producer", validator=one_of("gzip", "producer"),
             importance=LOW, doc="Codec.")
    return d


class SampleConfig(AbstractConfig):
    __slots__ = ()
    config_def = make_def()

    @property
    def num_partitions(self) -> int:  # user-defined attributes win over generated ones
        return self.get("num.partitions") * 10


def test_define_rejects_duplicates_and_bad_defaults():
    d = make_def()
    with pytest.raises(ValueError):
        d.define("num.partitions", INT, default=1)
    with pytest.raises(ValueError):
        d.define("num-partitions", INT, default=1)  # same attribute
    with pytest.raises(ConfigError):
        d.define("x.y", INT, default=0, validator=at_least(1))
    with pytest.raises(ValueError):
        d.define("x.z", INT, default=0, dynamic="sometimes")


def test_define_metadata():
    d = make_def()
    assert d["zookeeper.connect"].required
    assert d["log.retention.ms"].dynamic == CLUSTER_WIDE and d["log.retention.ms"].is_dynamic
    assert d["listeners"].dynamic == PER_BROKER
    assert d["num.partitions"].dynamic == READ_ONLY and not d["num.partitions"].is_dynamic
    assert d["log.cleanup.policy"].default == ("delete",)
    assert d.by_attr("log_retention_ms").name == "log.retention.ms"
    assert attr_name("log.retention.ms") == "log_retention_ms"
    assert attr_name("zookeeper.clientCnxnSocket") == "zookeeper_clientcnxnsocket"


def test_typed_attributes_and_defaults(caplog):
    cfg = SampleConfig({"zookeeper.connect": " localhost:2181 ", "log.retention.ms": "5000"})
    assert cfg.zookeeper_connect == "localhost:2181"
    assert cfg.log_retention_ms == 5000
    assert cfg.log_cleanup_policy == ("delete",)
    assert cfg.listeners is None
    assert cfg.compression_type == "producer"
    assert cfg.num_partitions == 10  # the subclass's own property
    assert cfg.get("num.partitions") == 1
    assert cfg.is_set("log.retention.ms") and not cfg.is_set("num.partitions")
    assert cfg.originals() == {"zookeeper.connect": " localhost:2181 ", "log.retention.ms": "5000"}
    assert cfg.unknown == ()


def test_config_is_immutable():
    cfg = SampleConfig({"zookeeper.connect": "zk:2181"})
    with pytest.raises(AttributeError):
        cfg.log_retention_ms = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cfg.anything = 3  # type: ignore[attr-defined]
    values = cfg.values()
    values["num.partitions"] = 99
    assert cfg.get("num.partitions") == 1


def test_missing_required():
    with pytest.raises(ConfigError) as info:
        SampleConfig({})
    assert str(info.value) == 'Missing required configuration "zookeeper.connect" which has no default value.'


def test_invalid_value_is_one_line():
    with pytest.raises(ConfigError) as info:
        SampleConfig({"zookeeper.connect": "zk", "num.partitions": "abc"})
    assert str(info.value) == "Invalid value abc for configuration num.partitions: Not a number of type INT"
    with pytest.raises(ConfigError, match="Value must be at least 1"):
        SampleConfig({"zookeeper.connect": "zk", "num.partitions": "0"})


def test_unknown_properties_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="kafkapy.common.config"):
        cfg = SampleConfig({"zookeeper.connect": "zk", "foo.bar": "1",
                            "listener.name.internal.ssl.key.password": "x"})
    assert cfg.unknown == ("foo.bar",)
    assert cfg.warnings == ("The configuration 'foo.bar' was supplied but isn't a known config.",)
    assert "The configuration 'foo.bar' was supplied but isn't a known config." in caplog.messages
    assert not any("listener.name" in m for m in caplog.messages)
    assert cfg.originals_with_prefix("listener.name.") == {"internal.ssl.key.password": "x"}


def test_log_values(caplog):
    cfg = SampleConfig({"zookeeper.connect": "zk:2181", "ssl.key.password": "topsecret"})
    log = logging.getLogger("test.config.values")
    with caplog.at_level(logging.INFO, logger="test.config.values"):
        cfg.log_values(log, "SampleConfig values: ")
    text = caplog.records[-1].getMessage()
    lines = text.split("\n")
    assert lines[0] == "SampleConfig values: "
    body = lines[1:]
    assert body == sorted(body)
    assert "\tzookeeper.connect = zk:2181" in body
    assert "\tssl.key.password = [hidden]" in body
    assert "\tlog.retention.ms = null" in body
    assert "\tlog.cleanup.policy = [delete]" in body
    assert "topsecret" not in text


def test_equality():
    a = SampleConfig({"zookeeper.connect": "zk"})
    b = SampleConfig({"zookeeper.connect": " zk"})
    c = SampleConfig({"zookeeper.connect": "zk2"})
    assert a == b and hash(a) == hash(b)
    assert a != c


def test_markdown_table():
    md = make_def().to_markdown()
    lines = md.strip().split("\n")
    assert lines[0].startswith("| Name | Description | Type | Default |")
    rows = lines[2:]
    assert len(rows) == len(make_def())
    # HIGH importance rows first, sorted by name inside a group
    names = [r.split("|")[1].strip().strip("`") for r in rows]
    assert names[:4] == ["listeners", "log.retention.ms", "ssl.key.password", "zookeeper.connect"]
    policy = next(r for r in rows if "log.cleanup.policy" in r)
    assert "[compact, delete]" in policy and "cluster-wide" in policy
    assert "Secret \\| pipe." in md
    partitions = next(r for r in rows if "`num.partitions`" in r)
    assert "| int | 1 | [1,...] | medium | read-only |" in partitions


# ------------------------------------------------------------------ .properties files

def test_properties_basic_forms():
    text = "\n".join([
        "# comment",
        "! also a comment",
        "   # indented comment",
        "",
        "a=1",
        "b = 2",
        "c:3",
        "d 4",
        "e\t=\t5",
        "f",
        "g=",
        "h = value with spaces   ",
        "dup=first",
        "dup=second",
        "i==x",
        "j = a=b:c",
    ])
    props = parse_properties(text)
    assert props == {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "", "g": "",
                     "h": "value with spaces   ", "dup": "second", "i": "=x", "j": "a=b:c"}


def test_properties_continuations_and_escapes():
    text = ("list = one,\\\n     two,\\\n\tthree\n"
            "path=C:\\\\kafka\\\\logs\n"
            "key\\ with\\ spaces = v\n"
            "colon\\:key=v2\n"
            "uni=caf\\u00e9 \\u20AC\n"
            "tabs=a\\tb\\nc\n"
            "other=\\q\n"
            "even=ends with two\\\\\n"
            "next=1\n"
            "# comment \\\n"
            "notcontinued=yes\n")
    props = parse_properties(text)
    assert props["list"] == "one,two,three"
    assert props["path"] == "C:\\kafka\\logs"
    assert props["key with spaces"] == "v"
    assert props["colon:key"] == "v2"
    assert props["uni"] == "café €"
    assert props["tabs"] == "a\tb\nc"
    assert props["other"] == "q"
    assert props["even"] == "ends with two\\"
    assert props["next"] == "1"
    assert props["notcontinued"] == "yes"


def test_properties_line_endings_and_malformed_unicode():
    assert parse_properties("a=1\r\nb=2\rc=3") == {"a": "1", "b": "2", "c": "3"}
    with pytest.raises(ConfigError, match="Malformed"):
        parse_properties("a=\\u12g4")


def test_load_properties_latin1(tmp_path):
    path = tmp_path / "server.properties"
    path.write_bytes("broker.id=1\nname=caf\xe9\n".encode("latin-1"))
    assert load_properties(path) == {"broker.id": "1", "name": "café"}


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda k: not k.isspace()),
    st.text(max_size=15), max_size=6))
def test_dump_then_parse_round_trip(props):
    text = dump_properties(props, comment="generated")
    assert text.isascii()
    assert parse_properties(text) == props
