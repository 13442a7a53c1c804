"""Everything the product writes for a person follows SHOPOPS_LOCALE (issue 23 #2).

Real flow runs on the test Prefect server and a SQLite warehouse, under zh_CN and under en:
every sheet of every report (.xlsx), every markdown artifact, the flow's own log lines and the
CLI's tables. Under zh_CN nothing may still be an English code (``paid``, ``critical``,
``refund_in_progress``, ``multi`` …) or English prose ("buyer remark mentions … read it before
shipping"); under en no code may be shown raw (``refund_in_progress``) nor in Chinese.
``tests/helpers/language.py`` says what counts as untranslated.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (ArtifactFilter, ArtifactFilterFlowRunId, LogFilter,
                                            LogFilterFlowRunId)
from prefect.logging.handlers import APILogHandler
from typer.testing import CliRunner

from config.settings import get_settings
from tests.flows.test_followup_flow import _forget_artifacts, one_warehouse  # noqa: F401 - a fixture
from tests.flows.test_settlement_flow import settlement_env  # noqa: F401 - a fixture
from tests.helpers.language import raw_codes, untranslated
from tests.unit.test_batching import CATALOGUE, NOW

ROOT = Path(__file__).resolve().parents[2]
#: data, not words of the product: buyer remarks, item names and variants, carriers, bins
DATA = ("Please ship URGENT", *CATALOGUE["name"], *CATALOGUE["variant"].dropna(), "ZTO", "SF",
        "overstock (滞销)")   # the one term the English restock message glosses in Chinese, on purpose
#: Prefect's own lines in a run's log (its UI chrome, out of scope)
PREFECT_OWN = ("Beginning flow run", "Finished in state", "Created task run", "Executing", "Beginning subflow",
               "Task run", "Running", "View at")


@pytest.fixture(params=["zh_CN", "en"])
def locale(request, one_warehouse, monkeypatch):  # noqa: F811 - the fixture imported above
    monkeypatch.setenv("SHOPOPS_LOCALE", request.param)
    get_settings.cache_clear()
    yield request.param, one_warehouse[0]
    get_settings.cache_clear()


async def _texts_of_runs(flow_run_ids: list) -> tuple[list[str], list[str]]:
    """Markdown artifacts (and every artifact's description) and our log lines of the runs."""
    await APILogHandler.aflush()   # the logs the runs shipped in the background, all sent
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=flow_run_ids)))
        logs = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=flow_run_ids)))
    texts = [a.data for a in artifacts if a.type == "markdown"] + [a.description or "" for a in artifacts]
    ours = [log.message for log in logs if not log.message.startswith(PREFECT_OWN)]
    return texts, ours


def _workbook_texts(folder: Path, sheet_names: bool) -> list[str]:
    """Every heading and cell of every .xlsx under ``folder`` (and its sheet names: English
    keeps a table's own name as its sheet's), one text per sheet."""
    texts = []
    for path in sorted(folder.rglob("*.xlsx")):
        for name, frame in pd.read_excel(path, sheet_name=None, header=None, dtype=str).items():
            cells = frame.fillna("").to_numpy().ravel().tolist()
            texts.append(f"{path.name} [{name if sheet_names else ''}] " + " | ".join(cells))
    return texts


def _problems(texts: list[str], locale: str) -> dict[str, list[str]]:
    check = untranslated if locale == "zh_CN" else raw_codes
    found = {text[:120]: check(text, ignore=DATA) for text in texts}
    return {where: what for where, what in found.items() if what}


def test_every_report_log_line_and_cli_table_speaks_the_readers_language(locale):
    """Six flows of the operating day on the 50-order day (+4), then the CLI's tables."""
    from flows.followup import customer_service_followup
    from flows.shipping import batch_lifecycle, shipping_batches
    from flows.stock import reconcile_stock, restock_alerts
    from flows.watchdog import watchdog
    from shopops.cli import app

    language, settings = locale
    states = [shipping_batches(now=NOW, max_orders_per_batch=10, return_state=True),
              customer_service_followup(now=NOW, return_state=True),
              watchdog(now=NOW, return_state=True),
              reconcile_stock(read_listings=False, return_state=True),
              restock_alerts(now=NOW, return_state=True)]
    assert all(state.is_completed() for state in states), [state.message for state in states]
    batch_id = _first_batch(settings)
    states.append(batch_lifecycle(batch_id=batch_id, action="picked", now=NOW, return_state=True))
    run_ids = [state.state_details.flow_run_id for state in states]
    artifacts, logs = asyncio.run(_texts_of_runs(run_ids))
    asyncio.run(_forget_artifacts(run_ids))

    runner = CliRunner()
    cli = [runner.invoke(app, ["batch", "list"]), runner.invoke(app, ["batch", "handover", batch_id]),
           runner.invoke(app, ["stock", "discrepancies"])]
    assert cli[1].exit_code == 1 and batch_id in cli[1].output        # a wrong step, said in words
    workbooks = _workbook_texts(settings.report_folder, sheet_names=language == "zh_CN")
    assert len(workbooks) > 10 and len(artifacts) > 10 and logs

    assert _problems(workbooks, language) == {}
    assert _problems(artifacts, language) == {}
    # the flows' own log lines (Prefect's lines are its chrome): the shipping run's counts in words
    assert any(line.startswith("波次 8  订单 36  件 39  暂扣 16" if language == "zh_CN"
                               else "batches 8  orders 36  units 39  held 16") for line in logs), logs
    assert _problems(logs, language) == {}
    assert _problems([result.output for result in cli], language) == {}
    # the words really are the reader's: a held order's reason, a batch's kind, its status
    everything = "\n".join(workbooks + artifacts + logs + [result.output for result in cli])
    expected = (["买家留言提到", "多件", "已拣货", "退款中"] if language == "zh_CN"
                else ["buyer remark mentions", "multi item", "picked", "refund in progress"])
    assert all(word in everything for word in expected), [w for w in expected if w not in everything]


def _first_batch(settings) -> str:
    from warehouse import shipping as store
    from warehouse.db import make_engine

    engine = make_engine(settings.warehouse_url)
    try:
        return str(store.read_batches(engine, store.LIVE_BATCH_STATUSES)["batch_id"].iloc[0])
    finally:
        engine.dispose()


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_approval_and_custom_run_forms_are_titled_in_the_readers_language(language):
    """The forms as Prefect gets them: the promotion flow's parameter schema the way `prefect
    deploy` reads it (a process with SHOPOPS_LOCALE set) and the approval form's run input."""
    probe = ("import json; from prefect.utilities.callables import parameter_schema; "
             "from flows.promotion import promotion_campaign; from flows.settlement import ApprovalForm; "
             "print(json.dumps([parameter_schema(promotion_campaign).model_dump(), ApprovalForm.model_json_schema()]))")
    env = {**os.environ, "SHOPOPS_LOCALE": language, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    promotion, approval = json.loads(done.stdout.strip().splitlines()[-1])
    titles = {name: (p["title"], p.get("description", "")) for schema in (promotion, approval)
              for name, p in schema["properties"].items()}
    if language == "zh_CN":
        assert (titles["phase"][0], titles["name"][0], titles["dry_run"][0]) == ("阶段", "活动名称", "试运行")
        assert (titles["decision"][0], titles["note"][0], titles["reviewer"][0]) == ("审批决定", "备注", "审批人")
        assert _problems([f"{t} {d}" for t, d in titles.values()], "zh_CN") == {}
    else:
        assert (titles["dry_run"][0], titles["reviewer"][0]) == ("Dry run", "Reviewer")
        assert "stored with the decision" in titles["reviewer"][1]
    # only the words changed: the phase is still a choice of the four phases
    assert promotion["properties"]["phase"]["enum"] == ["prepare", "start", "report", "close"]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_settlement_statement_and_settle_show_speak_the_readers_language(settlement_env, language, monkeypatch):
    """`settle MONTH --dry-run` (the statement .xlsx, its summary) and `settle show`: statuses,
    roles, flags and columns in the reader's language."""
    from shopops.cli import app
    from tests.flows.test_settlement_flow import DATA, MONTH

    monkeypatch.setenv("SHOPOPS_LOCALE", language)
    get_settings.cache_clear()
    runner = CliRunner()
    settled = runner.invoke(app, ["settle", MONTH, "--dry-run", "--inputs-dir", str(DATA)])
    shown = runner.invoke(app, ["settle", "show", MONTH])
    get_settings.cache_clear()
    assert settled.exit_code == 0 and shown.exit_code == 0, settled.output + shown.output
    texts = [settled.output, shown.output, *_workbook_texts(settlement_env.report_folder, language == "zh_CN")]
    # people's names and the roster's shops are data
    assert _problems(texts, language) == {}
    assert ("草稿" in shown.output and "提成（元）" in shown.output) if language == "zh_CN" else \
        ("draft" in shown.output and "commission (yuan)" in shown.output)
