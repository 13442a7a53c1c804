"""Every report is both a Prefect artifact (seen in the run's page of the UI) and an .xlsx
file operations staff can forward. Artifact tables are capped (large artifacts bloat the
server database); the full data is in the file, which the artifact links to.
"""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from unicodedata import east_asian_width
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pandas as pd
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from config.settings import get_settings
from domain.timeutil import local_time
from shopops.i18n import MESSAGES, display_zone, t, when

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


#: per report family (``"*"``: any family), per table (``"*"``: every sheet), the columns that
#: add up and get a totals row, named by the message key of their heading (tasks/flows rename
#: their columns with ``t(key)``). Only these are summed: a column is never guessed to add up.
REPORT_TOTALS: dict[str, dict[str, tuple[str, ...]]] = {
    "purchase-suggestions": {"*": ("rs_suggested_qty",)},
    "restock-alerts": {"suggestions": ("rs_suggested_qty",)},
    "shipping-batches": {"batches": ("ship_orders", "ship_units"), "held_by_reason": ("ship_orders",),
                         "missing_gifts": ("ship_missing_units",), "pick-list": ("ship_units",)},
}
#: an Excel sheet name: at most 31 characters, none of these
_SHEET_NAME_MAX = 31
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
#: columns wider than this many characters wrap nothing and are cut at this width
_COLUMN_WIDTH_MAX = 60
#: rows read to fit a column's width (a long sheet's first rows give its shape)
_WIDTH_SAMPLE_ROWS = 2000
#: a sheet printed landscape once its columns are wider than this (characters) in all
_PORTRAIT_WIDTH_MAX = 100
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill(fill_type="solid", start_color="FFD9E1F2", end_color="FFD9E1F2")
#: a dated report of the day (``<family>-YYYY-MM-DD.xlsx``) and the per-run names used before it
_DATED = r"(\d{4}-\d{2}-\d{2}|\d{8}T\d{6}Z(-[0-9a-f]{6})?)"


def sheet_title(table: str) -> str:
    """The sheet name of ``table`` in the configured locale (``sheet_<table>`` in the i18n
    catalogue; a table without an entry, a supplier's name, is its own name), Excel-safe."""
    key = f"sheet_{table}"
    name = t(key) if key in MESSAGES else table
    return _SHEET_NAME_BAD.sub("_", name)[:_SHEET_NAME_MAX] or "_"


def text_width(value: object) -> int:
    """Characters a cell shows, a wide (CJK) character counting as two."""
    return sum(2 if east_asian_width(ch) in "WF" else 1 for ch in str(value))


def report_zone() -> ZoneInfo:
    """The operations zone (rules.yaml orders.default_timezone): a report's day and date."""
    from config.schema import ConfigError, load_config

    try:
        return ZoneInfo(load_config().rules.orders.default_timezone)
    except ConfigError:   # a broken configuration is reported by the flow; the report still gets a date
        return ZoneInfo("Asia/Shanghai")


def totals_columns(family: str, table: str) -> tuple[str, ...]:
    """The headings (current locale) of ``family``'s ``table`` that get a total (REPORT_TOTALS)."""
    keys: list[str] = []
    for fam in (family, "*"):
        spec = REPORT_TOTALS.get(fam, {})
        keys += [*spec.get(table, ()), *spec.get("*", ())]
    return tuple(dict.fromkeys(t(key) for key in keys))


def write_xlsx(tables: dict[str, pd.DataFrame], family: str, stamp: str | None = None,
               title: str | None = None, edition: str | None = None) -> Path:
    """Write one sheet per table to ``<reports>/<family>/<family>-<stamp>.xlsx``.

    Without ``stamp`` it is the report of the day, ``<family>-YYYY-MM-DD.xlsx`` (the operations
    zone's date; ``<family>-<edition>-YYYY-MM-DD.xlsx`` for a document with editions, such as a
    settlement's versions): a later run of the day replaces it, and dated reports of the family older than
    ``SHOPOPS_REPORT_RETENTION_DAYS`` are deleted. Each sheet is ready to read and print (see
    :func:`_dress`)."""
    folder = get_settings().report_folder / family
    folder.mkdir(parents=True, exist_ok=True)
    zone = report_zone()
    now = datetime.now(zone)
    if stamp is None:
        stamp = f"{edition}-{now.date().isoformat()}" if edition else now.date().isoformat()
        _prune(folder, family, get_settings().report_retention_days)
    path = folder / f"{family}-{stamp}.xlsx"
    # written aside under a name of its own, then renamed: a file under its name is whole (a
    # crash leaves no half report), and two runs writing at once never share the aside file
    partial = folder / f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial.xlsx"
    heading = f"{title or family} — {t('generated_at')}: {now:%Y-%m-%d %H:%M}"
    with pd.ExcelWriter(partial, engine="openpyxl") as writer:
        used: set[str] = set()
        for table, frame in tables.items():
            sheet = sheet_title(table)
            while sheet in used:   # two tables with one localised name: keep both sheets
                sheet = f"{sheet[:_SHEET_NAME_MAX - 2]}_{len(used)}"
            used.add(sheet)
            out = local_times(frame)  # Excel cannot store time-zone-aware datetimes: local, zone in header
            out.to_excel(writer, sheet_name=sheet, index=False)
            worksheet = writer.sheets[sheet]
            _cells_as_text(worksheet)
            _dress(worksheet, out, totals_columns(family, table), heading)
        writer.book.properties.title = title or family
        writer.book.properties.created = now.astimezone(timezone.utc).replace(tzinfo=None)
    partial.replace(path)
    return path


def _dress(worksheet, frame: pd.DataFrame, totals: tuple[str, ...], heading: str) -> None:
    """A sheet a person can read, filter and print: bold filled header, columns as wide as their
    content, header frozen, autofilter, a totals row under the columns of ``totals``, printed one
    page wide (landscape when wide) with the header repeated, the title and date in the page
    header and page numbers in the footer."""
    if not len(frame.columns):
        return
    last_row = len(frame) + 1
    last_col = get_column_letter(len(frame.columns))
    widths = []
    for index, column in enumerate(frame.columns, start=1):
        sample = frame[column].head(_WIDTH_SAMPLE_ROWS).dropna()
        width = max([text_width(column), *(text_width(v) for v in sample)])
        widths.append(min(max(width + 2, 6), _COLUMN_WIDTH_MAX))
        worksheet.column_dimensions[get_column_letter(index)].width = widths[-1]
    for cell in worksheet[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    worksheet.freeze_panes = "A2"
    worksheet.auto_filter.ref = f"A1:{last_col}{last_row}"
    summed = [c for c in frame.columns if c in totals]
    if summed and len(frame):
        row = last_row + 1
        for index, column in enumerate(frame.columns, start=1):
            if column in summed:
                value = pd.to_numeric(frame[column], errors="coerce").sum()
                worksheet.cell(row=row, column=index, value=value.item() if hasattr(value, "item") else value)
            elif index == 1:
                worksheet.cell(row=row, column=index, value=t("xlsx_total"))
            worksheet.cell(row=row, column=index).font = HEADER_FONT
    setup = worksheet.page_setup
    setup.orientation = "landscape" if sum(widths) > _PORTRAIT_WIDTH_MAX else "portrait"
    setup.paperSize = worksheet.PAPERSIZE_A4
    setup.fitToWidth, setup.fitToHeight = 1, 0    # one page wide, as many pages long as it takes
    worksheet.sheet_properties.pageSetUpPr.fitToPage = True
    worksheet.print_title_rows = "1:1"
    worksheet.oddHeader.center.text = heading.replace("&", "&&")
    worksheet.oddFooter.center.text = t("xlsx_page")


#: the dressing of every workbook a person gets (reports, and the input templates of tasks/templates.py)
dress_sheet = _dress


def _prune(folder: Path, family: str, days: int) -> list[Path]:
    """Delete ``family``'s dated reports (and aside files left by a crash) last written more
    than ``days`` days ago; ``days == 0`` keeps everything. Other files in the folder (a
    batch's papers) are never touched."""
    if days <= 0:
        return []
    cutoff = datetime.now(timezone.utc).timestamp() - days * 86400
    pattern = re.compile(rf"\.?{re.escape(family)}-([A-Za-z0-9_]+-)?{_DATED}(\..*\.partial)?\.xlsx")
    gone = []
    for path in folder.iterdir():
        if pattern.fullmatch(path.name) and path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            gone.append(path)
    return gone


def report_link(path: Path) -> str:
    """The address of a report file for a link: under ``SHOPOPS_REPORTS_URL`` (the read-only
    reports server, shopops/reports_server.py) when set, else its ``file://`` URI, which only
    the server machine opens (the artifact then says so: ``report_link_local``)."""
    settings = get_settings()
    if not settings.reports_url:
        return path.as_uri()
    relative = path.resolve().relative_to(settings.report_folder.resolve())
    return f"{settings.reports_url}/{quote(relative.as_posix())}"


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
def publish_report(family: str, title: str, tables: dict[str, pd.DataFrame], summary_md: str = "",
                   edition: str | None = None, as_of: date | None = None) -> PublishedReport:
    """The .xlsx file, a markdown summary artifact linking to it, and a table artifact per table.

    ``family`` gives stable artifact keys (``<family>``, ``<family>-<table>``) so the Artifacts
    page keeps a version history per report family. The file is the report of the day (see
    :func:`write_xlsx`; ``edition`` keeps a document's editions apart); a run recomputed for a
    past day (``as_of``, shopops/as_of.py) writes ``<family>-asof-<day>.xlsx`` beside that day's
    own report, never over it.
    """
    stamp = f"asof-{as_of.isoformat()}" if as_of else None
    path = write_xlsx(tables, family, stamp=stamp, title=title, edition=edition)
    key = _artifact_key(family)
    lines = [f"# {title}", "", f"{t('generated_at')}: {when(datetime.now(timezone.utc))}", ""]
    if summary_md:
        lines += [summary_md, ""]
    lines.append(f"{t('report_file')}: [{path.name}]({report_link(path)})")
    if not get_settings().reports_url:
        lines.append(f"\n_{t('report_link_local')}_")
    create_markdown_artifact(markdown="\n".join(lines), key=key, description=title)
    for name, frame in tables.items():
        create_table_artifact(
            table=records_for_artifact(frame), key=_artifact_key(f"{family}-{name}"),
            description=t("report_table_description", title=title, table=sheet_title(name).replace("_", " "),
                          rows=len(frame),
                          file=path.name),
        )
    return PublishedReport(xlsx_path=path, artifact_key=key)
