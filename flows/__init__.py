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


def localise_form(flow, form: str):
    """The flow's custom-run form (its parameter schema) titled and described in the reader's
    language (``form_<form>_<parameter>`` keys of shopops/i18n.py; issue 23 #2), for both
    ways a deployment gets it: ``flow.parameters`` (serve, to_deployment) and the signature
    ``prefect deploy`` reads. Only the schema changes: Prefect calls ``flow.fn`` with the
    parameters as before. Said in the locale of the process that deploys."""
    import inspect

    from pydantic import Field
    from prefect.utilities.callables import parameter_schema

    from shopops.i18n import MESSAGES, t

    signature = inspect.signature(flow.fn, eval_str=True)   # the types, not their names (annotations are text)
    parameters = []
    for parameter in signature.parameters.values():
        title, help_key = f"form_{form}_{parameter.name}", f"form_{form}_{parameter.name}_help"
        if title not in MESSAGES:
            parameters.append(parameter)
            continue
        info = Field(default=... if parameter.default is parameter.empty else parameter.default,
                     description=t(help_key) if help_key in MESSAGES else None,
                     json_schema_extra={"title": t(title)})
        parameters.append(parameter.replace(default=info))
    flow.__signature__ = signature.replace(parameters=parameters)
    flow.parameters = parameter_schema(flow)
    return flow
