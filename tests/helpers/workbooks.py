"""The workbook checker (issue 23, "Done when"): opens a report .xlsx as a person would and lists
what a person would miss in it. Each sheet: a name in the report's language (not a table's
code name), a bold filled header row, every column given a width that shows its heading, the
header frozen, an autofilter, printed one page wide with the header row repeated, a title and
date in the page header, and, where the report family's columns add up
(``tasks.reporting.REPORT_TOTALS``), a totals row that equals the sum of the rows above it.
"""
from __future__ import annotations

import re
from pathlib import Path

import openpyxl

from shopops.i18n import MESSAGES, _SHEETS
from tasks.reporting import REPORT_TOTALS, text_width

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COLUMN_WIDTH_MAX = 60


def _summed_headings(family: str, table: str, locale: str) -> set[str]:
    keys: list[str] = []
    for fam in (family, "*"):
        spec = REPORT_TOTALS.get(fam, {})
        keys += [*spec.get(table, ()), *spec.get("*", ())]
    return {MESSAGES[key].get(locale) or MESSAGES[key]["en"] for key in keys}


def workbook_problems(path: Path, locale: str, family: str | None = None) -> list[str]:
    """Everything wrong with ``path`` (a report of ``family``, by default its folder's name)
    read in ``locale``; an empty list when it is ready to read, filter, print and forward."""
    family = family or path.parent.name
    sheet_table = {(MESSAGES[f"sheet_{table}"].get(locale) or table): table for table in _SHEETS}
    total_label = MESSAGES["xlsx_total"].get(locale) or MESSAGES["xlsx_total"]["en"]
    problems: list[str] = []
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        where = f"{path.name} [{sheet.title}]"
        if locale != "en" and sheet.title in _SHEETS:
            problems.append(f"{where}: the sheet keeps its code name, not a {locale} one")
        header = [cell for cell in sheet[1] if cell.value is not None] if sheet.max_row else []
        if not header:
            continue
        if not all(cell.font.bold for cell in header):
            problems.append(f"{where}: header not bold")
        if not all(cell.fill.fill_type == "solid" for cell in header):
            problems.append(f"{where}: header not filled")
        for cell in header:
            # asked for a column it does not have, openpyxl makes one 13 wide: ask first
            set_ = cell.column_letter in sheet.column_dimensions
            width = sheet.column_dimensions[cell.column_letter].width if set_ else None
            if not width or width < min(text_width(cell.value), _COLUMN_WIDTH_MAX):
                problems.append(f"{where}: column {cell.column_letter} ({cell.value}) width {width} hides its heading")
        if sheet.freeze_panes != "A2":
            problems.append(f"{where}: header not frozen ({sheet.freeze_panes})")
        if not (sheet.auto_filter.ref or "").startswith("A1:"):
            problems.append(f"{where}: no autofilter")
        setup = sheet.page_setup
        if not (sheet.sheet_properties.pageSetUpPr and sheet.sheet_properties.pageSetUpPr.fitToPage
                and int(setup.fitToWidth or 0) == 1 and int(setup.fitToHeight or 0) == 0):
            problems.append(f"{where}: not printed one page wide (fitToWidth {setup.fitToWidth}, fitToHeight {setup.fitToHeight})")
        if str(sheet.print_title_rows or "").replace("$", "") != "1:1":
            problems.append(f"{where}: the header row is not repeated on printed pages")
        if not _DATE.search(sheet.oddHeader.center.text or ""):
            problems.append(f"{where}: no title and date in the page header ({sheet.oddHeader.center.text!r})")
        problems += _totals_problems(sheet, where, [c.value for c in header],
                                     _summed_headings(family, sheet_table.get(sheet.title, sheet.title), locale),
                                     total_label)
    return problems


def _totals_problems(sheet, where: str, headings: list, summed: set[str], total_label: str) -> list[str]:
    columns = [index for index, heading in enumerate(headings, start=1) if heading in summed]
    if not columns or sheet.max_row < 2:
        return []
    last = sheet.max_row
    if 1 not in columns and sheet.cell(row=last, column=1).value != total_label:
        return [f"{where}: no totals row under {[headings[i - 1] for i in columns]}"]
    problems = []
    for index in columns:
        above = [sheet.cell(row=row, column=index).value for row in range(2, last)]
        expected = sum(float(v) for v in above if isinstance(v, (int, float)))
        shown = sheet.cell(row=last, column=index).value
        if not isinstance(shown, (int, float)) or abs(float(shown) - expected) > 1e-6:
            problems.append(f"{where}: the total of {headings[index - 1]} is {shown!r}, the rows add up to {expected}")
    return problems
