"""The one reader of the files a department keeps (issue 23 #9): staff roster, targets, expenses,
customer-service stats, shop channels and stats, warehouse counts, the SKU catalogue, purchase
orders and their receipts. Every loader declares its columns (:class:`Column`) and reads through
:func:`read_records`, so every file is read the same way:

* ``.xlsx`` (one sheet with data; a workbook with data on several sheets is refused, as only one
  would be read) or ``.csv`` in UTF-8, UTF-8 with BOM or GBK/GB18030 (what Chinese Excel saves).
* The first row is the header. A column is found by its English name or its Chinese heading
  (what ``shopops templates`` writes under ``zh_CN``), case, spaces and full-width brackets
  aside; unknown columns are ignored (exports carry many). Empty rows are skipped.
* Values as people type them: dates ``2025-01-01``, ``2025/01/01``, ``2025.1.1`` or
  ``2025年1月1日`` (or an Excel date cell); months ``2025-01``, ``2025/01`` or ``2025年1月``;
  money ``1200``, ``1,200.00``, ``¥1,200.00`` or ``1200元`` (yuan, at most 2 decimals, to integer
  fen through Decimal); choices by their English value or a Chinese name (``客服``).
* Ambiguous numbers are refused, never guessed: ``12,00`` (a decimal comma, or a thousands
  separator in the wrong place?) and ``1e5`` (Excel's scientific notation of a long code).
* Every problem names the file, the row (as Excel numbers it: the header is row 1) and the
  column (its heading as the file writes it); a file with problems is refused whole
  (:class:`InputFileError` lists them all), so the loaders store all rows or none.
* Every reason is a :class:`Reason`: a message key and its values, so the layer that shows it
  renders it in the person's language (``shopops.i18n``, ``SHOPOPS_LOCALE``); this module only
  knows the English (:data:`REASONS`, its ``str()``), as ``domain`` imports no catalogue.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd

from domain.money import MoneyError, major_to_minor

#: text encodings tried in order: UTF-8 (with or without BOM), then GB18030 (a superset of GBK)
CSV_ENCODINGS = ("utf-8-sig", "gb18030")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_GROUPED_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_MONEY_MARKS = re.compile(r"^(¥|RMB|CNY)\s*|\s*(元|RMB|CNY)$", re.IGNORECASE)
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(\s+0{1,2}:00(:00)?)?$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


#: the English of every reason this module (and domain.settlement_inputs) gives; the same keys,
#: with their Chinese, are in shopops/i18n.py (a test keeps the two English texts equal)
REASONS: dict[str, str] = {
    "in_at_file": "{file}: {reason}",
    "in_at_row": "{file}: row {row}: {reason}",
    "in_at_cell": "{file}: row {row}, column {column}: {reason}",
    "in_file_problems": "The file has {n} problem(s):",
    "in_file_fix": "Correct the named rows and load the file again; nothing was stored.",
    "in_empty": "is empty",
    "in_not_number": "{value!r} is not a number",
    "in_decimal_comma": "{value!r} is ambiguous: a comma is a thousands separator only between groups of three "
                        "digits (1,200.00); write a decimal point for decimals (12.00)",
    "in_scientific": "{value!r} is ambiguous: scientific notation (Excel's way of showing a long number); write the "
                     "number in full, or format the cells as text",
    "in_not_count": "{value!r} is not a whole number of 0 or more",
    "in_not_positive_count": "{value!r} must be 1 or more",
    "in_money_cents": "{value!r} has more than 2 decimals (yuan with at most 2 decimals)",
    "in_money_negative": "{value} must be 0 or more",
    "in_money_not_above_zero": "{value} must be above 0",
    "in_not_date": "{value!r} is not a date written YYYY-MM-DD (or YYYY/MM/DD)",
    "in_date_not_month": "{value} is a date, expected a month as YYYY-MM",
    "in_not_month": "{value!r} is not a month written YYYY-MM (e.g. 2026-10)",
    "in_not_one_of": "{value!r} is not one of {known}",
    "in_not_rate": "{value!r} is not a rate between 0 and 1 (or 0 % and 100 %)",
    "in_no_column": "no column {name!r} ({chinese}) in the header",
    "in_unreadable": "cannot read the file ({error})",
    "in_file_type": "unsupported file type '{suffix}'; use .csv or .xlsx",
    "in_file_empty": "the file is empty (expected a header row)",
    "in_extra_fields": "{fields} fields, the header has {header}; check the commas of that row",
    "in_not_workbook": "not a readable Excel workbook ({error}); open it in Excel and save it again as .xlsx, or "
                       "export it as .csv",
    "in_many_sheets": "the workbook has {n} sheets with data ({sheets}); only one is read: put every row on one "
                      "sheet, or save each sheet as its own file",
    "in_not_text": "not text in UTF-8 or GBK (byte 0x{byte:02x} at position {at}); save the file as CSV UTF-8",
    "in_duplicate": "the same {what} ({value}) as row {row}",
    "in_no_rows": "has a header but no rows",
}


def english(key: str, **values: object) -> str:
    """The English of reason ``key`` (a translate function: see :meth:`Reason.render`)."""
    return REASONS[key].format(**values)


class Reason(ValueError):
    """Why a value or a row is refused, for a person: a message ``key`` and its ``values``.

    ``str()`` is the English (``english``, default :data:`REASONS` of ``key``); the layer that
    shows it calls :meth:`render` with its catalogue's translate function (``shopops.i18n``).
    A ValueError, so the callers of the value parsers keep catching ValueError."""

    def __init__(self, key: str, english_text: str | None = None, **values: object):
        self.key, self.values = key, values
        super().__init__((english_text if english_text is not None else REASONS[key]).format(**values))

    def render(self, translate: Callable[..., str] | None = None) -> str:
        """This reason in the language of ``translate(key, **values)`` (values that are reasons
        themselves rendered first); English without one."""
        if translate is None:
            return str(self)
        return translate(self.key, **{k: v.render(translate) if isinstance(v, Reason) else v
                                      for k, v in self.values.items()})


def render(reason: object, translate: Callable[..., str] | None = None) -> str:
    """A :class:`Reason` rendered through ``translate``; anything else as its ``str()``."""
    return reason.render(translate) if isinstance(reason, Reason) else str(reason)


@dataclass(frozen=True)
class InputProblem:
    file: str
    row: int | None          # as Excel numbers it (header = 1); None for a whole-file problem
    reason: Reason | str
    column: str | None = None  # the heading as the file writes it (English or Chinese)

    def render(self, translate: Callable[..., str] | None = None) -> str:
        """``file: row N, column C: why`` in the language of ``translate`` (English without one)."""
        reason = render(self.reason, translate)
        translate = translate or english
        if self.row is None:
            return translate("in_at_file", file=self.file, reason=reason)
        if self.column:
            return translate("in_at_cell", file=self.file, row=self.row, column=self.column, reason=reason)
        return translate("in_at_row", file=self.file, row=self.row, reason=reason)

    def __str__(self) -> str:
        return self.render()


class InputFileError(ValueError):
    """Every problem of an input file at once (so they are all fixed in one pass); nothing of
    the file was stored. ``str()`` is English; :meth:`render` (or :meth:`localise`) gives it in
    the language of a translate function."""

    def __init__(self, problems: list[InputProblem], heading: Reason | None = None):
        self.problems = problems
        self.heading = heading or Reason("in_file_problems", n=len(problems))
        super().__init__(self.render())

    def render(self, translate: Callable[..., str] | None = None) -> str:
        listed = "\n".join(f"  - {p.render(translate)}" for p in self.problems)
        return f"{render(self.heading, translate)}\n{listed}\n{(translate or english)('in_file_fix')}"

    def localise(self, translate: Callable[..., str]) -> InputFileError:
        """This error, its message now in the language of ``translate`` (for a layer that shows
        ``str(exc)``: a Prefect run's failure, a log line)."""
        self.args = (self.render(translate),)
        return self


# --- value parsers: each returns the value or raises ValueError with the reason ----------

def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == ""


def text(value: object) -> str:
    """Ids typed into Excel come back as numbers (1001 or 1001.0); they are still ids."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    out = "" if value is None else str(value).strip()
    if not out:
        raise Reason("in_empty")
    return out


def number(value: object) -> Decimal:
    """A number as typed: ``1200``, ``1,200.5``, ``-3``; Excel number cells as they are. Refuses
    ``12,00`` and ``1e5``: each could mean two things."""
    if is_blank(value):
        raise Reason("in_empty")
    if isinstance(value, bool):
        raise Reason("in_not_number", value=value)
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        if not value == value or value in (float("inf"), float("-inf")):
            raise Reason("in_not_number", value=value)
        return Decimal(repr(value))
    raw = str(value)
    cleaned = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
    if _PLAIN_NUMBER.match(cleaned):
        return Decimal(cleaned)
    if _GROUPED_NUMBER.match(cleaned):
        return Decimal(cleaned.replace(",", ""))
    if "," in cleaned and re.match(r"^[+-]?[\d,]+(\.\d+)?$", cleaned):
        raise Reason("in_decimal_comma", value=raw)
    if re.match(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$", cleaned):
        raise Reason("in_scientific", value=raw)
    raise Reason("in_not_number", value=raw)


def count(value: object) -> int:
    """A whole number of 0 or more."""
    amount = number(value)
    if amount != amount.to_integral_value() or amount < 0:
        raise Reason("in_not_count", value=value)
    return int(amount)


def positive_count(value: object) -> int:
    """A whole number of 1 or more (a case pack, an ordered quantity)."""
    amount = count(value)
    if amount < 1:
        raise Reason("in_not_positive_count", value=value)
    return amount


def signed_money(value: object) -> int:
    """Yuan as typed (``1200``, ``¥1,200.00``, ``1200元``, ``-3.5``) → integer fen; more than 2
    decimals is an error, not a rounding."""
    if is_blank(value):
        raise Reason("in_empty")
    cleaned = value
    if isinstance(value, str):
        cleaned = _MONEY_MARKS.sub("", unicodedata.normalize("NFKC", value).strip())
    amount = number(cleaned)
    try:
        return major_to_minor(str(cleaned).strip() if isinstance(cleaned, str) else amount)
    except MoneyError:
        raise Reason("in_money_cents", value=value) from None


def money(value: object, *, allow_zero: bool = True) -> int:
    """:func:`signed_money` of 0 or more (above 0 unless ``allow_zero``)."""
    minor = signed_money(value)
    if minor < 0 or (minor == 0 and not allow_zero):
        raise Reason("in_money_negative" if allow_zero else "in_money_not_above_zero", value=value)
    return minor


def positive_money(value: object) -> int:
    return money(value, allow_zero=False)


def day(value: object) -> date:
    """``2025-01-01``, ``2025/01/01``, ``2025.1.1``, ``2025年1月1日`` or an Excel date cell."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = text(value)
    match = _DATE.match(unicodedata.normalize("NFKC", raw))
    try:
        if not match:
            raise ValueError
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise Reason("in_not_date", value=raw) from None


def month(value: object) -> str:
    """``2025-01``, ``2025/01``, ``2025年1月``, or an Excel cell that made it the 1st of the month."""
    if isinstance(value, (datetime, date)):
        if value.day != 1:
            raise Reason("in_date_not_month", value=f"{value:%Y-%m-%d}")
        return f"{value.year:04d}-{value.month:02d}"
    raw = text(value)
    match = _MONTH.match(unicodedata.normalize("NFKC", raw))
    if not match or not 1 <= int(match[2]) <= 12:
        raise Reason("in_not_month", value=raw)
    return f"{int(match[1]):04d}-{int(match[2]):02d}"


def one_of(choices: tuple[str, ...], names: dict[str, str] | None = None) -> Callable[[object], str]:
    """One of ``choices``, written as itself (any case) or as one of its Chinese ``names``
    (name → choice)."""
    names = names or {}

    def parse(value: object) -> str:
        raw = text(value)
        if raw in names:
            return names[raw]
        if raw.lower() in choices:
            return raw.lower()
        chinese = {choice: [n for n, c in names.items() if c == choice] for choice in choices}
        known = ", ".join(f"{c} ({'/'.join(chinese[c])})" if chinese[c] else c for c in choices)
        raise Reason("in_not_one_of", value=raw, known=known)
    return parse


def rate(value: object) -> Decimal:
    """``35.2%`` (as the platforms show it) or ``0.352``: a share between 0 and 1."""
    raw = str(value).strip()
    share = number(raw[:-1]) / 100 if raw.endswith("%") else number(value)
    if not 0 <= share <= 1:
        raise Reason("in_not_rate", value=raw)
    return share


# --- columns and files ----------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str                               # documented English heading (also the record key)
    chinese: str                            # the Chinese heading, accepted as well (and written by templates)
    parse: Callable[[object], object]       # never sees an empty cell of an optional column
    optional: bool = False                  # the column may be absent or the cell empty (→ None)
    aliases: tuple[str, ...] = ()           # other headings seen in exports (``SKU``, ``商品编码``)

    def heading(self, locale: str) -> str:
        """The heading a template shows in ``locale``."""
        return self.chinese if locale.startswith("zh") else self.name

    def headings(self) -> tuple[str, ...]:
        return (self.name, self.chinese, *self.aliases)


def _key(heading: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(heading or ""))).casefold()


@dataclass
class InputFile:
    """One input file being read: its rows, and the problems found so far."""

    path: Path
    label: str = ""                         # how messages name the file (default: its name)
    problems: list[InputProblem] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)   # column name → its heading in this file

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.label = self.label or self.path.name

    def problem(self, row: int | None, reason: Reason | str, column: str | None = None) -> None:
        """A problem of ``row`` (None: the whole file); ``column`` is a column's name, shown as
        the heading this file gives it."""
        self.problems.append(InputProblem(self.label, row, reason, self.written.get(column, column)))

    def raise_problems(self, heading: Reason | None = None) -> None:
        if self.problems:
            raise InputFileError(sorted(self.problems, key=lambda p: p.row or 0), heading)

    def records(self, columns: list[Column]) -> Iterator[tuple[int, dict[str, object]]]:
        """(Excel row number, parsed values) of every row whose cells all parse; the others'
        problems are collected."""
        table = self.table()
        if table is None:
            return
        header, rows = table
        keys = [_key(h) for h in header]
        position: dict[str, int] = {}
        for column in columns:
            found = [keys.index(_key(h)) for h in column.headings() if _key(h) in keys]
            if found:
                position[column.name] = found[0]
                self.written[column.name] = header[found[0]]
            elif not column.optional:
                self.problem(1, Reason("in_no_column", name=column.name, chinese=column.chinese))
        if any(not c.optional and c.name not in position for c in columns):
            return
        for row_no, cells in rows:
            record, ok = {}, True
            for column in columns:
                at = position.get(column.name)
                raw = cells[at] if at is not None and at < len(cells) else None
                if column.optional and is_blank(raw):
                    record[column.name] = None
                    continue
                try:
                    record[column.name] = column.parse(raw)
                except ValueError as exc:
                    self.problem(row_no, exc if isinstance(exc, Reason) else str(exc), column.name)
                    ok = False
            if ok:
                yield row_no, record

    def table(self) -> tuple[list[str], list[tuple[int, list[object]]]] | None:
        """The header and the non-empty rows (with their Excel row numbers); None (and a
        problem) when the file cannot be read."""
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            self.problem(None, Reason("in_unreadable", error=exc.strerror))
            return None
        suffix = self.path.suffix.lower()
        if suffix in (".xlsx", ".xlsm"):
            rows = self._sheet(raw)
        elif suffix == ".csv":
            rows = self._csv(raw)
        else:
            self.problem(None, Reason("in_file_type", suffix=self.path.suffix))
            return None
        if rows is None:
            return None
        if not rows or all(is_blank(v) for v in rows[0]):
            self.problem(None, Reason("in_file_empty"))
            return None
        header = [str(h).strip() if not is_blank(h) else "" for h in rows[0]]
        data = []
        for row_no, row in enumerate(rows[1:], start=2):
            if all(is_blank(v) for v in row):
                continue
            if any(not is_blank(v) for v in row[len(header):]):
                self.problem(row_no, Reason("in_extra_fields", fields=len(row), header=len(header)))
                continue
            data.append((row_no, list(row)))
        return header, data

    def _sheet(self, raw: bytes) -> list[list[object]] | None:
        try:
            sheets = pd.read_excel(io.BytesIO(raw), sheet_name=None, header=None, dtype=object, engine="openpyxl")
        except (ValueError, OSError, KeyError, zipfile.BadZipFile) as exc:
            self.problem(None, Reason("in_not_workbook", error=f"{type(exc).__name__}: "
                                                              f"{str(exc).splitlines()[0] if str(exc) else ''}"))
            return None
        filled = {name: frame for name, frame in sheets.items() if not frame.dropna(how="all").empty}
        if len(filled) > 1:
            self.problem(None, Reason("in_many_sheets", n=len(filled), sheets=", ".join(map(str, filled))))
            return None
        if not filled:
            return []
        frame = next(iter(filled.values()))
        return [[None if is_blank(v) else v for v in row] for row in frame.itertuples(index=False)]

    def _csv(self, raw: bytes) -> list[list[object]] | None:
        for encoding in CSV_ENCODINGS:
            try:
                decoded = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            at = 0
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                at = exc.start
            self.problem(None, Reason("in_not_text", byte=raw[at], at=at))
            return None
        return [[None if is_blank(v) else v.strip() for v in row] for row in csv.reader(io.StringIO(decoded))]

    def refuse_duplicates(self, key_of_row: dict[int, tuple], columns: tuple[str, ...]) -> None:
        """A problem for every row whose ``columns`` (names; the key's values) repeat an earlier
        row's, named by their headings in this file."""
        what = " / ".join(self.written.get(c, c) for c in columns)
        first_row: dict[tuple, int] = {}
        for row_no, key in key_of_row.items():
            if key in first_row:
                self.problem(row_no, Reason("in_duplicate", what=what, value=" / ".join(map(str, key)),
                                            row=first_row[key]))
            else:
                first_row[key] = row_no


def read_records(path: Path | str, columns: list[Column], *, label: str | None = None
                 ) -> tuple[dict[int, dict[str, object]], InputFile]:
    """Every good row of ``path`` by Excel row number, and the file (with its problems: the
    caller adds its own checks, then calls ``raise_problems``)."""
    source = InputFile(Path(path), label or "")
    return dict(source.records(columns)), source
