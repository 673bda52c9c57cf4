"""Shared helpers of the controller acceptance tests: run our bin/ tools, read Metadata."""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def run_tool(script: str, *args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``bin/<script>`` as a subprocess; stdout/stderr as text."""
    return subprocess.run([str(REPO / "bin" / script), *args], capture_output=True, text=True, timeout=timeout_s)


def metadata_partitions(bootstrap: str, topic: str) -> dict[int, tuple[int, list[int], list[int]]]:
    """partition -> (leader, replicas, isr) from confluent-kafka's AdminClient.list_topics."""
    from confluent_kafka.admin import AdminClient
    # all topics: a Metadata request naming the topic may auto-create it (librdkafka's admin handle is a producer)
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return {}
    return {p: (pm.leader, list(pm.replicas), list(pm.isrs)) for p, pm in t.partitions.items()}
