#!/usr/bin/env bash
# Installs the OS packages kafkapy needs (Debian/Ubuntu): ZooKeeper, kcat, python3-venv.
# Idempotent: does nothing when everything is present.
set -euo pipefail
need=()
dpkg -s zookeeper >/dev/null 2>&1 || need+=(zookeeper)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "Installing OS packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
