#!/usr/bin/env bash
# Build the kafkapy:test image for the container tests, offline where possible:
#   1. start a Docker engine (../shared/scripts/start-dockerd.sh) and build the local base image
#      kafkapy-base:bookworm (../shared/scripts/docker-base-image.sh), when those scripts exist;
#   2. download the dependencies as wheels into wheelhouse/ (pip download);
#   3. docker build --build-arg BASE_IMAGE=kafkapy-base:bookworm -t kafkapy:test from a small
#      staged context (Dockerfile, requirements.txt, wheelhouse/, config/, bin/, docker/, csrc/, kafkapy/).
# Idempotent. Without a usable engine it prints one line, "docker unavailable: <reason>", and exits 0
# (the container tests then skip). Settings: IMAGE (kafkapy:test), BASE_IMAGE (kafkapy-base:bookworm),
# PYTHON (.venv/bin/python, else python3).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="$ROOT/../shared/scripts"
IMAGE="${IMAGE:-kafkapy:test}"
BASE_IMAGE="${BASE_IMAGE:-kafkapy-base:bookworm}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3

unavailable() { echo "docker unavailable: $*"; exit 0; }
log() { echo "[ci-docker] $*"; }

if [ -x "$SHARED/start-dockerd.sh" ]; then
  out="$("$SHARED/start-dockerd.sh" 2>&1)" || unavailable "start-dockerd.sh failed: $(echo "$out" | tail -n 1)"
fi
command -v docker >/dev/null 2>&1 || unavailable "no docker command"
docker info >/dev/null 2>&1 || unavailable "the Docker engine does not answer (docker info failed)"
if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  if [ -x "$SHARED/docker-base-image.sh" ] && [ "$BASE_IMAGE" = "kafkapy-base:bookworm" ]; then
    out="$(IMAGE="$BASE_IMAGE" "$SHARED/docker-base-image.sh" 2>&1)" \
      || unavailable "docker-base-image.sh failed: $(echo "$out" | tail -n 1)"
  else
    unavailable "base image $BASE_IMAGE is missing and cannot be built here"
  fi
fi

mkdir -p "$ROOT/wheelhouse"
log "wheels for requirements.txt into wheelhouse/"
if ! "$PYTHON" -m pip download -q -d "$ROOT/wheelhouse" --only-binary=:all: -r "$ROOT/requirements.txt"; then
  log "pip download failed; the image will install from PyPI if it can"
fi

CTX="$(mktemp -d "${TMPDIR:-/tmp}/kafkapy-docker-ctx.XXXXXX")"
trap 'rm -rf "$CTX"' EXIT
cp "$ROOT/Dockerfile" "$ROOT/requirements.txt" "$CTX/"
cp -r "$ROOT/wheelhouse" "$ROOT/config" "$ROOT/bin" "$ROOT/docker" "$ROOT/csrc" "$CTX/"
mkdir -p "$CTX/kafkapy"
(cd "$ROOT" && find kafkapy -name '*.py' -print0 | xargs -0 cp --parents -t "$CTX/")

log "docker build -t $IMAGE (BASE_IMAGE=$BASE_IMAGE)"
T0=$(date +%s)
if ! docker build -q --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" "$CTX" >"$CTX/build.log" 2>&1; then
  tail -n 30 "$CTX/build.log" >&2
  echo "[ci-docker] ERROR: docker build failed" >&2
  exit 1
fi
log "built $IMAGE in $(( $(date +%s) - T0 ))s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
