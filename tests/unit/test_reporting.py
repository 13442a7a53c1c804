"""The report writer: .xlsx files operations staff can open, artifact-safe records."""
from __future__ import annotations

import http.client
import re
import threading
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from tasks.reporting import records_for_artifact, write_xlsx


def test_records_for_artifact_shows_times_in_the_shops_zone_and_caps_rows():
    frame = pd.DataFrame({
        "shop": ["a", "b", "c"],
        "at": pd.to_datetime(["2026-11-11 00:00", None, "2026-11-11 02:00"], utc=True),
        "orders": [1, None, 3],
    })
    records = records_for_artifact(frame, limit=2)
    assert records == [
        {"shop": "a", "at (Asia/Shanghai)": "2026-11-11 08:00", "orders": 1.0},
        {"shop": "b", "at (Asia/Shanghai)": None, "orders": None},
    ]


def test_write_xlsx_one_sheet_per_table_with_aware_times(tmp_path, monkeypatch):
    from config.settings import get_settings

    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        path = write_xlsx({
            "orders": pd.DataFrame({"id": ["227668460417201790"], "at": pd.to_datetime(["2026-11-11 01:00"], utc=True)}),
            "empty": pd.DataFrame({"x": []}),
        }, family="unit", stamp="s1")
    finally:
        get_settings.cache_clear()
    assert path == tmp_path / "reports" / "unit" / "unit-s1.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["orders", "empty"]
    assert book["orders"]["A2"].value == "227668460417201790"  # 64-bit ids stay text
    # Excel has no zones: the naive local (Beijing) time, the header names the zone (issue 23 #1)
    assert str(book["orders"]["B2"].value) == "2026-11-11 09:00:00"
    assert book["orders"]["B1"].value == "at (Asia/Shanghai)"


# --- issue 23 #5: a workbook staff can read, filter, print and forward -----------------------

@pytest.fixture
def reports_env(tmp_path, monkeypatch):
    """Settings on a tmp data folder, zh_CN (the default locale), no reports URL."""
    from config.settings import get_settings

    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOPOPS_LOCALE", "zh_CN")
    monkeypatch.delenv("SHOPOPS_REPORTS_URL", raising=False)
    monkeypatch.delenv("SHOPOPS_REPORT_RETENTION_DAYS", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _suggestions() -> pd.DataFrame:
    """A purchase suggestion as flows/stock.py renames it (headings t("rs_<column>")), 13 columns
    wide like the real sheet (constructed)."""
    from shopops.i18n import t

    frame = pd.DataFrame({
        "sku": ["SHOE-BLK-42", "TEE-WHT-M"], "name": ["黑色跑步鞋 42码", "white tee"],
        "suggested_qty": [120, 36], "case_pack": [6, 12], "moq": [60, 12], "lead_time_days": [14, 7],
        "level": ["critical", "warning"], "available": [3, 20], "in_transit": [0, 0],
        "daily_demand": [8.5, 2.0], "cover_days": [0.4, 10.0], "reason": ["cover 0.4 d < lead 14 d", "x"],
    })
    return frame.rename(columns={c: t(f"rs_{c}") for c in frame.columns})


def test_every_sheet_is_localised_styled_fitted_frozen_filtered_printable_and_totalled(reports_env):
    path = write_xlsx({"suggestions": _suggestions(), "pushes": pd.DataFrame({"shop": ["tmall"]})},
                      family="restock-alerts", title="补货提醒 2026-12-05")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["补货建议", "推送记录"]              # SHOPOPS_LOCALE zh_CN, via the catalogue
    sheet = book["补货建议"]
    header = [c.value for c in sheet[1]]
    assert all(c.font.b for c in sheet[1]) and sheet["A1"].fill.fill_type == "solid"
    widths = {c: sheet.column_dimensions[c].width for c in "ABC"}
    # "黑色跑步鞋 42码": 6 wide characters count double + 3 narrow = 15 → 17 with the margin
    assert widths["B"] == 17 and widths["A"] == len("SHOE-BLK-42") + 2
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(header))}3"   # header and data, not the totals
    setup = sheet.page_setup
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and (setup.fitToWidth, setup.fitToHeight) == (1, 0)
    assert setup.orientation == "landscape"                                 # 12 columns: wider than a portrait page
    assert book["推送记录"].page_setup.orientation == "portrait"
    assert "补货提醒 2026-12-05" in sheet.oddHeader.center.text and "生成时间" in sheet.oddHeader.center.text
    assert sheet.print_title_rows == "$1:$1"
    # the totals row: suggested quantities add up (REPORT_TOTALS), nothing else is summed
    totals = [c.value for c in sheet[4]]
    assert totals[0] == "合计" and totals[header.index("建议采购量")] == 156
    assert totals[header.index("箱规")] is None and totals[header.index("日均需求 d")] is None
    assert book["推送记录"].max_row == 2                                      # no column of it adds up


def test_one_report_per_family_and_day_replaced_by_later_runs_and_old_ones_deleted(reports_env, monkeypatch):
    import os
    import time

    folder = reports_env.report_folder / "pull-orders"
    folder.mkdir(parents=True)
    old = folder / "pull-orders-2026-01-02.xlsx"
    legacy = folder / "pull-orders-20260102T101010Z.xlsx"
    paper = folder / "pull-orders-some-batch-pick-list.xlsx"       # not a dated report: never pruned
    recent = folder / "pull-orders-2026-12-01.xlsx"
    for file in (old, legacy, paper, recent):
        file.write_bytes(b"x")
    for file in (old, legacy, paper):
        os.utime(file, (time.time() - 91 * 86400,) * 2)
    first = write_xlsx({"shops": pd.DataFrame({"shop": ["a"]})}, family="pull-orders")
    second = write_xlsx({"shops": pd.DataFrame({"shop": ["b"]})}, family="pull-orders")
    assert first == second and re.fullmatch(r"pull-orders-\d{4}-\d{2}-\d{2}\.xlsx", first.name)
    assert openpyxl.load_workbook(second).active["A2"].value == "b"        # the later run's figures
    assert sorted(p.name for p in folder.iterdir()) == sorted([first.name, paper.name, recent.name])

    monkeypatch.setenv("SHOPOPS_REPORT_RETENTION_DAYS", "0")               # 0 keeps everything
    from config.settings import get_settings
    get_settings.cache_clear()
    os.utime(recent, (time.time() - 400 * 86400,) * 2)
    write_xlsx({"shops": pd.DataFrame({"shop": ["c"]})}, family="pull-orders")
    assert recent.exists()


def test_a_settlement_version_keeps_its_own_file(reports_env):
    v1 = write_xlsx({"people": pd.DataFrame({"x": [1]})}, family="settlement-2026-11", edition="v1")
    v2 = write_xlsx({"people": pd.DataFrame({"x": [2]})}, family="settlement-2026-11", edition="v2")
    assert v1 != v2 and v1.exists() and v1.name.startswith("settlement-2026-11-v1-")


# --- issue 23 #6: links that open -----------------------------------------------------------

def _published_summary(monkeypatch) -> tuple[str, Path]:
    """publish_report's markdown artifact (the Prefect call captured: plain function, no server)."""
    import tasks.reporting as reporting

    captured = {}
    monkeypatch.setattr(reporting, "create_markdown_artifact", lambda markdown, **_: captured.update(md=markdown))
    monkeypatch.setattr(reporting, "create_table_artifact", lambda **_: None)
    report = reporting.publish_report.fn("warehouse-check", "仓库检查", {"tables": pd.DataFrame({"t": ["orders"]})})
    return captured["md"], report.xlsx_path


def test_a_published_report_links_to_the_reports_server_when_its_url_is_set(reports_env, monkeypatch):
    from config.settings import get_settings

    monkeypatch.setenv("SHOPOPS_REPORTS_URL", "http://127.0.0.1:8767/reports/")
    get_settings.cache_clear()
    summary, path = _published_summary(monkeypatch)
    assert f"](http://127.0.0.1:8767/reports/warehouse-check/{path.name})" in summary
    assert "file://" not in summary and "SHOPOPS_REPORTS_URL" not in summary


def test_without_a_reports_url_the_link_is_file_and_the_artifact_says_how_to_fix_it(reports_env, monkeypatch):
    summary, path = _published_summary(monkeypatch)
    assert f"]({path.as_uri()})" in summary and "SHOPOPS_REPORTS_URL" in summary


@pytest.fixture
def reports_server(tmp_path):
    """The reports server on a free port over tmp/reports (one family, one file; a secret beside it)."""
    from shopops.reports_server import make_server

    (tmp_path / "reports" / "pull-orders").mkdir(parents=True)
    (tmp_path / "reports" / "pull-orders" / "pull-orders-2026-12-05.xlsx").write_bytes(b"PK-report")
    (tmp_path / "reports" / "pull-orders" / ".pull-orders-2026-12-05.1-ab.partial.xlsx").write_bytes(b"half")
    (tmp_path / "secret.txt").write_text("outside")
    server = make_server(tmp_path / "reports", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    """A raw request: the path is sent as written (no client-side ``..`` normalising)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_the_reports_server_serves_a_report_and_nothing_else(reports_server):
    status, body = _get(reports_server, "/reports/pull-orders/pull-orders-2026-12-05.xlsx")
    assert (status, body) == (200, b"PK-report")
    for path in ("/reports/../secret.txt", "/reports/pull-orders/../../secret.txt", "/reports/%2e%2e/secret.txt",
                 "/reports/pull-orders/%2E%2E%2F%2E%2E%2Fsecret.txt", "/secret.txt", "/reports//etc/passwd"):
        status, body = _get(reports_server, path)
        assert status in (403, 404) and b"outside" not in body, path
    for folder in ("/reports/", "/reports/pull-orders/", "/reports", "/"):               # no listing
        status, body = _get(reports_server, folder)
        assert status == 404 and b"pull-orders-2026" not in body, folder
    assert _get(reports_server, "/reports/pull-orders/.pull-orders-2026-12-05.1-ab.partial.xlsx")[0] == 404
    assert _get(reports_server, "/reports/pull-orders/pull-orders-2026-12-05.xlsx", "DELETE")[0] == 405


def test_published_summary_shows_local_minutes_not_utc(tmp_path, monkeypatch):
    """Issue 23 #1: 生成时间 is the shop's clock, "YYYY-MM-DD HH:MM", no "UTC", no microseconds."""
    import re
    from datetime import datetime, timezone

    from config.settings import get_settings
    import tasks.reporting as reporting

    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOPOPS_LOCALE", "zh_CN")
    get_settings.cache_clear()
    shown: list[str] = []
    monkeypatch.setattr(reporting, "create_markdown_artifact", lambda markdown, **_: shown.append(markdown))
    monkeypatch.setattr(reporting, "create_table_artifact", lambda **_: None)
    try:
        before = datetime.now(timezone.utc)
        reporting.publish_report.fn(family="unit", title="报告", tables={"t": pd.DataFrame({"x": [1]})},
                                    summary_md="ok")
    finally:
        get_settings.cache_clear()
    text = shown[0]
    assert "UTC" not in text
    stamp = re.search(r"生成时间: (\S+ \S+)", text).group(1)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", stamp), stamp
    from zoneinfo import ZoneInfo
    local = datetime.strptime(stamp, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert abs((local - before).total_seconds()) < 120   # Beijing time, not UTC



def test_the_workbook_checker_passes_a_dressed_report_and_names_what_a_bare_one_lacks(reports_env):
    """The checker the demo test runs over every .xlsx (tests/helpers/workbooks.py) is not
    vacuous: our writer's file passes it, a bare pandas export fails it on every count."""
    from tests.helpers.workbooks import workbook_problems

    dressed = write_xlsx({"suggestions": _suggestions()}, family="restock-alerts", title="补货提醒")
    assert workbook_problems(dressed, "zh_CN") == []
    bare = dressed.parent / "bare.xlsx"
    _suggestions().to_excel(bare, sheet_name="suggestions", index=False)
    found = "\n".join(workbook_problems(bare, "zh_CN", family="restock-alerts"))
    for lack in ("code name", "not bold", "not filled", "hides its heading", "not frozen", "no autofilter",
                 "one page wide", "not repeated", "no title and date", "no totals row"):
        assert lack in found, found
    # a totals row that does not add up is named
    book = openpyxl.load_workbook(dressed)
    book.worksheets[0]["C4"] = 1
    book.save(dressed)
    assert any("rows add up to 156" in p for p in workbook_problems(dressed, "zh_CN")), workbook_problems(dressed, "zh_CN")


def test_the_reports_server_asks_for_the_prefect_uis_login_when_one_is_set(tmp_path):
    """Issue 23 #6: exposed to a team, the report links ask for the same login as the UI
    (PREFECT_SERVER_API_AUTH_STRING); without one it does not leave loopback."""
    import base64

    from shopops.reports_server import ExposedWithoutLogin, make_server

    (tmp_path / "reports" / "pull-orders").mkdir(parents=True)
    (tmp_path / "reports" / "pull-orders" / "pull-orders-2026-12-05.xlsx").write_bytes(b"PK-report")
    with pytest.raises(ExposedWithoutLogin, match="PREFECT_SERVER_API_AUTH_STRING"):
        make_server(tmp_path / "reports", host="0.0.0.0", port=0)
    server = make_server(tmp_path / "reports", port=0, auth="ops:s3cret")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port, path = server.server_address[1], "/reports/pull-orders/pull-orders-2026-12-05.xlsx"
    try:
        def get(header: str | None) -> tuple[int, str | None, bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers={"Authorization": header} if header else {})
            answer = conn.getresponse()
            return answer.status, answer.getheader("WWW-Authenticate"), answer.read()

        status, challenge, _ = get(None)
        assert status == 401 and challenge.startswith("Basic ")
        assert get("Basic " + base64.b64encode(b"ops:wrong").decode())[0] == 401
        assert get("Basic " + base64.b64encode(b"ops:s3cret").decode())[::2] == (200, b"PK-report")
        assert _get(port, "/_health")[0] == 200       # the demo's readiness check needs no login
    finally:
        server.shutdown()
        server.server_close()
