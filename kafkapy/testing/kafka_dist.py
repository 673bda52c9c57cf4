"""Apache Kafka's own jars, fetched with Maven, as an oracle for interoperability tests.

``kafka_classpath()`` returns a Java classpath holding ``org.apache.kafka:kafka_2.13`` and its
runtime dependencies. The first call resolves them with Maven
(``mvn dependency:copy-dependencies`` on a generated pom) into
``~/.cache/kafkapy/kafka-<version>/lib`` (``$KAFKAPY_CACHE_DIR`` overrides the parent
directory); later calls reuse that directory. When Maven, Java or Maven Central is not
available, ``KafkaDistUnavailable`` says why, so tests can skip with that reason::

    try:
        cp = kafka_classpath()
    except KafkaDistUnavailable as e:
        pytest.skip(str(e))
    run_kafka_class("kafka.tools.DumpLogSegments", ["--files", path], classpath=cp)
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)

KAFKA_VERSION = "2.8.2"
SCALA_VERSION = "2.13"

_POM = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kafkapy.testing</groupId>
  <artifactId>kafka-dist</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""

_COMPLETE = ".complete"


class KafkaDistUnavailable(RuntimeError):
    """Kafka's jars cannot be had here (no Maven, no Java, no network, resolution failed)."""


def cache_dir(version: str = KAFKA_VERSION) -> Path:
    base = os.environ.get("KAFKAPY_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "kafkapy"
    return root / f"kafka-{version}"


def java_executable() -> str:
    """``$JAVA_HOME/bin/java`` or ``java`` from PATH; KafkaDistUnavailable otherwise."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(os.path.join(home, "bin", "java"), os.X_OK):
        return os.path.join(home, "bin", "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaDistUnavailable("no Java runtime: set JAVA_HOME or put java on PATH")
    return java


def _jars(lib: Path) -> list[Path]:
    return sorted(lib.glob("*.jar"))


@contextlib.contextmanager
def _locked(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def kafka_classpath(version: str = KAFKA_VERSION, *, timeout_s: float = 900.0) -> str:
    """Classpath (``:``-joined jars) of Kafka ``version`` and its runtime dependencies."""
    directory = cache_dir(version)
    lib = directory / "lib"
    if (directory / _COMPLETE).exists() and _jars(lib):
        return os.pathsep.join(str(j) for j in _jars(lib))
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaDistUnavailable("Maven (mvn) is not on PATH; cannot fetch Kafka's jars")
    with _locked(directory):
        if (directory / _COMPLETE).exists() and _jars(lib):     # another process finished it
            return os.pathsep.join(str(j) for j in _jars(lib))
        (directory / "pom.xml").write_text(_POM.format(scala=SCALA_VERSION, version=version))
        staging = directory / "lib.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [mvn, "-q", "-B", "-f", str(directory / "pom.xml"), "dependency:copy-dependencies",
               f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
        log.info("fetching Kafka %s jars with Maven into %s", version, directory)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                  cwd=directory, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise KafkaDistUnavailable(f"Maven did not resolve Kafka {version} within {timeout_s:.0f} s") from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
            raise KafkaDistUnavailable(f"Maven could not resolve Kafka {version} (exit {proc.returncode}): {tail}")
        if not (staging / f"kafka_{SCALA_VERSION}-{version}.jar").exists():
            raise KafkaDistUnavailable(f"Maven finished but kafka_{SCALA_VERSION}-{version}.jar is missing")
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
        (directory / _COMPLETE).write_text(version + "\n")
    return os.pathsep.join(str(j) for j in _jars(lib))


def run_kafka_class(main_class: str, args: list[str], *, classpath: str | None = None,
                    timeout_s: float = 120.0, cwd: str | os.PathLike | None = None
                    ) -> subprocess.CompletedProcess:
    """Run ``main_class`` of Kafka's jars with ``args``; returns the completed process (text)."""
    cp = classpath if classpath is not None else kafka_classpath()
    cmd = [java_executable(), "-Xmx256m", "-cp", cp, main_class, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=cwd,
                          stdin=subprocess.DEVNULL)
