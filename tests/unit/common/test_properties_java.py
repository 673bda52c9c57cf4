"""Cross-check the .properties reader against java.util.Properties itself.

Random texts built from the characters that matter to the format (separators, escapes,
comment markers, line ends, Latin-1) are parsed by both; one JVM run parses them all.
Skipped when no `java` (11+, single-file source launch) is on the PATH.
"""
from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest

from kafkapy.common.config import ConfigError, load_properties

JAVA = shutil.which("java")
pytestmark = pytest.mark.skipif(JAVA is None, reason="java is not installed: no oracle for java.util.Properties")

_DUMPER = r"""
import java.io.*;
import java.util.*;

public class PropsDump {
    static String esc(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c < 0x20 || c > 0x7e || c == '\\' || c == '"') b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.toString();
    }
    public static void main(String[] args) throws Exception {
        for (String f : args) {
            Properties p = new Properties();
            try (InputStream in = new FileInputStream(f)) {
                p.load(in);
                StringBuilder b = new StringBuilder("{");
                boolean first = true;
                for (String k : new TreeSet<>(p.stringPropertyNames())) {
                    if (!first) b.append(", ");
                    first = false;
                    b.append('"').append(esc(k)).append("\": \"").append(esc(p.getProperty(k))).append('"');
                }
                System.out.println(b.append("}"));
            } catch (IllegalArgumentException e) {
                System.out.println("\"ERROR\"");
            }
        }
    }
}
"""

_PIECES = ["a", "b", "key", "x.y", " ", "  ", "\t", "\f", "=", ":", "#", "!", "\\", "\\\\", "\\u0041",
           "\\u00e9", "\\u12", "\\n", "\\t", "\\ ", "\\=", "\\:", "\\#", "\n", "\r\n", "\r", "\\\n",
           "\\\n   ", "\\\r\n\t", "é", "ÿ", "1", "value", "==", "::", "= ", " :"]

_FIXED = [
    "a=b\n", "a = b \n", "a:b", "a b", "a\t\tb", "a", "a=", "=b", "  # c\n! d\nk=v", "k=v\\\n  w\\\n x",
    "k=v\\\\\nn=m", "#c\\\nk=v", "k\\ 1=v", "k=\\u0041\\u00df", "k=\\u004", "k==v", "k=:v", "k :=v",
    "k\\\n  ey=v", "a=1\r\nb=2\rc=3\n", "\\\n", "k=v\\", "key with space", "\\u0020k=v", " \f\tk = v",
]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 25)))


def test_reader_matches_java_util_properties(tmp_path):
    rng = random.Random(20210101)
    texts = _FIXED + [_random_text(rng) for _ in range(400)]
    files = []
    for i, text in enumerate(texts):
        path = tmp_path / f"p{i}.properties"
        path.write_bytes(text.encode("latin-1"))
        files.append(path)
    src = tmp_path / "PropsDump.java"
    src.write_text(_DUMPER)
    proc = subprocess.run([JAVA, str(src), *map(str, files)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(texts)
    for text, path, line in zip(texts, files, lines):
        expected = json.loads(line)
        try:
            got = load_properties(path)
        except ConfigError:
            got = "ERROR"
        assert got == expected, f"input {text!r}"
