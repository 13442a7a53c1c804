"""One operating day of the department, run through the deployments of a live Prefect server.

The demo calls :func:`run_operating_day` once its worker is up: every flow runs the way the
schedule would start it (a flow run of the deployment, picked up by the worker), in the order
a morning goes — warehouse check, order pull, stock reconciliation, restock alerts, shipping
batches, customer-service lists, a campaign's preparation check — and last the previous
month's settlement, which stops at its approval form and waits for a manager in the UI.

Each step waits for its run to finish (a paused run counts as finished: it waits for a
person, not for us) and says how it ended; a failed step is reported and the day goes on,
because the UI is where an operator looks at a failure.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shopops.i18n import t

# Prefect is imported where it is used: `shopops --help` should not pay for the client

#: a run in one of these has nothing more to do without a person
SETTLED = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass(frozen=True)
class DayStep:
    """One deployment run of the day. ``before`` prepares inputs in-process (files, seed data)."""

    deployment: str  # "<flow name>/<deployment name>"
    parameters: dict[str, Any] = field(default_factory=dict)
    #: a run that pauses for a person (the settlement's approval) is done once it is PAUSED
    until_paused: bool = False
    before: Callable[[], str | None] | None = None
    timeout_s: float = 240


@dataclass
class StepOutcome:
    deployment: str
    state: str
    seconds: float
    flow_run_id: str | None = None
    note: str = ""


def _state(flow_run) -> str:
    return flow_run.state.type.value if flow_run.state else "UNKNOWN"


def _wait(client, flow_run, *, until_paused: bool, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        flow_run = client.read_flow_run(flow_run.id)
        if _state(flow_run) in SETTLED or (until_paused and _state(flow_run) == "PAUSED"):
            return flow_run
        time.sleep(1)
    return flow_run


def _running_run_of(client, deployment_name: str):
    """The run of a deployment that is in progress (the one that made ours collide)."""
    from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterName, FlowRunFilter,
                                                FlowRunFilterState, FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    runs = client.read_flow_runs(
        deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment_name])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
            any_=[StateType.RUNNING, StateType.PENDING]))),
        sort=FlowRunSort.START_TIME_DESC, limit=1)
    return runs[0] if runs else None


def crash_runs_left_going(client) -> list[str]:
    """Mark Crashed every run still Pending, Running or Cancelling when the demo starts: the
    previous demo stopped with it in progress and every process of it is gone (only one demo
    runs from a data folder), so nothing will ever finish it — and while it seems to go it holds
    its deployment's concurrency slot, so every new run of that deployment (the cron's, the
    operating day's) is cancelled by CANCEL_NEW. A suspended run (an approval) is left alone.
    Returns the names of the runs marked."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    going = client.read_flow_runs(flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
        type=FlowRunFilterStateType(any_=[StateType.PENDING, StateType.RUNNING, StateType.CANCELLING]))))
    for run in going:
        client.set_flow_run_state(run.id, Crashed(message=t("demo_run_left_going")), force=True)
    return [run.name for run in going]


def run_step(client, step: DayStep) -> StepOutcome:
    started = time.monotonic()
    note = (step.before() or "") if step.before else ""
    deployment = client.read_deployment_by_name(step.deployment)
    flow_run = client.create_flow_run_from_deployment(deployment.id, parameters=step.parameters)
    flow_run = _wait(client, flow_run, until_paused=step.until_paused, timeout_s=step.timeout_s)
    if _state(flow_run) == "CANCELLED":
        # CANCEL_NEW: a scheduled run of the same deployment was already going; that run does
        # the same work (its window reaches back further), so the day waits for it instead
        other = _running_run_of(client, deployment.name)
        if other is not None:
            note = (note + "; " if note else "") + t("day_waited_for_scheduled", run=other.name)
            flow_run = _wait(client, other, until_paused=step.until_paused, timeout_s=step.timeout_s)
    return StepOutcome(step.deployment, _state(flow_run), time.monotonic() - started, str(flow_run.id), note)


def run_operating_day(steps: list[DayStep], say: Callable[[str], None] = print) -> list[StepOutcome]:
    """Run ``steps`` in order against the server of ``PREFECT_API_URL``; say how each ended."""
    from prefect.client.orchestration import get_client

    outcomes: list[StepOutcome] = []
    with get_client(sync_client=True) as client:
        for number, step in enumerate(steps, start=1):
            say(t("day_step_start", n=number, total=len(steps), deployment=step.deployment))
            outcome = run_step(client, step)
            outcomes.append(outcome)
            say(t("day_step_done", n=number, total=len(steps), deployment=step.deployment, state=outcome.state,
                  seconds=f"{outcome.seconds:.0f}") + (f" ({outcome.note})" if outcome.note else ""))
    return outcomes
