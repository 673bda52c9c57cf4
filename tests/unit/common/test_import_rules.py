"""STYLE.md's import rules, checked on every module of the package.

`common` imports nothing internal; `protocol` only `common`; `log` only `common` and
`protocol.records`; `zk` and `metrics` only `common`; `clients` only `common`, `protocol` and `zk`;
`server`, `controller` and `coordinator` never import one another (only `server/broker.py`, the
composition root, wires them together). `tools`, `testing` and `testcontainers` may import anything.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "kafkapy"

ALLOWED = {
    "common": ("common",),
    "protocol": ("common", "protocol"),
    "log": ("common", "protocol.records", "log"),
    "zk": ("common", "zk"),
    "metrics": ("common", "metrics"),
    "clients": ("common", "protocol", "zk", "clients"),
}
PEERS = ("server", "controller", "coordinator")
COMPOSITION_ROOTS = {"server/broker.py"}


def internal_imports(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, module below ``kafkapy.``) of every import of the package in ``path``, relative ones resolved."""
    rel = path.relative_to(root)
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(rel.parts[:-1])[:len(rel.parts) - node.level]
                names = [".".join(["kafkapy", *base, *([node.module] if node.module else [])])]
            else:
                names = [node.module or ""]
        else:
            continue
        out.extend((node.lineno, n[len("kafkapy."):]) for n in names if n.startswith("kafkapy."))
    return out


def violations(path: Path, root: Path = PACKAGE) -> list[str]:
    rel = path.relative_to(root)
    if len(rel.parts) < 2:
        return []
    package = rel.parts[0]
    found = []
    for line, target in internal_imports(path, root):
        if package in ALLOWED:
            ok = any(target == a or target.startswith(a + ".") for a in ALLOWED[package])
        elif package in PEERS:
            other = target.split(".")[0]
            ok = other not in PEERS or other == package or rel.as_posix() in COMPOSITION_ROOTS
        else:
            ok = True
        if not ok:
            found.append(f"kafkapy/{rel.as_posix()}:{line} imports kafkapy.{target}")
    return found


def test_every_module_keeps_the_import_rules():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 100
    broken = [v for path in modules for v in violations(path)]
    assert broken == [], "\n".join(broken)


@pytest.mark.parametrize("source, where, expected", [
    ("from kafkapy.server.config import KafkaConfig\n", "log/x.py", 1),
    ("from kafkapy.protocol.records import crc32c\n", "log/x.py", 0),
    ("from kafkapy.protocol.messages import produce\n", "log/x.py", 1),
    ("from ...coordinator.group import coordinator\n", "server/apis/x.py", 1),
    ("from ..partition import Partition\n", "server/apis/x.py", 0),
    ("def f():\n    from kafkapy.controller import events\n", "coordinator/group/x.py", 1),
    ("from kafkapy.controller import events\n", "server/broker.py", 0),
    ("import kafkapy.zk.client\n", "clients/x.py", 0),
    ("from . import errors\n", "common/x.py", 0),
])
def test_the_checker_sees_what_it_should(tmp_path, source, where, expected):
    root = tmp_path / "kafkapy"
    target = root / where
    target.parent.mkdir(parents=True)
    target.write_text(source)
    assert len(violations(target, root)) == expected
