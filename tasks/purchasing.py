"""Purchase orders and their deliveries (domain-rules.md §2–§3), from the files purchasing and the
warehouse keep (read by ``domain.input_files``).

Open purchase orders live in ``purchase_orders`` / ``purchase_order_lines``: what an open order
still owes (ordered − received, for orders with an expected date) is the position's *in transit*
that restock counts (``domain.stock.positions``). A delivery posts a ``receipt`` row to the stock
ledger (on hand goes up) and raises the line's ``qty_received`` (in transit goes down) in the
same transaction, so the two never disagree.

Both files are all or nothing: every row is checked against the warehouse inside the transaction
that writes, and one refused row (an unknown PO or SKU, an over-receipt …) stores nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from config.schema import AppConfig, load_config
from domain.input_files import (Column, InputFile, InputFileError, Reason, day, money, positive_count, read_records,
                                text)
from shopops.i18n import MESSAGES, reason
from warehouse import repository
from warehouse.db import make_engine
from warehouse.models import PurchaseOrder, PurchaseOrderLine, StockLedgerEntry

#: the purchase-order file: one row per PO line, the order's fields repeated on each
PO_FILE_COLUMNS = [
    Column("po_no", "采购单号", text, aliases=("PO",)),
    Column("supplier", "供应商", text),
    Column("warehouse", "仓库", text, aliases=("收货仓库",)),
    Column("ordered_on", "下单日期", day, aliases=("ordered_at",)),
    Column("expected_on", "预计到货日期", day, optional=True, aliases=("expected_at",)),
    Column("sku", "商品编码", text, aliases=("SKU", "货号")),
    Column("qty", "采购数量", positive_count, aliases=("qty_ordered",)),
    Column("unit_cost", "采购单价(元)", money, optional=True, aliases=("采购单价", "单价")),
]
#: the receipt file: one row per delivered PO line
RECEIPT_FILE_COLUMNS = [
    Column("po_no", "采购单号", text, aliases=("PO",)),
    Column("sku", "商品编码", text, aliases=("SKU", "货号")),
    Column("qty", "到货数量", positive_count, aliases=("qty_received", "实收数量")),
    Column("received_on", "到货日期", day, aliases=("received_at",)),
    Column("receipt_no", "入库单号", text, optional=True, aliases=("receipt",)),
]
_HEADER_FIELDS = ("supplier", "warehouse", "ordered_on", "expected_on")


class PurchaseFileError(InputFileError):
    """A purchase-order or receipt file refused whole, every problem with its row and column."""


def _zone(config: AppConfig) -> ZoneInfo:
    return ZoneInfo(config.rules.orders.default_timezone)


def _start_of(on: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(on, time.min, tzinfo=zone).astimezone(timezone.utc)


def _refuse(source: InputFile, heading_key: str) -> None:
    if source.problems:
        raise PurchaseFileError(sorted(source.problems, key=lambda p: p.row or 0),
                                reason(heading_key, file=source.label, n=len(source.problems)))


# --- purchase orders ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PurchaseImport:
    orders_added: int
    lines_added: int
    orders_unchanged: int        # already stored exactly so (the same file imported again)


def import_purchase_orders(database_url: str, path: Path | str, config: AppConfig | None = None) -> PurchaseImport:
    """New purchase orders into the warehouse (status ``open``). A PO already stored with the
    same lines is left as it is; one stored with different lines is refused (correct it in
    the supplier's system and receive against it, rather than rewrite what was ordered)."""
    config = config or load_config()
    rows, source = read_records(path, PO_FILE_COLUMNS)
    if not rows and not source.problems:
        source.problem(None, Reason("in_no_rows"))
    source.refuse_duplicates({n: (r["po_no"], r["sku"]) for n, r in rows.items()}, ("po_no", "sku"))
    orders: dict[str, dict] = {}
    for row_no, r in rows.items():
        first = orders.setdefault(r["po_no"], {"row": row_no, **{k: r[k] for k in _HEADER_FIELDS}, "lines": {}})
        for key in _HEADER_FIELDS:
            if r[key] != first[key]:
                source.problem(row_no, reason("in_po_header_differs", po=r["po_no"], value=first[key], row=first["row"]),
                               key)
        if r["expected_on"] is not None and r["expected_on"] < r["ordered_on"]:
            source.problem(row_no, reason("in_po_expected_before", expected=r["expected_on"], ordered=r["ordered_on"]),
                           "expected_on")
        first["lines"][r["sku"]] = (row_no, r["qty"], r["unit_cost"])
    suppliers = {s.id for s in config.suppliers}
    for po_no, order in orders.items():
        if order["supplier"] not in suppliers:
            source.problem(order["row"], reason("in_unknown_supplier", supplier=order["supplier"],
                                                known=", ".join(sorted(suppliers)) or reason("in_none_yet")), "supplier")
    zone, currency = _zone(config), config.rules.orders.known_currencies[0]
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            _check_skus_and_warehouses(conn, source, rows)
            po_t, line_t = PurchaseOrder.__table__, PurchaseOrderLine.__table__
            stored = {}
            for row in conn.execute(sa.select(line_t.c.po_no, line_t.c.sku, line_t.c.qty_ordered)
                                    .where(line_t.c.po_no.in_(list(orders)))):
                stored.setdefault(row.po_no, {})[row.sku] = row.qty_ordered
            unchanged = 0
            for po_no, order in orders.items():
                if po_no not in stored:
                    continue
                wanted = {sku: qty for sku, (_, qty, _) in order["lines"].items()}
                if wanted == stored[po_no]:
                    unchanged += 1
                else:
                    lines = ", ".join(f"{s} × {q}" for s, q in sorted(stored[po_no].items()))
                    source.problem(order["row"], reason("in_po_stored_other_lines", po=po_no, lines=lines), "po_no")
            _refuse(source, "in_po_problems")
            new = {po_no: o for po_no, o in orders.items() if po_no not in stored}
            if new:
                conn.execute(sa.insert(po_t), [
                    {"po_no": po_no, "supplier": o["supplier"], "warehouse": o["warehouse"], "status": "open",
                     "ordered_at": _start_of(o["ordered_on"], zone),
                     "expected_at": _start_of(o["expected_on"], zone) if o["expected_on"] else None}
                    for po_no, o in new.items()])
                conn.execute(sa.insert(line_t), [
                    {"po_no": po_no, "sku": sku, "qty_ordered": qty, "qty_received": 0, "unit_cost_minor": cost,
                     "currency": currency if cost is not None else None}
                    for po_no, o in new.items() for sku, (_, qty, cost) in o["lines"].items()])
    finally:
        engine.dispose()
    return PurchaseImport(orders_added=len(new), lines_added=sum(len(o["lines"]) for o in new.values()),
                          orders_unchanged=unchanged)


def _check_skus_and_warehouses(conn, source: InputFile, rows: dict[int, dict]) -> None:
    from tasks.stock import known_warehouses

    skus = repository.known_skus(conn)
    warehouses = known_warehouses(conn)
    for row_no, r in rows.items():
        if r["sku"] not in skus:
            source.problem(row_no, reason("in_sku_not_in_catalogue", sku=r["sku"]), "sku")
        if "warehouse" in r and r["warehouse"] not in warehouses:
            source.problem(row_no, reason("in_unknown_warehouse", warehouse=r["warehouse"],
                                          known=", ".join(sorted(warehouses)) or reason("in_none_yet")), "warehouse")


# --- receipts -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReceiptImport:
    lines: int                   # receipt rows posted now
    units: int                   # units they added to stock on hand
    already_posted: int          # rows of a delivery posted before (the same file imported again)
    orders_completed: list[str]  # POs now fully received


def _received_at(on: date, zone: ZoneInfo, now: datetime) -> datetime:
    """When a delivery of day ``on`` joined the stock: now for today's, the end of the day for an
    earlier one (after any count taken that day in the warehouse's working hours)."""
    if on >= now.astimezone(zone).date():
        return now
    return _start_of(on + timedelta(days=1), zone) - timedelta(seconds=1)


def receive_purchase_orders(database_url: str, path: Path | str, config: AppConfig | None = None,
                            now: datetime | None = None) -> ReceiptImport:
    """Deliveries into the stock ledger: per row a ``receipt`` ledger entry (reference
    ``po:<PO>:<receipt no. or date>``) and the PO line's ``qty_received`` raised; the PO becomes
    ``partially_received`` or ``received``. Refused, with nothing stored: an unknown PO, a SKU not
    on it, a cancelled or completed PO, more units than the line still owes, a future date. A
    row whose receipt was posted before is skipped (importing the same file again is harmless)."""
    config = config or load_config()
    zone, now = _zone(config), now or datetime.now(timezone.utc)
    rows, source = read_records(path, RECEIPT_FILE_COLUMNS)
    if not rows and not source.problems:
        source.problem(None, Reason("in_no_rows"))
    engine = make_engine(database_url)
    po_t, line_t, ledger_t = PurchaseOrder.__table__, PurchaseOrderLine.__table__, StockLedgerEntry.__table__
    try:
        with engine.begin() as conn:
            wanted = sorted({r["po_no"] for r in rows.values()})
            orders = {row.po_no: row for row in conn.execute(sa.select(po_t).where(po_t.c.po_no.in_(wanted)))}
            lines = {(row.po_no, row.sku): row for row in conn.execute(
                sa.select(line_t).where(line_t.c.po_no.in_(wanted)))}
            posted_refs = set(conn.execute(sa.select(ledger_t.c.reference, ledger_t.c.sku).where(
                ledger_t.c.kind == "receipt", ledger_t.c.reference.like("po:%"))).tuples())
            open_qty = {key: line.qty_ordered - line.qty_received for key, line in lines.items()}
            entries, received, already, in_file = [], {}, 0, {}
            for row_no, r in rows.items():
                po_no, sku = r["po_no"], r["sku"]
                order = orders.get(po_no)
                if order is None:
                    source.problem(row_no, reason("in_rc_unknown_po", po=po_no), "po_no")
                    continue
                if (po_no, sku) not in lines:
                    on_it = sorted(s for p, s in lines if p == po_no)
                    source.problem(row_no, reason("in_rc_sku_not_on_po", sku=sku, po=po_no, lines=", ".join(on_it)),
                                   "sku")
                    continue
                if r["received_on"] > now.astimezone(zone).date():
                    source.problem(row_no, reason("in_rc_future", day=r["received_on"]), "received_on")
                    continue
                reference = f"po:{po_no}:{r['receipt_no'] or r['received_on'].isoformat()}"
                if (reference, sku) in in_file:
                    source.problem(row_no, reason("in_rc_same_receipt" if r["receipt_no"] else "in_rc_same_day",
                                                  row=in_file[(reference, sku)]), "sku")
                    continue
                in_file[(reference, sku)] = row_no
                if (reference, sku) in posted_refs:
                    already += 1
                    continue
                if order.status not in ("open", "partially_received"):
                    status = f"in_po_status_{order.status}"
                    source.problem(row_no, reason("in_rc_po_closed", po=po_no, status=reason(status) if status in
                                                  MESSAGES else order.status), "po_no")
                    continue
                line = lines[(po_no, sku)]
                if r["qty"] > open_qty[(po_no, sku)]:
                    key = "in_rc_over_receipt_earlier" if received.get((po_no, sku)) else "in_rc_over_receipt"
                    source.problem(row_no, reason(key, qty=r["qty"], po=po_no, owed=open_qty[(po_no, sku)], sku=sku,
                                                  ordered=line.qty_ordered, before=line.qty_received), "qty")
                    continue
                open_qty[(po_no, sku)] -= r["qty"]
                received[(po_no, sku)] = received.get((po_no, sku), 0) + r["qty"]
                posted_refs.add((reference, sku))
                entries.append({"sku": sku, "warehouse": order.warehouse, "kind": "receipt", "quantity": r["qty"],
                                "moved_at": pd.Timestamp(_received_at(r["received_on"], zone, now)),
                                "reference": reference, "note": f"PO {po_no} row {row_no} of {source.label}"})
            _refuse(source, "in_rc_problems")
            if entries:
                repository.post_ledger(conn, pd.DataFrame(entries))
            for (po_no, sku), qty in received.items():
                conn.execute(sa.update(line_t).where(line_t.c.po_no == po_no, line_t.c.sku == sku)
                             .values(qty_received=line_t.c.qty_received + qty))
            completed = []
            for po_no in sorted({p for p, _ in received}):
                owed = sum(q for (p, _), q in open_qty.items() if p == po_no)
                status = "received" if owed == 0 else "partially_received"
                conn.execute(sa.update(po_t).where(po_t.c.po_no == po_no).values(status=status))
                if status == "received":
                    completed.append(po_no)
    finally:
        engine.dispose()
    return ReceiptImport(lines=len(entries), units=sum(e["quantity"] for e in entries), already_posted=already,
                         orders_completed=completed)
