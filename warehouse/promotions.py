"""Storage of the promotion campaigns (domain-rules.md §6): campaign state, the price history
the 30-day rule reads, listing buffers during a campaign, and the campaign report queries.

No Prefect here. Like ``warehouse.repository``, every function takes an Engine (its own
transaction) or a Connection (joins the caller's). Reads and writes are set-based: the price
history is derived with one ``INSERT … SELECT … GROUP BY … ON CONFLICT`` per source, the
report reads are one joined query each.

Price history, decided here: the marketplaces give no price-history API, so the history is
what the warehouse saw — per shop, SKU and UTC day the lowest *unit price* of sold order
lines (the price the item was listed at when bought, before per-line coupons and order
discounts, which are separate mechanics just as the campaign's own coupons are), plus every
listing price read (``listings.price_minor``). Re-deriving a day replaces its row, so running
it twice changes nothing.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any

import pandas as pd
import sqlalchemy as sa

from domain.canonical import ORDER_KEY
from warehouse.models import Listing, Order, OrderLine, PriceObservation, Promotion, Refund
from warehouse.repository import ConnOrEngine, _connection, _insert, _times

#: orders that were a sale at some point (refunded ones included: the refund rate needs them)
SOLD_EXCLUDED_STATUSES: tuple[str, ...] = ("pending_payment", "cancelled")
#: a refund that was not rejected or withdrawn
REFUND_COUNTING_STATUSES: tuple[str, ...] = ("requested", "refunding", "refunded")
PROMOTED_LINE_COLUMNS: tuple[str, ...] = (
    *ORDER_KEY, "status", "currency", "total_minor", "paid_at", "shipped_at", "ship_by_at", "modified_at",
    "is_presale", "presale_balance_paid", "has_refund", "sku", "quantity", "line_total_minor")


# --- campaign state ----------------------------------------------------------------------

def read_promotion(conn_or_engine: ConnOrEngine, name: str) -> dict[str, Any] | None:
    """The campaign's row (name, definition, prep_date, window_start, window_end, status, state)."""
    table = Promotion.__table__
    with _connection(conn_or_engine) as conn:
        row = conn.execute(sa.select(table).where(table.c.name == name)).mappings().first()
    return dict(row) if row else None


def write_promotion(conn_or_engine: ConnOrEngine, *, name: str, definition: dict[str, Any], prep_date: date,
                    window_start: datetime, window_end: datetime, status: str, state: dict[str, Any],
                    now: datetime | None = None) -> None:
    """Insert or replace the campaign's row (one row per campaign name)."""
    table = Promotion.__table__
    values = dict(name=name, definition=definition, prep_date=prep_date, window_start=window_start,
                  window_end=window_end, status=status, state=state, updated_at=now or datetime.now(timezone.utc))
    with _connection(conn_or_engine) as conn:
        insert = _insert(conn, table).values(**values)
        conn.execute(insert.on_conflict_do_update(index_elements=["name"],
                                                  set_={k: insert.excluded[k] for k in values if k != "name"}))


# --- price history -----------------------------------------------------------------------

def _utc_day(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """The start of the UTC day of a ``UTCDateTime`` column, in the column's storage form."""
    if dialect == "postgresql":
        return sa.func.timezone("UTC", sa.func.date_trunc("day", sa.func.timezone("UTC", column)))
    # SQLite stores 'YYYY-MM-DDTHH:MM:SS.ffffff' (UTC): the day's start keeps that text layout
    return sa.func.substr(column, 1, 10).concat("T00:00:00.000000")


def refresh_price_history(conn_or_engine: ConnOrEngine, skus: Iterable[str], start: datetime, end: datetime,
                          now: datetime | None = None) -> None:
    """Derive the price history of ``skus`` from order lines paid in ``[start, end)`` (one row per
    shop, SKU and UTC day: the lowest unit price) and record each listing's current price at
    ``now``. Idempotent per day."""
    skus = list(skus)
    history, orders_t, lines_t, listings_t = (PriceObservation.__table__, Order.__table__, OrderLine.__table__,
                                              Listing.__table__)
    now = now or datetime.now(timezone.utc)
    with _connection(conn_or_engine) as conn:
        day = _utc_day(orders_t.c.paid_at, conn.dialect.name)
        derived = (sa.select(orders_t.c.shop_id, lines_t.c.sku, day.label("observed_at"),
                             sa.func.min(lines_t.c.unit_price_minor), sa.func.min(lines_t.c.currency),
                             sa.literal("order_lines"))
                   .join(orders_t, sa.and_(*[orders_t.c[k] == lines_t.c[k] for k in ORDER_KEY]))
                   .where(lines_t.c.sku.in_(skus), orders_t.c.paid_at >= start, orders_t.c.paid_at < end,
                          orders_t.c.status.not_in(SOLD_EXCLUDED_STATUSES), lines_t.c.unit_price_minor > 0,
                          sa.func.coalesce(lines_t.c.is_gift, False).is_(False))
                   .group_by(orders_t.c.shop_id, lines_t.c.sku, day))
        columns = ["shop_id", "sku", "observed_at", "price_minor", "currency", "source"]
        insert = _insert(conn, history).from_select(columns, derived)
        conn.execute(insert.on_conflict_do_update(
            index_elements=["shop_id", "sku", "observed_at"],
            set_={"price_minor": insert.excluded.price_minor, "currency": insert.excluded.currency,
                  "source": insert.excluded.source}))
        listed = (sa.select(listings_t.c.shop_id, listings_t.c.sku, sa.literal(now, history.c.observed_at.type),
                            sa.func.min(listings_t.c.price_minor), sa.func.min(listings_t.c.currency),
                            sa.literal("listing"))
                  .where(listings_t.c.sku.in_(skus), listings_t.c.price_minor.is_not(None),
                         listings_t.c.currency.is_not(None), listings_t.c.enabled.is_(True))
                  .group_by(listings_t.c.shop_id, listings_t.c.sku))
        insert = _insert(conn, history).from_select(columns, listed)
        conn.execute(insert.on_conflict_do_nothing(index_elements=["shop_id", "sku", "observed_at"]))


def read_price_history(conn_or_engine: ConnOrEngine, skus: Iterable[str], start: datetime, end: datetime,
                       currency: str) -> pd.DataFrame:
    """Observations of ``skus`` in ``[start, end)`` in ``currency``: shop_id, sku, observed_at,
    price_minor, source (oldest first)."""
    table = PriceObservation.__table__
    query = (sa.select(table.c.shop_id, table.c.sku, table.c.observed_at, table.c.price_minor, table.c.source)
             .where(table.c.sku.in_(list(skus)), table.c.observed_at >= start, table.c.observed_at < end,
                    table.c.currency == currency)
             .order_by(table.c.observed_at, table.c.shop_id, table.c.sku))
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(query, conn)
    frame["price_minor"] = frame["price_minor"].astype("int64")
    return _times(frame, "observed_at")


# --- listing buffers during a campaign ----------------------------------------------------

def listing_buffers(conn_or_engine: ConnOrEngine, shops: Iterable[str], skus: Iterable[str]) -> pd.DataFrame:
    """Buffers of the listings of ``skus`` in ``shops``: shop_id, marketplace_item_id,
    marketplace_sku_id, sku, buffer."""
    table = Listing.__table__
    query = (sa.select(table.c.shop_id, table.c.marketplace_item_id, table.c.marketplace_sku_id, table.c.sku,
                       table.c.buffer)
             .where(table.c.shop_id.in_(list(shops)), table.c.sku.in_(list(skus)))
             .order_by(table.c.shop_id, table.c.marketplace_item_id, table.c.marketplace_sku_id))
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(query, conn)
    frame["buffer"] = frame["buffer"].astype("int64")
    return frame


def set_listing_buffers(conn_or_engine: ConnOrEngine, buffers: pd.DataFrame) -> int:
    """Set ``buffer`` of each listing in ``buffers`` (its key columns and buffer): one executemany."""
    table = Listing.__table__
    rows = [{"k_shop": r.shop_id, "k_item": r.marketplace_item_id, "k_sku": r.marketplace_sku_id,
             "new_buffer": int(r.buffer)} for r in buffers.itertuples(index=False)]
    if not rows:
        return 0
    statement = table.update().where(
        table.c.shop_id == sa.bindparam("k_shop"), table.c.marketplace_item_id == sa.bindparam("k_item"),
        table.c.marketplace_sku_id == sa.bindparam("k_sku")).values(buffer=sa.bindparam("new_buffer"))
    with _connection(conn_or_engine) as conn:
        return conn.execute(statement, rows).rowcount


# --- campaign report reads ---------------------------------------------------------------

def promoted_lines(conn_or_engine: ConnOrEngine, shops: Iterable[str], skus: Iterable[str], start: datetime,
                   end: datetime) -> pd.DataFrame:
    """Lines of ``skus`` in sold orders of ``shops`` paid in ``[start, end)``, each with its
    order's status, total, times and ``has_refund`` (a refund requested, under way or paid)
    (``PROMOTED_LINE_COLUMNS``). One joined query; gift lines are left out."""
    orders_t, lines_t, refunds_t = Order.__table__, OrderLine.__table__, Refund.__table__
    refunded = (sa.exists().where(refunds_t.c.platform == orders_t.c.platform,
                                  refunds_t.c.shop_id == orders_t.c.shop_id,
                                  refunds_t.c.order_id == orders_t.c.order_id,
                                  refunds_t.c.status.in_(REFUND_COUNTING_STATUSES))
                | orders_t.c.status.in_(("refunding", "refunded"))).label("has_refund")
    query = (sa.select(*[orders_t.c[k] for k in ORDER_KEY], orders_t.c.status, orders_t.c.currency,
                       orders_t.c.total_minor, orders_t.c.paid_at, orders_t.c.shipped_at, orders_t.c.ship_by_at,
                       orders_t.c.modified_at, orders_t.c.is_presale, orders_t.c.presale_balance_paid, refunded, lines_t.c.sku, lines_t.c.quantity, lines_t.c.line_total_minor)
             .join(orders_t, sa.and_(*[orders_t.c[k] == lines_t.c[k] for k in ORDER_KEY]))
             .where(orders_t.c.shop_id.in_(list(shops)), lines_t.c.sku.in_(list(skus)),
                    orders_t.c.paid_at >= start, orders_t.c.paid_at < end,
                    orders_t.c.status.not_in(SOLD_EXCLUDED_STATUSES),
                    sa.func.coalesce(lines_t.c.is_gift, False).is_(False)))
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(query, conn)
    frame["has_refund"] = frame["has_refund"].astype(bool)
    for column in ("quantity", "line_total_minor", "total_minor"):
        frame[column] = frame[column].astype("int64")
    return _times(frame, "paid_at", "shipped_at", "ship_by_at", "modified_at")[list(PROMOTED_LINE_COLUMNS)]


def orders_of(lines: pd.DataFrame) -> pd.DataFrame:
    """The distinct orders of ``promoted_lines`` rows (one row per order key)."""
    # what the deadline rule needs too (domain.batching.shipping_deadline: presale, last change)
    columns = [*ORDER_KEY, "status", "currency", "total_minor", "paid_at", "shipped_at", "ship_by_at", "modified_at",
               "is_presale", "presale_balance_paid", "has_refund"]
    return lines[columns].drop_duplicates(subset=list(ORDER_KEY), ignore_index=True)
