# kafkapy broker (and, on a base image with Java and ZooKeeper, a ZooKeeper node).
# Build offline from a local wheelhouse:  pip download -d wheelhouse --only-binary=:all: -r requirements.txt
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
COPY requirements.txt /tmp/requirements.txt
COPY wheelhouse/ /tmp/wheelhouse/
RUN python3 -m venv /opt/venv \
 && if ls /tmp/wheelhouse/*.whl >/dev/null 2>&1; \
    then /opt/venv/bin/pip install --no-index --find-links /tmp/wheelhouse -r /tmp/requirements.txt; \
    else /opt/venv/bin/pip install -r /tmp/requirements.txt; fi \
 && rm -rf /tmp/wheelhouse
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /opt/kafkapy
COPY kafkapy/ /opt/kafkapy/kafkapy/
COPY bin/ /opt/kafkapy/bin/
COPY config/ /opt/kafkapy/config/
ENV PYTHONPATH=/opt/kafkapy
EXPOSE 9092
CMD ["bin/kafka-server-start.sh", "config/server.properties"]
