#!/usr/bin/env bash
# Installs the OS packages kafkapy and its test suite need (Debian/Ubuntu), then checks that every
# prerequisite really works. Idempotent: installs nothing when everything is present.
#
#   python3 (>= 3.11) with venv   the project's virtualenv (python3, python3-venv)
#   java, ZooKeeper               a headless Java runtime and Debian's `zookeeper` package (its jars come
#                                 from libzookeeper-java, which it depends on)
#   javac, mvn                    Kafka 2.8.2's own jars and classes as a test oracle (default-jdk-headless, maven)
#   kcat                          kcat interoperability tests and `make run` checks
#   ip                            network-namespace partitions in the cluster tests (iproute2)
#   pgrep, ps                     process checks (procps)
#   cc, Python.h                  kafkapy's two optional C helpers, built by `pip install` (gcc, libc6-dev,
#                                 python3-dev); without them kafkapy runs slower pure-Python equivalents
#
# Works without a terminal (CI: no stdin): apt runs non-interactively, sudo never prompts.
# Exits non-zero, saying what is missing, when a prerequisite cannot be installed.
# `--check` only checks; `--python` prints the interpreter to build the virtualenv with.
set -euo pipefail

log() { echo "[os-deps] $*"; }
die() { echo "[os-deps] ERROR: $*" >&2; exit 1; }

# The interpreter for the virtualenv: $PYTHON if set, else the first of python3, python3.11 that is
# >= 3.11 and has venv + ensurepip. `--python` prints it.
python_candidates() { if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; else echo python3 python3.11; fi; }
python_good() {
  command -v "$1" >/dev/null 2>&1 &&
    "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}
python_pick() {
  local p
  for p in $(python_candidates); do python_good "$p" && { echo "$p"; return 0; }; done
  return 1
}
python_ok() { python_pick >/dev/null; }
python_packages() {
  # Debian 12+, Ubuntu 23.04+: python3 is >= 3.11. Older releases (Ubuntu 22.04) ship python3.11 beside it.
  if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
  then echo python3.11 python3.11-venv
  else echo python3 python3-venv; fi
}
zookeeper_ok() {
  [ -n "${ZOOKEEPER_CLASSPATH:-}" ] || [ -n "${ZOOKEEPER_HOME:-}" ] || [ -f /usr/share/java/zookeeper.jar ]
}
java_ok() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then "$JAVA_HOME/bin/java" -version >/dev/null 2>&1
  else command -v java >/dev/null 2>&1 && java -version >/dev/null 2>&1; fi
}
have() { command -v "$1" >/dev/null 2>&1; }
# Python's headers for the interpreter the virtualenv is built with (the C helpers include Python.h)
python_headers_ok() {
  local p
  p="$(python_pick)" || return 1
  "$p" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null
}
python_dev_package() {
  case "$(python_pick 2>/dev/null || echo python3)" in
    *python3.11) echo python3.11-dev ;;
    *) echo python3-dev ;;
  esac
}
compiler_ok() { have cc && [ -f /usr/include/stdio.h ]; }

# Package wanted for each missing prerequisite.
missing_packages() {
  local need=()
  python_ok || need+=($(python_packages))
  if [ -z "${ZOOKEEPER_CLASSPATH:-}${ZOOKEEPER_HOME:-}" ]; then   # else: the user's own ZooKeeper install
    dpkg -s zookeeper >/dev/null 2>&1 && zookeeper_ok || need+=(zookeeper)
  fi
  java_ok || need+=(default-jre-headless)
  have javac || need+=(default-jdk-headless)
  have mvn || need+=(maven)
  have kcat || have kafkacat || need+=(kcat)
  have ip || need+=(iproute2)
  have pgrep || need+=(procps)
  compiler_ok || need+=(gcc libc6-dev)
  python_ok && ! python_headers_ok && need+=($(python_dev_package))
  echo "${need[@]:-}"
}

check_all() {
  local bad=()
  python_ok || bad+=("python3 >= 3.11 with the venv module (python3 is: $(python3 --version 2>&1 || echo 'absent'))")
  zookeeper_ok || bad+=("ZooKeeper (/usr/share/java/zookeeper.jar, or ZOOKEEPER_HOME / ZOOKEEPER_CLASSPATH)")
  java_ok || bad+=("a working java (JAVA_HOME or PATH)")
  have javac || bad+=("javac")
  have mvn || bad+=("mvn")
  have kcat || have kafkacat || bad+=("kcat")
  have ip || bad+=("ip (iproute2)")
  have pgrep || bad+=("pgrep (procps)")
  compiler_ok || bad+=("a C compiler (cc) and the C library's headers")
  python_headers_ok || bad+=("Python's headers (Python.h) for $(python_pick 2>/dev/null || echo python3)")
  if [ ${#bad[@]} -ne 0 ]; then
    for b in "${bad[@]}"; do echo "[os-deps] missing: $b" >&2; done
    return 1
  fi
}

if [ "${1:-}" = "--python" ]; then
  python_pick || die "no python3 >= 3.11 with the venv module (run scripts/install-os-deps.sh)"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  check_all || die "prerequisites missing (run scripts/install-os-deps.sh as root, or with sudo)"
  exit 0
fi

read -r -a need <<<"$(missing_packages)"
if [ ${#need[@]} -ne 0 ]; then
  have apt-get || die "missing ${need[*]} and there is no apt-get here: install them by hand"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    have sudo || die "missing ${need[*]}: run as root, or install sudo"
    # No terminal (CI): never wait for a password prompt.
    if [ -t 0 ]; then SUDO=(sudo); else SUDO=(sudo -n); fi
  fi
  log "installing OS packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef
            -o Dpkg::Options::=--force-confold)
  T0=$(date +%s)
  # Slim images (debian:*-slim, docker's minimal roots) drop /usr/share/man; the JDK's and Maven's
  # update-alternatives links into man1 then fail and leave the packages unconfigured.
  [ -d /usr/share/man/man1 ] || "${SUDO[@]}" mkdir -p /usr/share/man/man1
  "${SUDO[@]}" apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null ||
    die "apt-get update failed"
  if ! out="$("${SUDO[@]}" apt-get install "${apt_opts[@]}" "${need[@]}" </dev/null 2>&1)"; then
    echo "$out" | tail -n 30 >&2
    die "apt-get install ${need[*]} failed"
  fi
  log "installed in $(( $(date +%s) - T0 ))s"
  hash -r
fi
check_all || die "prerequisites still missing after installing: ${need[*]:-nothing}"
