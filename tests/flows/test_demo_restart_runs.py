"""A demo stopped while a run was in progress leaves it Pending or Running for ever, holding its
deployment's concurrency slot: every later run of that deployment was cancelled by CANCEL_NEW
(found by the fresh-clone CI: the second demo day's pull waited four minutes for a run from
before the restart). The demo now marks such runs Crashed when it starts; a suspended approval
is left alone."""
from __future__ import annotations

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.states import Paused, Pending, Running

from shopops.operating_day import crash_runs_left_going


@flow(name="left-going")
def left_going() -> None:
    pass


def test_runs_a_stopped_demo_left_going_are_crashed_and_a_suspended_approval_is_kept(prefect_harness):
    with get_client(sync_client=True) as client:
        pending = client.create_flow_run(left_going, state=Pending())
        running = client.create_flow_run(left_going, state=Pending())
        client.set_flow_run_state(running.id, Running(), force=True)
        waiting = client.create_flow_run(left_going, state=Pending())
        client.set_flow_run_state(waiting.id, Running(), force=True)
        client.set_flow_run_state(waiting.id, Paused(reschedule=True, timeout_seconds=3600), force=True)

        crashed = crash_runs_left_going(client)

        assert {pending.name, running.name} <= set(crashed) and waiting.name not in crashed
        assert client.read_flow_run(pending.id).state.type.value == "CRASHED"
        assert client.read_flow_run(running.id).state.type.value == "CRASHED"
        assert client.read_flow_run(waiting.id).state.type.value == "PAUSED"
        assert crash_runs_left_going(client) == []      # nothing left going
