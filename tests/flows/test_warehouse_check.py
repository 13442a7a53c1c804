"""check-warehouse on a real (test-harness) Prefect server: migrates, counts, reports."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import openpyxl
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.warehouse_check import check_warehouse


async def _artifacts(key: str):
    async with get_client() as client:
        return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))


def test_check_warehouse_migrates_counts_and_publishes(warehouse_env):
    counts = check_warehouse()

    assert (warehouse_env.data_dir / "warehouse.sqlite").exists()
    assert counts["orders"] == 0 and "order_lines" in counts and "settlements" in counts
    reports = list((warehouse_env.report_folder / "warehouse-check").glob("*.xlsx"))
    assert len(reports) == 1
    sheet = openpyxl.load_workbook(reports[0])["tables"]
    header = [cell.value for cell in sheet[1]]
    assert header == ["Table", "Rows"]  # SHOPOPS_LOCALE=en
    assert sheet.max_row - 1 == len(counts)

    summary = asyncio.run(_artifacts("warehouse-check"))
    assert summary and reports[0].name in summary[0].data
    table = asyncio.run(_artifacts("warehouse-check-tables"))
    assert table and "orders" in str(table[0].data)


def test_customer_service_followup_publishes_its_lists(warehouse_env):
    from flows.followup import customer_service_followup
    from warehouse import migrate

    migrate.upgrade(warehouse_env.warehouse_url)
    counts = customer_service_followup()
    assert counts == {"unshipped_from_yesterday": 0, "out_of_stock": 0, "deadline": 0, "abnormal_logistics": 0}
    book = openpyxl.load_workbook(next((warehouse_env.report_folder / "customer-service-followup").glob("*.xlsx")))
    assert book.sheetnames == ["unshipped", "out_of_stock", "deadline", "logistics"]
    summary = asyncio.run(_artifacts("customer-service-followup"))[0].data
    assert "paid yesterday, not yet shipped: **0**" in summary and "latest shipping-batches run" in summary


def test_check_warehouse_names_a_token_about_to_expire(warehouse_env, monkeypatch):
    """issue 18: the daily check names a shop whose access token ends within
    orders.token_expiry_warning_days (7), from its credentials' expires_at (constructed)."""
    import json
    from datetime import datetime, timedelta, timezone

    soon = (datetime.now(timezone.utc) + timedelta(days=2, hours=1)).replace(microsecond=0)
    monkeypatch.setenv("SHOPOPS_CRED_JD_POP", json.dumps({"app_key": "k", "app_secret": "s-secret",
                                                          "access_token": "t-token", "expires_at": soon.isoformat()}))
    check_warehouse()
    summary = max(asyncio.run(_artifacts("warehouse-check")), key=lambda a: a.created).data
    local = soon.astimezone(ZoneInfo("Asia/Shanghai"))   # the shop's clock (issue 23 #1)
    assert f"jd-pop: the access token expires on {local:%Y-%m-%d %H:%M} (2 day(s) left)" in summary, summary
    report = max((warehouse_env.report_folder / "warehouse-check").glob("*.xlsx"), key=lambda p: p.stat().st_mtime)
    rows = list(openpyxl.load_workbook(report)["tokens"].values)
    assert rows[0] == ("shop", "expires (Asia/Shanghai)", "days left") and ("jd-pop" in {r[0] for r in rows[1:]})


def test_the_report_in_the_default_language_opens_from_its_artifact_link(warehouse_env, monkeypatch):
    """issue 23 #5/#6: under zh_CN the workbook's sheets are Chinese and dressed for reading;
    with SHOPOPS_REPORTS_URL the artifact links to the reports server, which answers 200."""
    import re
    import threading

    import requests

    from config.settings import get_settings
    from shopops.reports_server import make_server

    server = make_server(warehouse_env.report_folder, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("SHOPOPS_LOCALE", "zh_CN")
        monkeypatch.setenv("SHOPOPS_REPORTS_URL", f"http://127.0.0.1:{server.server_address[1]}/reports")
        get_settings.cache_clear()
        check_warehouse()
        [report] = (warehouse_env.report_folder / "warehouse-check").glob("*.xlsx")
        book = openpyxl.load_workbook(report)
        assert book.sheetnames == ["数据表", "授权令牌"]
        sheet = book["数据表"]
        assert sheet["A1"].font.b and sheet.freeze_panes == "A2" and sheet.auto_filter.ref
        assert sheet.page_setup.fitToWidth == 1 and sheet.column_dimensions["A"].width > 0

        summary = max(asyncio.run(_artifacts("warehouse-check")), key=lambda a: a.created).data
        links = re.findall(r"\]\((http://[^)]+)\)", summary)
        assert links == [f"{get_settings().reports_url}/warehouse-check/{report.name}"], summary
        answer = requests.get(links[0], timeout=10)
        assert answer.status_code == 200 and answer.content == report.read_bytes()
    finally:
        server.shutdown()
        server.server_close()


def test_a_run_is_named_after_its_flow_and_beijing_start_time(warehouse_env):
    """Issue 23 #2: "check-warehouse 12-05 09:30" (Beijing time), not Prefect's random name."""
    before = datetime.now(timezone.utc)
    state = check_warehouse(return_state=True)

    async def run_name() -> str:
        async with get_client() as client:
            return (await client.read_flow_run(state.state_details.flow_run_id)).name

    name = asyncio.run(run_name())
    match = re.fullmatch(r"check-warehouse (\d{2}-\d{2} \d{2}:\d{2})", name)
    assert match, name
    local = before.astimezone(ZoneInfo("Asia/Shanghai"))
    assert match.group(1) in {f"{local:%m-%d %H:%M}", f"{local + timedelta(minutes=1):%m-%d %H:%M}"}
