"""The report writer: .xlsx files operations staff can open, artifact-safe records."""
from __future__ import annotations

import pandas as pd
import openpyxl

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

