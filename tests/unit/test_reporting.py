"""The report writer: .xlsx files operations staff can open, artifact-safe records."""
from __future__ import annotations

import pandas as pd
import openpyxl

from tasks.reporting import records_for_artifact, write_xlsx


def test_records_for_artifact_turns_timestamps_into_iso_strings_and_caps_rows():
    frame = pd.DataFrame({
        "shop": ["a", "b", "c"],
        "at": pd.to_datetime(["2026-11-11 00:00", None, "2026-11-11 02:00"], utc=True),
        "orders": [1, None, 3],
    })
    records = records_for_artifact(frame, limit=2)
    assert records == [
        {"shop": "a", "at": "2026-11-11T00:00:00+00:00", "orders": 1.0},
        {"shop": "b", "at": None, "orders": None},
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
    assert str(book["orders"]["B2"].value) == "2026-11-11 01:00:00"
