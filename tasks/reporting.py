"""Every report is both a Prefect artifact (seen in the run's page of the UI) and an .xlsx
file operations staff can forward. Artifact tables are capped (large artifacts bloat the
server database); the full data is in the file, which the artifact links to.
"""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from config.settings import get_settings
from domain.timeutil import local_time
from shopops.i18n import display_zone, t, when

ARTIFACT_TABLE_MAX_ROWS = 200
#: a cell text starting with one of these is taken for a formula by a spreadsheet (OWASP
#: "CSV injection"): a buyer remark "=HYPERLINK(…)" must stay the text the buyer typed
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class PublishedReport:
    xlsx_path: Path
    artifact_key: str


def _artifact_key(text: str) -> str:
    """Prefect artifact keys allow lower-case letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")


def _is_time_column(series: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if not pd.api.types.is_object_dtype(series):
        return False
    values = series.dropna()
    return len(values) > 0 and all(isinstance(v, datetime) for v in values)


def _zone_header(column: object, zone: str) -> object:
    """A time column's header names the zone its times are in ("付款时间 (Asia/Shanghai)")."""
    if not isinstance(column, str) or zone in column:
        return column
    stripped = re.sub(r"\s*[(（]UTC[)）]", "", column)
    return f"{stripped} ({zone})"


def local_times(frame: pd.DataFrame, zone: str | None = None, as_text: bool = False) -> pd.DataFrame:
    """``frame`` with every time column in the shop's zone (issue 23 #1): naive local datetimes
    for a spreadsheet (Excel has no zones) or "2026-12-05 09:30" text; the header names the zone."""
    zone = zone or display_zone()
    out = frame.copy()
    renames = {}
    for column in out.columns:
        if not _is_time_column(out[column]):
            continue
        if as_text:
            out[column] = out[column].map(lambda v: when(v, zone) or None)
        else:
            out[column] = pd.to_datetime(out[column].map(
                lambda v: (lambda x: x.replace(tzinfo=None) if x is not None else None)(local_time(v, zone))))
        renames[column] = _zone_header(column, zone)
    return out.rename(columns=renames)


def act_first(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``frame`` with ``columns`` (those it has: what identifies a row, then the figure a person
    acts on) first and the rest, the statistics behind it, to their right (issue 23 #4)."""
    first = [c for c in columns if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]


def records_for_artifact(frame: pd.DataFrame, limit: int = ARTIFACT_TABLE_MAX_ROWS) -> list[dict]:
    """DataFrame → JSON-safe records; times as "2026-12-05 09:30" in the shop's zone (raw
    Timestamps fail to serialise), NaN as empty."""
    head = local_times(frame.head(limit), as_text=True)
    return head.astype(object).where(head.notna(), None).to_dict(orient="records")


def write_xlsx(tables: dict[str, pd.DataFrame], family: str, stamp: str | None = None) -> Path:
    """Write one sheet per table to ``<reports>/<family>/<family>-<stamp>.xlsx``."""
    folder = get_settings().report_folder / family
    folder.mkdir(parents=True, exist_ok=True)
    given = stamp is not None
    stamp = stamp or datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{family}-{stamp}.xlsx"
    if not given and path.exists():   # another run's report of the same second: never overwrite it
        path = folder / f"{family}-{stamp}-{uuid.uuid4().hex[:6]}.xlsx"
    # written aside under a name of its own, then renamed: a file under its name is whole (a
    # crash leaves no half report), and two runs writing at once never share the aside file
    partial = folder / f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial.xlsx"
    with pd.ExcelWriter(partial, engine="openpyxl") as writer:
        for sheet, frame in tables.items():
            out = local_times(frame)  # Excel cannot store time-zone-aware datetimes: local, zone in header
            out.to_excel(writer, sheet_name=sheet[:31], index=False)
            _cells_as_text(writer.sheets[sheet[:31]])
    partial.replace(path)
    return path


def _cells_as_text(worksheet) -> None:
    """Every text cell stays text: openpyxl stores a string starting with "=" as a formula,
    and Excel evaluates it when the file is opened. Such cells become strings again, and
    every text starting with a formula trigger gets Excel's quote prefix (shown as typed,
    never evaluated, even after the cell is edited). We write no formulas of our own."""
    for row in worksheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
            if cell.data_type == "s" and isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
                cell.quotePrefix = True


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` for a .csv a person opens in a spreadsheet: every text value starting with a
    formula trigger (= + - @ tab CR) gets a leading single quote (OWASP CSV-injection advice),
    so "=HYPERLINK(…)" is shown as text and not run. Numbers stay numbers."""
    def escaped(value):
        return "'" + value if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) else value

    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_object_dtype(out[column]) or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(escaped)
    return out.rename(columns=lambda c: escaped(c) if isinstance(c, str) else c)


@task(name="publish-report")
def publish_report(family: str, title: str, tables: dict[str, pd.DataFrame], summary_md: str = "") -> PublishedReport:
    """The .xlsx file, a markdown summary artifact linking to it, and a table artifact per table.

    ``family`` gives stable artifact keys (``<family>``, ``<family>-<table>``) so the Artifacts
    page keeps a version history per report family.
    """
    path = write_xlsx(tables, family)
    key = _artifact_key(family)
    lines = [f"# {title}", "", f"{t('generated_at')}: {when(datetime.now(timezone.utc))}", ""]
    if summary_md:
        lines += [summary_md, ""]
    lines.append(f"{t('report_file')}: [{path.name}]({path.as_uri()})")
    create_markdown_artifact(markdown="\n".join(lines), key=key, description=title)
    for name, frame in tables.items():
        create_table_artifact(
            table=records_for_artifact(frame), key=_artifact_key(f"{family}-{name}"),
            description=f"{title} — {name} ({len(frame)} rows; full table in {path.name})",
        )
    return PublishedReport(xlsx_path=path, artifact_key=key)
