"""Back-office exports (1688, WeChat shop, any marketplace without an API we use).

Operations staff drop the export (.csv or .xlsx) in the shop's folder; a YAML mapping
tells how its columns map onto our fields, since every back-office names them differently:

.. code-block:: yaml

    columns:                 # export column → field
      订单编号: order_id
      订单状态: status
      最后修改时间: modified_at
      商家编码: sku
      数量: quantity
      单价: unit_price
      实付金额: total
    status_map: {等待卖家发货: paid, 交易成功: completed, 交易关闭: cancelled}
    timezone: Asia/Shanghai  # zone of times written without an offset
    time_format: "%Y-%m-%d %H:%M:%S"   # optional; ISO 8601 is always understood
    money_unit: yuan         # or fen
    currency: CNY

One row is one order line (orders repeat their fields per line, as exports do). A missing
column or a value that cannot be read stops the import with the file, row and column, so
the person who made the export can fix it; nothing is half-imported.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from connectors.base import (Connector, ConnectorSettings, Credentials, Page, PlatformError, PushResult,
                             ShipmentResult)
from domain.canonical import CANONICAL_STATUSES
from domain.input_files import REASONS, InputFile, InputProblem, Reason, signed_money
from domain.money import MINOR_PER_MAJOR, MoneyError, minor_from_int
from domain.timeutil import UTC
from domain.windows import Window

REQUIRED_FIELDS = ("order_id", "status", "modified_at", "sku", "quantity", "unit_price")
OPTIONAL_FIELDS = ("line_id", "title", "variant", "line_total", "total", "post_fee", "created_at", "paid_at",
                   "shipped_at", "buyer", "receiver_name", "receiver_phone", "province", "city", "district",
                   "address", "buyer_remark", "seller_remark", "carrier", "tracking_no", "currency")
MONEY_FIELDS = ("unit_price", "line_total", "total", "post_fee")
TIME_FIELDS = ("modified_at", "created_at", "paid_at", "shipped_at")
SUFFIXES = (".csv", ".xlsx")


#: the English of this connector's reasons about a row (their Chinese: shopops/i18n.py, same keys)
REASONS.update({
    "in_fi_missing_columns": "column(s) {columns} of the mapping are missing; the header has: {header}",
    "in_fi_not_whole": "{value!r} is not a whole number",
    "in_fi_status_unmapped": "{value!r} is not in status_map ({known}); add it to the mapping",
    "in_fi_not_time": "{value!r} is not a time ({format})",
})


class FileImportError(PlatformError):
    """An export that does not match its mapping: names the file, the row and the column.
    ``problems`` (``domain.input_files.InputProblem``) let the layer that reports it say it in
    the person's language."""

    def __init__(self, message: str, *, problems: list[InputProblem] | tuple = (), **kwargs):
        super().__init__(message, **kwargs)
        self.problems = list(problems)


def load_mapping(mapping: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """A mapping given as a dict or as a YAML file path, checked for the required fields."""
    if not isinstance(mapping, Mapping):
        path = Path(mapping)
        try:
            mapping = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise FileImportError(f"column mapping {path}: cannot read it ({exc})") from None
        if not isinstance(mapping, Mapping):
            raise FileImportError(f"column mapping {path}: expected keys (columns, status_map …) at the top")
    columns = dict(mapping.get("columns") or {})
    unknown = sorted(set(columns.values()) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    missing = [f for f in REQUIRED_FIELDS if f not in columns.values()]
    if unknown or missing:
        raise FileImportError("column mapping: " + "; ".join(filter(None, [
            f"unknown field(s) {', '.join(unknown)} (known: {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)})"
            if unknown else "", f"no column mapped to {', '.join(missing)}" if missing else ""])))
    if mapping.get("money_unit", "yuan") not in ("yuan", "fen"):
        raise FileImportError(f"column mapping: money_unit must be yuan or fen, not {mapping['money_unit']!r}")
    bad_status = sorted(set((mapping.get("status_map") or {}).values()) - CANONICAL_STATUSES)
    if bad_status:
        raise FileImportError(f"column mapping: status_map values {', '.join(bad_status)} are not canonical "
                              f"statuses ({', '.join(sorted(CANONICAL_STATUSES))})")
    return {**mapping, "columns": columns}


def read_rows(path: Path) -> tuple[bytes, list[str], list[list[Any]]]:
    """(file bytes, header, data rows) of a .csv (UTF-8, UTF-8 with BOM or GBK, as Chinese tools
    save) or .xlsx export, read by ``domain.input_files`` as every other file people keep."""
    source = InputFile(path)
    table = source.table()
    if source.problems:
        raise FileImportError("\n".join(str(p) for p in source.problems), problems=source.problems)
    header, rows = table
    return path.read_bytes(), header, [row for _, row in rows]


class FileImportConnector(Connector):
    """Reads exports from ``settings.base_url`` (a folder, or ``file://`` URL of one).

    The mapping comes from the constructor (a dict or a YAML path), or ``options.mapping``.
    """

    platform = "file"
    DEFAULTS = dict(max_window=timedelta(days=3650))  # an export is one file whatever its span

    def __init__(self, shop_id: str, settings: ConnectorSettings, credentials: Credentials | None = None, *,
                 mapping: Mapping[str, Any] | str | Path | None = None, **kwargs):
        super().__init__(shop_id, settings, credentials or Credentials(), **kwargs)
        mapping = mapping if mapping is not None else settings.option("mapping")
        if mapping is None:
            raise FileImportError(f"file shop {shop_id}: no column mapping given (constructor or options.mapping)")
        self.mapping = load_mapping(mapping)
        self.folder = Path(settings.base_url.removeprefix("file://"))
        self.column_of = {field: column for column, field in self.mapping["columns"].items()}
        self.zone = ZoneInfo(self.mapping.get("timezone", "Asia/Shanghai"))

    @staticmethod
    def order_key(record: dict) -> str:
        """Records are order *lines*: a line re-exported in a later file replaces itself."""
        return f"{record['order_id']}:{record['line_id']}"

    @staticmethod
    def order_modified(record: dict) -> object:
        return record.get("modified_at")

    def _pages(self, window: Window) -> Iterator[Page]:
        """Every export in the folder (or the one file), one page per file, the rows
        modified within the window."""
        files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in SUFFIXES) \
            if self.folder.is_dir() else [self.folder]
        for page_no, path in enumerate(files, start=1):
            raw, records = self.read_file(path)
            in_window = [r for r in records if window.start <= r["modified_at"] < window.end]
            yield self._page(window, page_no, raw, in_window)

    def read_file(self, path: Path) -> tuple[bytes, list[dict]]:
        """(file bytes, one record per data row) with every value checked."""
        raw, header, rows = read_rows(path)
        columns = self.mapping["columns"]
        missing = [c for c in columns if c not in header]
        if missing:
            why = Reason("in_fi_missing_columns", columns=", ".join(repr(c) for c in missing),
                         header=", ".join(h for h in header if h))
            raise FileImportError(f"{path.name}: {why}", problems=[InputProblem(path.name, 1, why)])
        index = {field: header.index(column) for column, field in columns.items()}
        records, lines_per_order = [], {}
        for row_no, row in enumerate(rows, start=2):  # row 1 is the header, as Excel counts
            record = self._record(path.name, row_no, row, index)
            lines_per_order[record["order_id"]] = lines_per_order.get(record["order_id"], 0) + 1
            record.setdefault("line_id", str(lines_per_order[record["order_id"]]))  # position in its order
            records.append(record)
        return raw, records

    def _record(self, file_name: str, row_no: int, row: list[Any], index: dict[str, int]) -> dict:
        def fail(field: str, problem: Reason | str) -> FileImportError:
            return FileImportError(f"{file_name}, row {row_no}, column {self.column_of[field]!r} ({field}): "
                                   f"{problem}", problems=[InputProblem(file_name, row_no, problem,
                                                                        f"{self.column_of[field]} ({field})")])

        record: dict[str, Any] = {"money_unit": self.mapping.get("money_unit", "yuan"),
                                  "currency": self.mapping.get("currency", "CNY")}
        for field, position in index.items():
            value = row[position] if position < len(row) else None
            if isinstance(value, float) and value.is_integer() and field not in MONEY_FIELDS:
                value = int(value)  # spreadsheets store ids and counts as floats
            if isinstance(value, str):
                value = value.strip()
            if value in (None, ""):
                if field in REQUIRED_FIELDS:
                    raise fail(field, Reason("in_empty"))
                continue
            record[field] = self._convert(field, value, fail)
        return record

    def _convert(self, field: str, value: Any, fail) -> Any:
        if field in MONEY_FIELDS:
            if self.mapping.get("money_unit") == "fen":
                try:
                    minor_from_int(value)
                except MoneyError:
                    raise fail(field, Reason("in_fi_not_whole", value=value)) from None
                return value
            try:   # ¥1,200.00 as the back-office writes it; 12,00 and 1e5 are ambiguous
                return str(Decimal(signed_money(value)) / MINOR_PER_MAJOR)
            except ValueError as exc:
                raise fail(field, exc) from None
        if field in TIME_FIELDS:
            return self._time(value, fail, field)
        if field == "quantity":
            try:
                return int(str(value))
            except ValueError:
                raise fail(field, Reason("in_fi_not_whole", value=value)) from None
        if field == "status":
            status_map = self.mapping.get("status_map") or {}
            status = status_map.get(str(value), str(value))
            if status not in CANONICAL_STATUSES:
                raise fail(field, Reason("in_fi_status_unmapped", value=value,
                                         known=", ".join(status_map) or "—"))
            return status
        return str(value)

    def _time(self, value: Any, fail, field: str) -> datetime:
        if not isinstance(value, datetime):
            text = str(value)
            try:
                fmt = self.mapping.get("time_format")
                value = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
            except ValueError:
                raise fail(field, Reason("in_fi_not_time", value=text,
                                         format=self.mapping.get("time_format") or "ISO 8601")) from None
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        return value.astimezone(UTC)

    # -- writes: a file shop has no API -------------------------------------------------------
    def _no_api(self, action: str) -> PlatformError:
        return PlatformError(f"file shop {self.shop_id} has no API: {action} in its back-office by hand",
                             platform=self.platform, shop_id=self.shop_id)

    def push_stock(self, item_id: str, sku_id: str, quantity: int) -> PushResult:
        raise self._no_api(f"set stock of {item_id}/{sku_id} to {quantity}")

    def read_stock(self, item_id: str, sku_id: str) -> int:
        raise self._no_api(f"read stock of {item_id}/{sku_id}")

    def confirm_shipment(self, order_id: str, carrier: str, tracking_no: str) -> ShipmentResult:
        raise self._no_api(f"confirm shipment of {order_id}")
