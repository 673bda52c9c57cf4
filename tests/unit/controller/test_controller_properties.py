"""Random broker failures, restarts, controlled shutdowns and topic creations replayed against the
controller and an in-memory ZooKeeper; after every step the cluster state must be consistent."""
from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkapy.common.errors import ApiError
from kafkapy.common.types import TopicPartition

from .fakes import broker
from .test_controller import Harness, cluster

BROKERS = (1, 2, 3, 4)

step = st.one_of(
    st.tuples(st.just("kill"), st.sampled_from(BROKERS)),
    st.tuples(st.just("start"), st.sampled_from(BROKERS)),
    st.tuples(st.just("shutdown"), st.sampled_from(BROKERS)),
    st.tuples(st.just("topic"), st.lists(st.permutations(BROKERS).map(lambda p: p[:3]), min_size=1, max_size=3)),
    st.tuples(st.just("prefer"), st.just(None)),
)


def check(h: Harness, history: dict) -> None:
    zk, ctx = h.zk, h.controller.context
    live = set(zk.brokers)
    for tp, state in zk.states.items():
        replicas = zk.topics[tp.topic].partitions[tp.partition].replicas
        assert state.isr and set(state.isr) <= set(replicas), (tp, state)
        if state.leader != -1:
            assert state.leader in state.isr and state.leader in live, (tp, state, live)
        elif any(r in live and r not in ctx.shutting_down_broker_ids for r in state.isr):
            raise AssertionError(f"{tp} has a live ISR member but no leader: {state}")
        previous = history.get(tp)
        if previous is not None:
            assert state.leader_epoch >= previous.leader_epoch, (tp, previous, state)
            # Unclean election is off: a new leader always comes from the ISR it had before.
            if state.leader not in (-1, previous.leader):
                assert state.leader in previous.isr, (tp, previous, state)
            assert set(state.isr) <= set(previous.isr), (tp, previous, state)    # no leader expands ISRs here
        history[tp] = state
        assert ctx.partition_leadership_info[tp] == state          # the cache follows ZooKeeper
    assert set(ctx.live_brokers) == live


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_random_cluster_events_keep_state_consistent(steps):
    async def scenario():
        zk = cluster(*BROKERS)
        h = Harness(zk)
        await h.controller.startup()
        await h.idle()
        history: dict = {}
        n_topics = 0
        epoch = 1000
        for kind, arg in steps:
            if kind == "kill" and arg in zk.brokers and arg != 1:         # broker 1 hosts the controller
                zk.kill_broker(arg)
            elif kind == "start" and arg not in zk.brokers:
                epoch += 1
                zk.register_broker(broker(arg, epoch))
            elif kind == "shutdown" and arg in zk.brokers and arg != 1:
                try:
                    remaining = await h.controller.controlled_shutdown(arg, zk.brokers[arg].epoch)
                except ApiError:
                    remaining = None
                if remaining is not None:
                    for tp in remaining:                # still led: single replica or no other ISR member
                        assert zk.states[tp].leader == arg
                zk.kill_broker(arg)
            elif kind == "topic":
                zk.create_topic(f"t{n_topics}", {p: list(r) for p, r in enumerate(arg)})
                n_topics += 1
            elif kind == "prefer":
                await h.controller.elect_leaders(None)
            await h.idle()
            check(h, history)
        await h.controller.shutdown()
    asyncio.run(asyncio.wait_for(scenario(), 30))
