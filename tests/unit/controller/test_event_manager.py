"""The controller's single event queue: order, one at a time, preemption, shutdown."""
from __future__ import annotations

import asyncio

import pytest

from kafkapy.common.tasks import TaskSupervisor
from kafkapy.controller.event_manager import ControllerEventManager, ControllerEventQueueClosed
from kafkapy.controller.events import BrokerChange, ControlledShutdown, ControllerState, TopicChange

pytestmark = pytest.mark.timeout(10)


class Recorder:
    def __init__(self) -> None:
        self.seen: list = []
        self.running = 0
        self.max_running = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def process(self, event) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        await self.gate.wait()
        await asyncio.sleep(0)
        self.seen.append(event)
        self.running -= 1

    def preempt(self, event) -> None:
        event.preempt(ControllerEventQueueClosed("preempted"))


def test_events_run_one_at_a_time_in_order():
    async def scenario():
        rec = Recorder()
        async with TaskSupervisor("t") as tasks:
            mgr = ControllerEventManager(1, rec, tasks)
            mgr.start()
            events = [BrokerChange() if i % 2 else TopicChange() for i in range(20)]
            for e in events:
                mgr.put(e)
            await mgr.wait_idle()
            assert rec.seen == events and rec.max_running == 1
            assert mgr.state is ControllerState.IDLE
            await mgr.close()
    asyncio.run(scenario())


def test_clear_and_put_preempts_waiting_callers_and_close_rejects_new_events():
    async def scenario():
        rec = Recorder()
        mgr = ControllerEventManager(1, rec)
        mgr.start()
        rec.gate.clear()
        first = TopicChange()
        mgr.put(first)
        while rec.running == 0:                 # the first event is being processed
            await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        waiting = ControlledShutdown(2, 1, loop.create_future())
        mgr.put(waiting)
        last = BrokerChange()
        mgr.clear_and_put(last)
        with pytest.raises(ControllerEventQueueClosed):
            await waiting.future
        rec.gate.set()
        await mgr.wait_idle()
        assert rec.seen == [first, last]
        await mgr.close()
        late = ControlledShutdown(3, 1, loop.create_future())
        mgr.put(late)
        with pytest.raises(ControllerEventQueueClosed):
            await late.future
    asyncio.run(scenario())
