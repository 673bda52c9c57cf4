# kafkapy: one image for a broker and, on a base image with Java and ZooKeeper
# (kafkapy-base:bookworm, see shared/scripts), a ZooKeeper node.
#
#   docker build -t kafkapy .                                              # dependencies from PyPI
#   pip download -d wheelhouse --only-binary=:all: -r requirements.txt     # or offline, from a wheelhouse:
#   docker build --build-arg BASE_IMAGE=kafkapy-base:bookworm -t kafkapy:test .
#   (scripts/ci-docker.sh does the latter with a small build context)
#
#   docker run -e KAFKA_ZOOKEEPER_CONNECT=zk:2181 -e KAFKA_BROKER_ID=1 kafkapy            # broker
#   docker run -e ZOO_MY_ID=1 kafkapy zookeeper                                           # ZooKeeper
# Broker settings: any KAFKA_* variable becomes a property (KAFKA_ADVERTISED_LISTENERS ->
# advertised.listeners); see docker/env_config.py. Data in /var/lib/kafkapy/data.
ARG BASE_IMAGE=python:3.11-slim

# kafkapy's two C helpers (csrc/, see setup.py), compiled for the image's own Python. Optional: without
# a C compiler from apt (an offline build) the image runs the pure-Python equivalents, only slower.
FROM ${BASE_IMAGE} AS helpers
COPY csrc/ /src/csrc/
RUN mkdir -p /out/kafkapy/log /out/kafkapy/protocol/records \
 && set -- $(python3 -c 'import sysconfig as s; print(s.get_paths()["include"], s.get_config_var("EXT_SUFFIX"))') \
 && inc="$1" suffix="$2" \
 && pkgs="gcc libc6-dev"; [ -f "$inc/Python.h" ] || pkgs="$pkgs python3-dev"; \
    if (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $pkgs) >/tmp/apt.log 2>&1 \
       && cd /src && for m in "protocol/records/_crc32c csrc/crc32c_module.c" "log/_append csrc/append_module.c"; do \
            set -- $m; gcc -O2 -std=c11 -shared -fPIC -fvisibility=hidden -I"$inc" -Icsrc "$2" csrc/crc32c.c \
              -o "/out/kafkapy/$1$suffix" || exit 1; done; \
    then echo "kafkapy: C helpers built"; \
    else echo "kafkapy: C helpers not built (no compiler from apt); the image runs pure Python"; \
         rm -f /out/kafkapy/log/*.so /out/kafkapy/protocol/records/*.so; fi

FROM ${BASE_IMAGE}
COPY requirements.txt /tmp/requirements.txt
COPY wheelhouse/ /tmp/wheelhouse/
RUN python3 -m venv /opt/venv \
 && if ls /tmp/wheelhouse/*.whl >/dev/null 2>&1; \
    then /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheelhouse -r /tmp/requirements.txt; \
    else /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt; fi \
 && rm -rf /tmp/wheelhouse /tmp/requirements.txt \
 && mkdir -p /var/lib/kafkapy/data /var/lib/kafkapy/logs
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/kafkapy \
    PYTHONUNBUFFERED=1 \
    KAFKAPY_HOME=/opt/kafkapy \
    LOG_DIR=/var/lib/kafkapy/logs
WORKDIR /opt/kafkapy
COPY config/ /opt/kafkapy/config/
COPY bin/ /opt/kafkapy/bin/
COPY docker/ /opt/kafkapy/docker/
COPY kafkapy/ /opt/kafkapy/kafkapy/
COPY --from=helpers /out/kafkapy/ /opt/kafkapy/kafkapy/
RUN chmod +x /opt/kafkapy/docker/entrypoint.sh /opt/kafkapy/bin/*.sh \
 && python3 -m compileall -q /opt/kafkapy/kafkapy
EXPOSE 9092 2181
ENTRYPOINT ["/opt/kafkapy/docker/entrypoint.sh"]
CMD ["broker"]
