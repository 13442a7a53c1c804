"""prefect.yaml, checked statically: every entrypoint imports to a flow, its parameters
exist on that flow, schedules are valid cron in a real time zone, work pools are named."""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule

PROJECT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((PROJECT / "prefect.yaml").read_text(encoding="utf-8"))
DEPLOYMENTS = SPEC["deployments"]


def _load_flow(entrypoint: str) -> Flow:
    path, name = entrypoint.split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def test_deployment_names_are_unique():
    names = [d["name"] for d in DEPLOYMENTS]
    assert len(names) == len(set(names)) and names


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_deployment_is_well_formed(deployment):
    flow = _load_flow(deployment["entrypoint"])
    assert isinstance(flow, Flow)
    # a deployment shares its flow's name ("<flow>/<flow>" in the UI), except a second
    # deployment of one flow, which says what it is for after the flow's name
    assert deployment["name"] == flow.name or deployment["name"].startswith(flow.name + "-")
    accepted = set(inspect.signature(flow.fn).parameters)
    assert set(deployment.get("parameters") or {}) <= accepted
    assert deployment["work_pool"]["name"]
    assert deployment.get("description")
    for schedule in deployment.get("schedules") or []:
        CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])  # raises when invalid
        assert ZoneInfo(schedule["timezone"])
        assert schedule["timezone"] == "Asia/Shanghai"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_a_flow_that_pauses_has_no_deployment_concurrency_limit(deployment):
    # Prefect 3.8 revokes the deployment's concurrency lease at Running -> Paused, and the
    # paused engine's next lease renewal (every few minutes) fails and crashes the run: a
    # paused monthly-settlement died ≈4 minutes into its wait for approval (test_demo, 2026-12-03)
    source = (PROJECT / deployment["entrypoint"].split(":")[0]).read_text(encoding="utf-8")
    if "pause_flow_run(" in source:
        assert not deployment.get("concurrency_limit"), deployment["name"]
