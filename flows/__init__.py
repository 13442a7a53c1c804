"""Prefect flows: each composes tasks and reads like its runbook paragraph.

One module per business area; every flow is a deployment in prefect.yaml.
"""

from datetime import datetime, timezone


def readable_run_name() -> str:
    """A flow run's name a person can read: the flow and its (scheduled) start in the shop's
    zone, "pull-orders 12-05 09:30", instead of Prefect's random "observant-bug" (issue 23 #2).
    Passed as ``@flow(flow_run_name=readable_run_name)``; Prefect calls it inside the run."""
    from prefect.context import FlowRunContext

    from domain.timeutil import local_text
    from shopops.i18n import display_zone

    context = FlowRunContext.get()
    name = context.flow.name if context and context.flow else "run"
    run = context.flow_run if context else None
    at = (run.expected_start_time or run.start_time) if run else None
    return f"{name} {local_text(at or datetime.now(timezone.utc), display_zone(), '%m-%d %H:%M')}"
