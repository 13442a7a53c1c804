"""The shipping batches' storage (domain-rules.md §4): what the batch flow reads and writes.

No Prefect here; like ``warehouse.repository`` every function takes an Engine (its own
transaction) or a Connection (the caller's transaction). Reads are one query per table;
writes are one ``executemany`` (or one set-based UPDATE) per table, never a statement per
order from the caller's side.

Tables: ``shipping_batches`` (one row per wave, its status and counts), ``batch_orders`` (an
order in a batch: ``in_batch`` → ``shipped`` once the marketplace has the tracking number, or
``pulled_out`` with a reason), ``batch_lines`` (the units allocated to it, gifts included),
``order_holds`` (an order the audit held, with every reason; released when the reasons are
gone or when a person released it).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, ORDER_KEY
from domain.stock import RESERVING_STATUSES
from warehouse.models import BatchLine, BatchOrder, Order, OrderHold, OrderLine, ShippingBatch, Sku
from warehouse.repository import ConnOrEngine, _connection, _times

#: a batch in one of these still has its parcels in the warehouse: orders may be pulled out
LIVE_BATCH_STATUSES: tuple[str, ...] = ("created", "picked", "packed")
#: ``order_holds.released_by`` when the shipping run found a hold's reasons gone
RELEASED_BY_RUN = "shipping-batches"
BATCH_COLUMNS: tuple[str, ...] = ("batch_id", "warehouse", "carrier", "kind", "status", "order_count", "unit_count",
                                  "created_at", "picked_at", "packed_at", "handed_over_at", "flow_run_id")
BATCH_ORDER_COLUMNS: tuple[str, ...] = ("batch_id", *ORDER_KEY, "merge_key", "status", "tracking_no",
                                        "pulled_out_reason")
BATCH_LINE_COLUMNS: tuple[str, ...] = ("batch_id", *ORDER_KEY, "line_no", "sku", "title", "variant", "is_gift",
                                       "quantity", "warehouse")
_BATCH_TIMES = ("created_at", "picked_at", "packed_at", "handed_over_at")


def _key_of(table: sa.Table, other: sa.Table) -> sa.ColumnElement[bool]:
    return sa.and_(*[table.c[k] == other.c[k] for k in ORDER_KEY])


def _records(frame: pd.DataFrame, columns: Iterable[str]) -> list[dict]:
    """Plain Python values (no numpy scalars, None for missing) for an ``executemany``."""
    out = frame[list(columns)].astype(object)
    return out.where(out.notna(), None).to_dict("records")


# --- reads --------------------------------------------------------------------------------

def catalogue(conn_or_engine: ConnOrEngine) -> pd.DataFrame:
    """The SKUs the papers need: sku, name, variant, bin_location, default_warehouse."""
    table = Sku.__table__
    with _connection(conn_or_engine) as conn:
        return pd.read_sql(sa.select(table.c.sku, table.c.name, table.c.variant, table.c.bin_location,
                                     table.c.default_warehouse), conn)


def batched_order_keys(conn_or_engine: ConnOrEngine, *, as_of: datetime | None = None) -> pd.DataFrame:
    """Orders that already have a parcel (batch_id, ORDER_KEY): in a batch that is not cancelled
    and not pulled out of it. A new run must not batch them again — handed-over ones whose
    write-back is still pending included. ``as_of``: only batches created before that moment
    (a run recomputed for a past day)."""
    orders_t, batches_t = BatchOrder.__table__, ShippingBatch.__table__
    query = (sa.select(orders_t.c.batch_id, *[orders_t.c[k] for k in ORDER_KEY])
             .join(batches_t, batches_t.c.batch_id == orders_t.c.batch_id)
             .where(orders_t.c.status != "pulled_out", batches_t.c.status != "cancelled"))
    if as_of is not None:
        query = query.where(batches_t.c.created_at < as_of)
    with _connection(conn_or_engine) as conn:
        return pd.read_sql(query, conn)


def live_batch_lines(conn_or_engine: ConnOrEngine, *, as_of: datetime | None = None) -> pd.DataFrame:
    """Units allocated to orders still in a live batch: ORDER_KEY, sku, warehouse, quantity.
    ``as_of``: the batches live at that moment — created before it, handed over after it."""
    members_t, batches_t, lines_t = BatchOrder.__table__, ShippingBatch.__table__, BatchLine.__table__
    live = batches_t.c.status.in_(LIVE_BATCH_STATUSES)
    if as_of is not None:
        live = sa.and_(batches_t.c.created_at < as_of,
                       sa.or_(live, sa.and_(batches_t.c.status == "handed_over", batches_t.c.handed_over_at >= as_of)))
    query = (sa.select(*[lines_t.c[k] for k in ORDER_KEY], lines_t.c.sku, lines_t.c.warehouse, lines_t.c.quantity)
             .join(members_t, sa.and_(members_t.c.batch_id == lines_t.c.batch_id, _key_of(members_t, lines_t)))
             .join(batches_t, batches_t.c.batch_id == lines_t.c.batch_id)
             .where(live, members_t.c.status == "in_batch"))
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(query, conn)
    frame["quantity"] = frame["quantity"].astype("int64")
    return frame


def live_batch_members(conn_or_engine: ConnOrEngine,
                       batch_ids: Iterable[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders still in a live batch as they read now, with their lines: (orders with
    ``ORDER_COLUMNS`` + batch_id, batch_status; lines with ``LINE_COLUMNS``). What pull-out
    judges: an order cancelled, refunded or shipped elsewhere since it was batched."""
    members_t, batches_t, orders_t, lines_t = (BatchOrder.__table__, ShippingBatch.__table__, Order.__table__,
                                               OrderLine.__table__)
    live = [batches_t.c.status.in_(LIVE_BATCH_STATUSES), members_t.c.status == "in_batch"]
    if batch_ids is not None:
        live.append(batches_t.c.batch_id.in_(list(batch_ids)))
    members = (sa.select(members_t).join(batches_t, batches_t.c.batch_id == members_t.c.batch_id)
               .where(*live).subquery())
    orders_q = (sa.select(*[orders_t.c[c] for c in ORDER_COLUMNS], members.c.batch_id,
                          sa.select(batches_t.c.status).where(batches_t.c.batch_id == members.c.batch_id)
                          .scalar_subquery().label("batch_status"))
                .join(members, _key_of(orders_t, members)))
    lines_q = (sa.select(*[lines_t.c[c] for c in LINE_COLUMNS]).join(members, _key_of(lines_t, members)))
    with _connection(conn_or_engine) as conn:
        orders = pd.read_sql(orders_q, conn)
        lines = pd.read_sql(lines_q, conn)
    return _times(orders, "created_at", "paid_at", "modified_at", "shipped_at", "ship_by_at"), lines


def orders_by_key(conn_or_engine: ConnOrEngine, keys: pd.DataFrame) -> pd.DataFrame:
    """The stored orders (``ORDER_COLUMNS``) of ``keys`` (a frame with ``ORDER_KEY``)."""
    table = Order.__table__
    wanted = set(map(tuple, keys[list(ORDER_KEY)].drop_duplicates().itertuples(index=False)))
    shops = sorted({shop for _, shop, _ in wanted})
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(sa.select(*[table.c[c] for c in ORDER_COLUMNS]).where(
            table.c.shop_id.in_(shops), table.c.order_id.in_(sorted({o for _, _, o in wanted}))), conn)
    frame = frame[[key in wanted for key in zip(*(frame[k] for k in ORDER_KEY))]].reset_index(drop=True)
    return _times(frame, "created_at", "paid_at", "modified_at", "shipped_at", "ship_by_at")


def read_batches(conn_or_engine: ConnOrEngine, statuses: Iterable[str] | None = None,
                 batch_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Batches (``BATCH_COLUMNS``), newest first."""
    table = ShippingBatch.__table__
    query = sa.select(*[table.c[c] for c in BATCH_COLUMNS]).order_by(table.c.created_at.desc(), table.c.batch_id)
    if statuses is not None:
        query = query.where(table.c.status.in_(list(statuses)))
    if batch_ids is not None:
        query = query.where(table.c.batch_id.in_(list(batch_ids)))
    with _connection(conn_or_engine) as conn:
        return _times(pd.read_sql(query, conn), *_BATCH_TIMES)


def read_batch_contents(conn_or_engine: ConnOrEngine, batch_ids: Iterable[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(batch_orders rows, batch_lines rows) of ``batch_ids``."""
    ids = list(batch_ids)
    orders_t, lines_t = BatchOrder.__table__, BatchLine.__table__
    with _connection(conn_or_engine) as conn:
        orders = pd.read_sql(sa.select(*[orders_t.c[c] for c in BATCH_ORDER_COLUMNS])
                             .where(orders_t.c.batch_id.in_(ids)), conn)
        lines = pd.read_sql(sa.select(*[lines_t.c[c] for c in BATCH_LINE_COLUMNS])
                            .where(lines_t.c.batch_id.in_(ids)).order_by(lines_t.c.line_no), conn)
    lines["quantity"] = lines["quantity"].astype("int64")
    lines["is_gift"] = lines["is_gift"].astype(bool)
    return orders, lines


def remarks_released_by_a_person(conn_or_engine: ConnOrEngine, *,
                                 as_of: datetime | None = None) -> set[tuple[str, str, str]]:
    """Orders whose remark hold a person released (they read the remark): the audit lets their
    remark through (``domain.batching.audit``'s ``remarks_read``). ``as_of``: released before then."""
    table = OrderHold.__table__
    query = sa.select(*[table.c[k] for k in ORDER_KEY], table.c.reasons).where(
        table.c.released_at.is_not(None), table.c.released_by != RELEASED_BY_RUN)
    if as_of is not None:
        query = query.where(table.c.released_at < as_of)
    with _connection(conn_or_engine) as conn:
        rows = conn.execute(query).all()
    return {tuple(row[:3]) for row in rows if "remark_needs_person" in (row.reasons or [])}


def open_holds(conn_or_engine: ConnOrEngine, *, as_of: datetime | None = None) -> pd.DataFrame:
    """Holds not released: id, ORDER_KEY, reasons, details, created_at. ``as_of``: the holds
    open at that moment — made before it, released after it or not yet."""
    table = OrderHold.__table__
    open_ = table.c.released_at.is_(None)
    if as_of is not None:
        open_ = sa.and_(table.c.created_at < as_of, sa.or_(open_, table.c.released_at >= as_of))
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(sa.select(table.c.id, *[table.c[k] for k in ORDER_KEY], table.c.reasons, table.c.details,
                                      table.c.created_at).where(open_).order_by(table.c.id), conn)
    for column in ("reasons", "details"):   # JSON comes back as text from a plain read
        frame[column] = [json.loads(v) if isinstance(v, str) else v for v in frame[column]]
    return _times(frame, "created_at")


# --- writes -------------------------------------------------------------------------------

def write_batches(conn_or_engine: ConnOrEngine, batches: pd.DataFrame, members: pd.DataFrame,
                  lines: pd.DataFrame) -> int:
    """New batches (``BATCH_COLUMNS``), their orders (``BATCH_ORDER_COLUMNS``) and lines
    (``BATCH_LINE_COLUMNS``) in one transaction; a batch id already stored (the same orders
    batched again by a rerun) is left as it is. Returns the number of new batches."""
    if batches.empty:
        return 0
    tables = (ShippingBatch.__table__, BatchOrder.__table__, BatchLine.__table__)
    with _connection(conn_or_engine) as conn:
        stored = set(pd.read_sql(sa.select(tables[0].c.batch_id).where(
            tables[0].c.batch_id.in_(batches["batch_id"].tolist())), conn)["batch_id"])
        new = batches[~batches["batch_id"].isin(stored)]
        if new.empty:
            return 0
        for table, frame, columns in ((tables[0], new, BATCH_COLUMNS), (tables[1], members, BATCH_ORDER_COLUMNS),
                                      (tables[2], lines, BATCH_LINE_COLUMNS)):
            rows = frame[frame["batch_id"].isin(new["batch_id"])]
            records = _records(rows, columns)
            if records:
                conn.execute(sa.insert(table), records)
        return len(new)


def sync_holds(conn_or_engine: ConnOrEngine, held: pd.DataFrame, *, flow_run_id: str | None,
               now: datetime) -> dict[str, int]:
    """Make ``order_holds`` say which orders are held now and why (``held``: ORDER_KEY, reasons,
    reason_details). An order held again keeps its open hold (reasons updated, so its age shows
    how long it waits); a new one gets a hold; an open hold whose order is no longer held is
    released by the run. Returns new / kept / released counts."""
    table = OrderHold.__table__
    with _connection(conn_or_engine) as conn:
        current = open_holds(conn)
        key = list(ORDER_KEY)
        both = held.merge(current[[*key, "id"]], on=key, how="left")
        kept = both[both["id"].notna()]
        new = both[both["id"].isna()]
        gone = current[~pd.MultiIndex.from_frame(current[key]).isin(pd.MultiIndex.from_frame(held[key]))]
        if len(new):
            conn.execute(sa.insert(table), [
                {**dict(zip(key, k)), "reasons": [str(r) for r in reasons], "details": list(details),
                 "flow_run_id": flow_run_id, "created_at": now}
                for k, reasons, details in zip(zip(*(new[c] for c in key)), new["reasons"], new["reason_details"])])
        if len(kept):
            conn.execute(table.update().where(table.c.id == sa.bindparam("hold_id")).values(
                reasons=sa.bindparam("new_reasons"), details=sa.bindparam("new_details")), [
                {"hold_id": int(i), "new_reasons": [str(r) for r in reasons], "new_details": list(details)}
                for i, reasons, details in zip(kept["id"], kept["reasons"], kept["reason_details"])])
        if len(gone):
            conn.execute(table.update().where(table.c.id.in_([int(i) for i in gone["id"]])).values(
                released_at=now, released_by=RELEASED_BY_RUN))
    return {"new": len(new), "kept": len(kept), "released": len(gone)}


def release_hold(conn_or_engine: ConnOrEngine, order: tuple[str, str, str], *, by: str, now: datetime) -> int:
    """A person dealt with the order's hold (e.g. read the remark); returns holds released."""
    table = OrderHold.__table__
    with _connection(conn_or_engine) as conn:
        return conn.execute(table.update().where(
            *[table.c[k] == v for k, v in zip(ORDER_KEY, order)], table.c.released_at.is_(None)).values(
            released_at=now, released_by=by)).rowcount


def pull_out(conn_or_engine: ConnOrEngine, pulled: pd.DataFrame) -> pd.DataFrame:
    """Take orders out of their live batches (``pulled``: batch_id, ORDER_KEY, reason): status
    ``pulled_out`` with the reason, the batches' counts recomputed, a batch left empty
    ``cancelled``. Returns the units released (batch_id, ORDER_KEY, sku, warehouse, quantity):
    stock the next run can give to other orders."""
    columns = ["batch_id", *ORDER_KEY, "sku", "warehouse", "quantity"]
    if pulled.empty:
        return pd.DataFrame(columns=columns)
    members_t, batches_t, lines_t = BatchOrder.__table__, ShippingBatch.__table__, BatchLine.__table__
    ids = sorted(set(pulled["batch_id"]))
    with _connection(conn_or_engine) as conn:
        # only orders still in a live batch: a concurrent hand-over or pull-out wins
        conn.execute(members_t.update().where(
            members_t.c.batch_id == sa.bindparam("b_batch"), members_t.c.platform == sa.bindparam("b_platform"),
            members_t.c.shop_id == sa.bindparam("b_shop"), members_t.c.order_id == sa.bindparam("b_order"),
            members_t.c.status == "in_batch",
            members_t.c.batch_id.in_(sa.select(batches_t.c.batch_id).where(   # no expanding IN: an executemany
                sa.or_(*[batches_t.c.status == s for s in LIVE_BATCH_STATUSES])))).values(
            status="pulled_out", pulled_out_reason=sa.bindparam("b_reason")), [
            {"b_batch": b, "b_platform": p, "b_shop": s, "b_order": o, "b_reason": r}
            for b, p, s, o, r in zip(pulled["batch_id"], pulled["platform"], pulled["shop_id"], pulled["order_id"],
                                     pulled["reason"])])
        _recount(conn, ids)
        conn.execute(batches_t.update().where(batches_t.c.batch_id.in_(ids), batches_t.c.order_count == 0,
                                              batches_t.c.status.in_(LIVE_BATCH_STATUSES)).values(status="cancelled"))
        released = pd.read_sql(sa.select(*[lines_t.c[c] for c in columns])
                               .join(members_t, sa.and_(members_t.c.batch_id == lines_t.c.batch_id,
                                                        _key_of(members_t, lines_t)))
                               .where(lines_t.c.batch_id.in_(ids), members_t.c.status == "pulled_out"), conn)
    keys = pulled[["batch_id", *ORDER_KEY]]
    released = released[released["quantity"] > 0]   # a gift that was missing was never taken from stock
    released = released.merge(keys, on=["batch_id", *ORDER_KEY])
    released["quantity"] = released["quantity"].astype("int64")
    return released


def _recount(conn: sa.Connection, batch_ids: list[str]) -> None:
    """order_count and unit_count of batches from their orders still in (or shipped from) them."""
    members_t, batches_t, lines_t = BatchOrder.__table__, ShippingBatch.__table__, BatchLine.__table__
    counted = members_t.c.status != "pulled_out"
    orders = (sa.select(sa.func.count()).where(members_t.c.batch_id == batches_t.c.batch_id, counted)
              .scalar_subquery())
    units = (sa.select(sa.func.coalesce(sa.func.sum(lines_t.c.quantity), 0))
             .join(members_t, sa.and_(members_t.c.batch_id == lines_t.c.batch_id, _key_of(members_t, lines_t)))
             .where(lines_t.c.batch_id == batches_t.c.batch_id, counted).scalar_subquery())
    conn.execute(batches_t.update().where(batches_t.c.batch_id.in_(batch_ids)).values(
        order_count=orders, unit_count=units))


def advance_batch(conn_or_engine: ConnOrEngine, batch_id: str, *, from_status: str, to_status: str,
                  at: datetime) -> bool:
    """Move a batch one step if it is still at ``from_status`` (two people moving the same batch
    at once: one wins, the other is told); sets ``<to_status>_at``. Returns whether it moved."""
    table = ShippingBatch.__table__
    with _connection(conn_or_engine) as conn:
        return conn.execute(table.update().where(table.c.batch_id == batch_id, table.c.status == from_status)
                            .values(status=to_status, **{f"{to_status}_at": at})).rowcount == 1


def mark_handed_over_orders(conn_or_engine: ConnOrEngine, parcels: pd.DataFrame, at: datetime) -> int:
    """The carrier has these orders (``parcels``: ORDER_KEY, carrier, tracking_no): the orders
    read ``shipped`` with their tracking number from now on. ``modified_at`` stays the
    marketplace's, so the marketplace's own shipped version still wins at the next pull."""
    table = Order.__table__
    if parcels.empty:
        return 0
    with _connection(conn_or_engine) as conn:
        return conn.execute(table.update().where(
            table.c.platform == sa.bindparam("k_platform"), table.c.shop_id == sa.bindparam("k_shop"),
            table.c.order_id == sa.bindparam("k_order"),
            sa.or_(*[table.c.status == s for s in RESERVING_STATUSES])).values(   # no IN: an executemany
            status="shipped", shipped_at=sa.bindparam("k_at"), carrier=sa.bindparam("k_carrier"),
            tracking_no=sa.bindparam("k_tracking")), [
            {"k_platform": p, "k_shop": s, "k_order": o, "k_at": at, "k_carrier": c, "k_tracking": n}
            for p, s, o, c, n in zip(parcels["platform"], parcels["shop_id"], parcels["order_id"],
                                     parcels["carrier"], parcels["tracking_no"])]).rowcount


def mark_confirmed(conn_or_engine: ConnOrEngine, batch_id: str, confirmed: pd.DataFrame) -> int:
    """The marketplace took the tracking numbers of ``confirmed`` (ORDER_KEY): ``shipped``."""
    table = BatchOrder.__table__
    if confirmed.empty:
        return 0
    with _connection(conn_or_engine) as conn:
        return conn.execute(table.update().where(
            table.c.batch_id == batch_id, table.c.platform == sa.bindparam("k_platform"),
            table.c.shop_id == sa.bindparam("k_shop"), table.c.order_id == sa.bindparam("k_order"),
            table.c.status == "in_batch").values(status="shipped"), [
            {"k_platform": p, "k_shop": s, "k_order": o}
            for p, s, o in zip(confirmed["platform"], confirmed["shop_id"], confirmed["order_id"])]).rowcount
