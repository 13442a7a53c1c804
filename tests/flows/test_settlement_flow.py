"""monthly-settlement on the test-harness Prefect server, a SQLite warehouse built by hand and
the department of tests/data/settlement (the October hand-checked in tests/unit/test_settlement.py).

The warehouse reproduces that October: tmall placed 100,000 with a 5,000 refund, cost 55,800,
and a 2,000 refund of a September order (late: clawback); taobao-c placed 40,000, cost 28,000;
dist-1 placed 41,000 with a 1,000 refund, cost 28,000.
"""
from __future__ import annotations

import re

import asyncio
import time
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames
from warehouse import migrate, repository
from warehouse.db import make_engine
from warehouse.models import Sku

DATA = Path(__file__).parents[1] / "data" / "settlement"
MONTH = "2026-10"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def build_warehouse(url: str) -> None:
    migrate.upgrade(url)
    orders, lines, refunds = [], [], []

    def order(shop: str, order_id: str, placed: datetime, yuan: int, units: int, status: str = "completed") -> None:
        head = dict.fromkeys(ORDER_COLUMNS)
        head.update(platform="taobao", shop_id=shop, order_id=order_id, status=status, currency="CNY",
                    total_minor=yuan * 100, post_fee_minor=0, discount_minor=0, created_at=placed, paid_at=placed,
                    modified_at=placed, line_count=1, buyer_key=f"buyer-{order_id}")
        orders.append(head)
        line = dict.fromkeys(LINE_COLUMNS)
        line.update(platform="taobao", shop_id=shop, order_id=order_id, line_no=1, line_id=f"{order_id}-1", sku="A",
                    quantity=units, unit_price_minor=yuan * 100 // units, line_total_minor=yuan * 100,
                    currency="CNY", is_gift=False)
        lines.append(line)

    def refund(shop: str, refund_id: str, order_id: str, yuan: int, at: datetime) -> None:
        row = dict.fromkeys(REFUND_COLUMNS)
        row.update(platform="taobao", shop_id=shop, refund_id=refund_id, order_id=order_id, quantity=1,
                   amount_minor=yuan * 100, currency="CNY", status="refunded", created_at=at, modified_at=at)
        refunds.append(row)

    order("tmall", "T1", utc(2026, 10, 10, 2), 100_000, 558)      # cost 558 × 100 = 55,800
    refund("tmall", "R1", "T1", 5_000, utc(2026, 10, 20, 2))
    order("tmall", "T0", utc(2026, 9, 25, 2), 2_000, 1, status="refunded")  # September: not October's revenue…
    refund("tmall", "R0", "T0", 2_000, utc(2026, 10, 5, 2))         # …but its refund is October's late refund
    order("taobao-c", "C1", utc(2026, 10, 12, 2), 40_000, 280)
    order("dist-1", "D1", utc(2026, 10, 15, 2), 41_000, 280)
    refund("dist-1", "R2", "D1", 1_000, utc(2026, 10, 25, 2))
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(Sku.__table__).values(sku="A", name="A", unit_cost_minor=10_000, currency="CNY"))
        repository.upsert_orders(engine, CanonicalFrames(
            orders=pd.DataFrame(orders, columns=list(ORDER_COLUMNS)),
            lines=pd.DataFrame(lines, columns=list(LINE_COLUMNS)),
            refunds=pd.DataFrame(refunds, columns=list(REFUND_COLUMNS))))
    finally:
        engine.dispose()


def versions(url: str):
    engine = make_engine(url)
    try:
        return repository.settlement_versions(engine, MONTH, "seed_commission")
    finally:
        engine.dispose()


async def _artifacts(key: str):
    async with get_client() as client:
        return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))


@pytest.fixture
def settlement_env(warehouse_env):
    build_warehouse(warehouse_env.warehouse_url)
    return warehouse_env


def test_dry_run_stores_a_draft_publishes_and_a_rerun_adds_nothing(settlement_env):
    from flows.settlement import monthly_settlement

    first = monthly_settlement(month=MONTH, dry_run=True, inputs_dir=str(DATA))
    assert (first["version"], first["status"], first["created"]) == (1, "draft", True)
    # the October of tests/unit/test_settlement.py: M1 196,067 + O1 137,935 + O2 0 + C1 326,977 fen
    assert first["commission_total_minor"] == 196067 + 137935 + 0 + 326977
    [stored] = versions(settlement_env.warehouse_url)
    assert (stored.status, stored.inputs_sha256) == ("draft", first["inputs_sha256"])
    engine = make_engine(settlement_env.warehouse_url)
    try:
        lines = repository.read_settlement_lines(engine, stored.id).set_index("person_id")
    finally:
        engine.dispose()
    assert lines["commission_minor"].to_dict() == {"C1": 326977, "M1": 196067, "O1": 137935, "O2": 0}

    book = openpyxl.load_workbook(first["xlsx"])
    assert book.sheetnames == ["people", "components", "shops", "store_kpis", "cs_kpis"]
    cs_header = [c.value for c in book["cs_kpis"][1]]
    [c1] = list(book["cs_kpis"].iter_rows(min_row=2, values_only=True))
    assert (c1[cs_header.index("conversations")], c1[cs_header.index("inquiry conversion")]) == (1200, 0.352)
    people = {row[0]: row for row in book["people"].iter_rows(min_row=2, values_only=True)}
    header = [c.value for c in book["people"][1]]
    assert people["M1"][header.index("coefficient")] == pytest.approx(1.1333)
    assert people["M1"][header.index("commission (yuan)")] == pytest.approx(1960.67)
    shops_header = [c.value for c in book["shops"][1]]
    tmall = next(r for r in book["shops"].iter_rows(min_row=2, values_only=True) if r[0] == "tmall")
    assert tmall[shops_header.index("late refunds, clawback (yuan)")] == 2000
    assert tmall[shops_header.index("revenue (yuan)")] == 93000

    summary = asyncio.run(_artifacts(f"settlement-{MONTH}"))
    assert any(first["inputs_sha256"] in a.data and "Dry run" in a.data for a in summary)
    assert asyncio.run(_artifacts(f"settlement-{MONTH}-people"))

    cells = workbook_cells(first["xlsx"])
    again = monthly_settlement(month=MONTH, dry_run=True, inputs_dir=str(DATA))
    assert (again["version"], again["created"], again["inputs_sha256"]) == (1, False, first["inputs_sha256"])
    assert len(versions(settlement_env.warehouse_url)) == 1  # one effect
    # the same figures, cell for cell, in the version's statement of the day (issue 23 #5: one
    # file per report and day, rewritten by the rerun)
    assert again["xlsx"] == first["xlsx"] and Path(first["xlsx"]).name.startswith(f"settlement-{MONTH}-v1-")
    assert workbook_cells(again["xlsx"]) == cells


def workbook_cells(path: str) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(path)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def copy_inputs(folder: Path) -> Path:
    folder.mkdir()
    for name in ("roster", "targets", "expenses", "cs_stats", "shop_channels"):
        (folder / f"{name}.csv").write_bytes((DATA / f"{name}.csv").read_bytes())
    return folder


def test_changed_input_makes_a_new_version_and_diff_names_what_changed(settlement_env, tmp_path):
    from typer.testing import CliRunner

    from flows.settlement import monthly_settlement
    from shopops.cli import app

    first = monthly_settlement(month=MONTH, dry_run=True, inputs_dir=str(DATA))
    folder = copy_inputs(tmp_path / "corrected")
    expenses = folder / "expenses.csv"
    expenses.write_text(expenses.read_text(encoding="utf-8").replace("2026-10,tmall,marketing,15000.00",
                                                                     "2026-10,tmall,marketing,16000.00"),
                        encoding="utf-8")
    second = monthly_settlement(month=MONTH, dry_run=True, inputs_dir=str(folder))
    assert (second["version"], second["created"]) == (2, True)
    assert second["inputs_sha256"] != first["inputs_sha256"]
    assert [(v.version, v.status) for v in versions(settlement_env.warehouse_url)] == [(2, "draft"), (1, "draft")]

    diff = CliRunner().invoke(app, ["settle", "diff", MONTH, "1", "2"])
    assert diff.exit_code == 0, diff.output
    # the figures of tests/unit/test_settlement.py::test_diff_names_exactly_the_input_and_figures_that_changed
    assert diff.output.splitlines() == [
        "Settlement 2026-10: version 1 → 2, 9 difference(s):",
        "  expenses [2026-10 / tmall / marketing] amount_minor: 1500000 → 1600000",
        "  lines [M1] coefficient: 1.1333 → 1.1265",
        "  lines [M1] commission_minor: 196067 → 194880",
        "  lines [M1] profitability.score: 1.2000 → 1.1657",
        "  lines [M1] profitability.target_minor: 3400000 → 3500000",
        "  lines [O1] coefficient: 0.9599 → 0.9458",
        "  lines [O1] commission_minor: 137935 → 135907",
        "  lines [O1] profitability.score: 1.0933 → 1.0581",
        "  lines [O1] profitability.target_minor: 3000000 → 3100000",
    ]
    shown = CliRunner().invoke(app, ["settle", "show", MONTH, "--version", "1"])
    assert shown.exit_code == 0, shown.output
    assert "version 1 (draft)" in shown.output and first["inputs_sha256"] in shown.output
    assert "1,960.67" in shown.output and "Store KPIs" in shown.output        # M1's commission, yuan
    # issue 23 #3: for reading: no NaN, no 30-digit ratios, ratios as percentages, commission first (#4)
    assert "NaN" not in shown.output and not re.search(r"\d\.\d{5,}", shown.output), shown.output
    assert re.search(r"\d+\.\d%", shown.output)
    people_header = next(line for line in shown.output.splitlines() if "commission (yuan)" in line)
    assert people_header.index("commission (yuan)") < people_header.index("revenue")
    assert "1,948.8" in CliRunner().invoke(app, ["settle", "show", MONTH]).output  # newest: version 2
    missing = CliRunner().invoke(app, ["settle", "show", MONTH, "--version", "9"])
    assert missing.exit_code == 1 and "has no version 9 (there are 1, 2)" in missing.output


def test_missing_input_file_fails_with_the_file_named(settlement_env, tmp_path):
    from domain.settlement_inputs import SettlementInputError
    from flows.settlement import monthly_settlement

    folder = tmp_path / "inputs"
    folder.mkdir()
    for name in ("roster", "targets", "expenses", "cs_stats"):
        (folder / f"{name}.csv").write_bytes((DATA / f"{name}.csv").read_bytes())
    (folder / "cs_stats.csv").write_bytes((DATA / "cs_stats_bad.csv").read_bytes())
    with pytest.raises(SettlementInputError) as failure:
        monthly_settlement(month=MONTH, dry_run=True, inputs_dir=str(folder))
    assert "shop_channels.csv" in str(failure.value) and "missing" in str(failure.value)
    (folder / "shop_channels.csv").write_bytes((DATA / "shop_channels.csv").read_bytes())
    with pytest.raises(SettlementInputError) as failure:  # now a bad file: every row named
        monthly_settlement(month=MONTH, dry_run=True, inputs_dir=str(folder))
    assert "cs_stats.csv: row 3: the same month / person (2026-10 / C1) as row 2" in str(failure.value)
    assert "cs_stats.csv: row 5, column conversations" in str(failure.value)
    assert versions(settlement_env.warehouse_url) == []


def _settle(*args: str):
    from typer.testing import CliRunner

    from shopops.cli import app

    return CliRunner().invoke(app, ["settle", *args])


def test_correction_then_approval_on_the_terminal(settlement_env, tmp_path):
    """A run without a deployment (here, in-process) cannot suspend: it completes with the
    version awaiting approval and says which command decides it; `settle correct` / `settle
    approve` decide it, with the reviewer required and stored (issue 19 #1: no process waits)."""
    from flows.settlement import monthly_settlement

    url = settlement_env.warehouse_url
    # 1st run: asks, nobody waits in a process; the reviewer requests a correction
    first = monthly_settlement(month=MONTH, inputs_dir=str(DATA), return_state=True)
    assert first.is_completed(), first
    result = first.result()
    assert result["status"] == "awaiting_approval" and f"shopops settle approve {MONTH}" in result["decide_with"]
    no_reviewer = _settle("correct", MONTH, "--by", "  ", "--note", "C1 target is 60,000")
    assert no_reviewer.exit_code == 1 and "--by NAME" in no_reviewer.output
    no_note = _settle("correct", MONTH, "--by", "王芳")
    assert no_note.exit_code == 2 and "--note" in no_note.output, no_note.output
    corrected = _settle("correct", MONTH, "--by", "王芳", "--note", "C1 target is 60,000")
    assert corrected.exit_code == 0, corrected.output
    assert "Correction requested for settlement 2026-10 version 1: C1 target is 60,000" in corrected.output
    [disputed] = versions(url)
    assert disputed.status == "correction_requested" and "C1 target is 60,000" in disputed.note
    again = _settle("approve", MONTH, "--by", "王芳")  # nothing awaits approval now
    assert again.exit_code == 1 and "not awaiting approval" in again.output

    # 2nd run, same inputs: the same version is asked again (no duplicate), and approved
    second = monthly_settlement(month=MONTH, inputs_dir=str(DATA), return_state=True)
    run_id = str(second.state_details.flow_run_id)
    assert (second.result()["version"], second.result()["status"]) == (1, "awaiting_approval")
    approved = _settle("approve", MONTH, "--by", "王芳")
    assert approved.exit_code == 0, approved.output
    assert "Settlement 2026-10 version 1 is final (approved by 王芳)" in approved.output
    [final] = versions(url)
    assert (final.status, final.approved_by, final.flow_run_id) == ("final", "王芳", run_id)

    # 3rd run: already final with these inputs: said so, nothing stored, nobody asked
    third = monthly_settlement(month=MONTH, inputs_dir=str(DATA))
    assert (third["status"], third["created"], third["version"]) == ("final", False, 1)
    assert len(versions(url)) == 1
    summary = asyncio.run(_artifacts(f"settlement-{MONTH}"))
    assert any("already final" in a.data for a in summary)

    # the approved version cannot be changed: other inputs are refused, through the CLI and the repository
    from warehouse.repository import SettlementFinalError

    folder = copy_inputs(tmp_path / "later")
    (folder / "cs_stats.csv").write_text((DATA / "cs_stats.csv").read_text(encoding="utf-8").replace(
        "35.2%,60000.00", "35.2%,61000.00"), encoding="utf-8")
    refused = _settle(MONTH, "--inputs-dir", str(folder))
    assert refused.exit_code == 1
    assert "Settlement 2026-10 (seed_commission) version 1 is final" in refused.output
    assert "by 王芳" in refused.output and "cannot be changed" in refused.output and "--correct-final" in refused.output
    engine = make_engine(url)
    try:
        with pytest.raises(SettlementFinalError, match="cannot be changed"):
            repository.request_settlement_correction(engine, final.id, note="pay C1 more")
        assert repository.read_settlement_lines(engine, final.id)["commission_minor"].sum() == 196067 + 137935 + 326977
    finally:
        engine.dispose()
    assert [(v.version, v.status) for v in versions(url)] == [(1, "final")]
    # an explicit correction makes version 2 and leaves version 1 final until version 2 is approved
    corrected = _settle(MONTH, "--dry-run", "--correct-final", "--inputs-dir", str(folder))
    assert corrected.exit_code == 0, corrected.output
    assert [(v.version, v.status) for v in versions(url)] == [(2, "draft"), (1, "final")]


def test_a_second_run_of_the_same_inputs_makes_no_second_version(settlement_env):
    """A rerun while the version awaits approval reuses it (one version, one decision): the
    newest run is the one that asks."""
    from flows.settlement import monthly_settlement

    url = settlement_env.warehouse_url
    first = monthly_settlement(month=MONTH, inputs_dir=str(DATA), return_state=True)
    second = monthly_settlement(month=MONTH, inputs_dir=str(DATA), return_state=True)
    assert second.result()["created"] is False
    [waiting] = versions(url)
    assert (waiting.status, waiting.flow_run_id) == ("awaiting_approval", str(second.state_details.flow_run_id))
    assert waiting.flow_run_id != str(first.state_details.flow_run_id)
    assert _settle("approve", MONTH, "--by", "王芳").exit_code == 0
    assert [(v.version, v.status, v.approved_by) for v in versions(url)] == [(1, "final", "王芳")]


def test_cli_settle_month_show_and_diff_command_lines(settlement_env):
    from typer.testing import CliRunner

    from flows.settlement import previous_month
    from shopops.cli import app

    result = CliRunner().invoke(app, ["settle", MONTH, "--dry-run", "--inputs-dir", str(DATA)])
    assert result.exit_code == 0, result.output
    assert "2026-10 (seed_commission): version 1, draft." in result.output
    preset = CliRunner().invoke(app, ["settle", MONTH, "--preset", "plan_performance_pay", "--dry-run",
                                      "--inputs-dir", str(DATA)])
    assert preset.exit_code == 0 and "2026-10 (plan_performance_pay): version 1, draft." in preset.output
    show = CliRunner().invoke(app, ["settle", "show", MONTH, "--version", "1"])
    assert show.exit_code == 0 and "1,960.67" in show.output
    same = CliRunner().invoke(app, ["settle", "diff", MONTH, "1", "1"])
    assert same.exit_code == 0 and "0 difference(s)" in same.output
    bad = CliRunner().invoke(app, ["settle", "2026-13", "--dry-run"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
    # no month: the previous month, whose inputs folder does not exist here
    default = CliRunner().invoke(app, ["settle", "--dry-run"])
    expected = previous_month(datetime.now(timezone.utc), "Asia/Shanghai")
    assert default.exit_code == 1 and f"settlement/{expected}" in default.output and "does not exist" in default.output


# --- the wait, without Prefect ----------------------------------------------------------------

def test_approval_waits_until_the_15th_of_the_following_month_and_at_least_three_days():
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from flows.settlement import approval_timeout, previous_month

    shanghai = ZoneInfo("Asia/Shanghai")
    scheduled = datetime(2026, 11, 2, 2, 0, tzinfo=shanghai)   # the deployment's run for October
    assert previous_month(scheduled, "Asia/Shanghai") == "2026-10"
    assert previous_month(datetime(2026, 12, 31, 17, tzinfo=timezone.utc), "Asia/Shanghai") == "2026-12"  # Jan 1 +08
    week = dict(confirmation_day=15, min_window=timedelta(days=3))
    seconds, until = approval_timeout("2026-10", "Asia/Shanghai", scheduled, **week)
    assert until == datetime(2026, 11, 16, 0, 0, tzinfo=shanghai)
    assert seconds == int(timedelta(days=13, hours=22).total_seconds())
    late = datetime(2026, 11, 20, 9, tzinfo=shanghai)   # a correction after the deadline
    seconds, until = approval_timeout("2026-10", "Asia/Shanghai", late, **week)
    assert seconds == 3 * 24 * 3600 and until == late + timedelta(days=3)
    assert approval_timeout("2026-12", "Asia/Shanghai", datetime(2027, 1, 2, 2, tzinfo=shanghai), **week)[1] == \
        datetime(2027, 1, 16, tzinfo=shanghai)


# --- what is refused or flagged before anything is settled (issue 19 #17) -----------------------

def test_a_month_that_has_not_ended_is_refused(settlement_env):
    from typer.testing import CliRunner
    from zoneinfo import ZoneInfo

    from domain.settlement import SettlementError
    from flows.settlement import monthly_settlement
    from shopops.cli import app

    local = datetime.now(timezone.utc).astimezone(ZoneInfo("Asia/Shanghai"))
    current = f"{local.year:04d}-{local.month:02d}"
    with pytest.raises(SettlementError) as refused:
        monthly_settlement(month=current, dry_run=True, inputs_dir=str(DATA))
    assert f"{current} has not ended yet" in str(refused.value)
    result = CliRunner().invoke(app, ["settle", "2099-01", "--dry-run", "--inputs-dir", str(DATA)])
    assert result.exit_code == 1 and "2099-01 has not ended yet" in result.output
    assert "Traceback" not in result.output
    assert versions(settlement_env.warehouse_url) == []


def test_a_month_without_orders_is_refused_unless_the_user_says_so(settlement_env):
    from typer.testing import CliRunner

    from domain.settlement import SettlementError
    from flows.settlement import monthly_settlement
    from shopops.cli import app

    empty = "2026-11"                                           # the warehouse holds October only
    with pytest.raises(SettlementError) as refused:
        monthly_settlement(month=empty, dry_run=True, inputs_dir=str(DATA))
    assert f"no orders placed in {empty}" in str(refused.value) and "--allow-no-orders" in str(refused.value)
    cli = CliRunner().invoke(app, ["settle", empty, "--dry-run", "--inputs-dir", str(DATA)])
    assert cli.exit_code == 1 and f"no orders placed in {empty}" in cli.output

    allowed = CliRunner().invoke(app, ["settle", empty, "--dry-run", "--allow-no-orders", "--inputs-dir", str(DATA)])
    assert allowed.exit_code == 0, allowed.output
    assert f"{empty} (seed_commission): version 1, draft." in allowed.output


def test_revenue_of_a_shop_nobody_runs_is_flagged_in_the_statement_and_the_cli(settlement_env):
    from typer.testing import CliRunner

    from shopops.cli import app

    # the roster gives tmall and taobao-c to O1/O2; dist-1 sold 40,000 yuan net in October and nobody runs it
    result = CliRunner().invoke(app, ["settle", MONTH, "--dry-run", "--inputs-dir", str(DATA)])
    assert result.exit_code == 0, result.output
    warning = "dist-1: 40,000.00 yuan of revenue in 2026-10 is attributed to nobody on the roster"
    assert warning in result.output
    summary = max(asyncio.run(_artifacts(f"settlement-{MONTH}")), key=lambda a: a.created)   # this run's statement
    assert "Dry run" in summary.data and "Needs a person" in summary.data and warning in summary.data
