"""The warehouse schema: SQLAlchemy 2.0 declarative models for every table of domain-rules.md.

Storage conventions, the same on SQLite and PostgreSQL:

- money is an integer amount of minor units (``*_minor``, BigInteger) next to a ``currency``
  code: float never touches an amount;
- times are :class:`UTCDateTime`: written only from timezone-aware values, read back aware
  in UTC; the shop's own zone lives on :class:`Shop` for reporting;
- business ids (order, line, refund, item ids) are strings: Taobao ids exceed 2**53;
- surrogate ids (``id`` columns) are integers the database assigns;
- enumerations are short strings guarded by CHECK constraints, so a wrong value fails loudly
  at write time instead of surfacing in a report weeks later.

Foreign keys are declared only from a child to the parent that owns it (an order's lines, a
stocktake's lines …). Facts arriving from outside (orders for a shop not yet configured,
ledger rows for a SKU not yet in the catalogue) are stored as they come and reconciled by the
flows, because refusing them would lose data the domain rules say must be kept.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column
from sqlalchemy.types import TypeDecorator

from domain.canonical import CANONICAL_STATUSES

#: Constraint names follow one scheme so Alembic migrations are deterministic and a
#: constraint can be dropped by name on every dialect (SQLite batch mode needs names).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: SQLite only auto-assigns ``INTEGER PRIMARY KEY`` (the rowid alias), not ``BIGINT``.
SurrogateId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """A timestamp that is always UTC and always timezone-aware in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no time zone type, so the value is stored
    as naive UTC text and made aware again when read. Naive datetimes are rejected when
    written: guessing their zone is how an 8-hour shift (Asia/Shanghai vs UTC) gets in.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    #: SQLite text layout: ISO 8601 with a fixed six-digit fraction, so text order is time
    #: order (the newest-wins guard compares stored values) and the bulk path of
    #: ``warehouse.repository`` can produce the identical text with numpy
    SQLITE_STORAGE_FORMAT = (
        "%(year)04d-%(month)02d-%(day)02dT%(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
    )

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sqlite.DATETIME(storage_format=self.SQLITE_STORAGE_FORMAT))
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a timezone-aware datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a time zone (UTC)")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def one_of(column: str, values: tuple[str, ...] | frozenset[str]) -> sa.CheckConstraint:
    """CHECK that ``column`` holds one of ``values`` (named ``ck_<table>_<column>_allowed``)."""
    allowed = ", ".join(f"'{v}'" for v in sorted(values))
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
        bytes: sa.LargeBinary(),
    }


# Helpers for the recurring column shapes; each returns a fresh column.

def money() -> Mapped[int]:
    return mapped_column(sa.BigInteger)


def currency() -> Mapped[str]:
    return mapped_column(sa.String(3))


def created_now() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utc_now)


# --- §0 who and where ---------------------------------------------------------------------

class Shop(Base):
    """A shop on one marketplace, mirrored from config/shops.yaml by ``sync_shops``."""

    __tablename__ = "shops"

    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    enabled: Mapped[bool] = mapped_column(default=True)
    #: the *name* of the Prefect block holding the app secret, never the secret (§7)
    credentials_block: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = created_now()


class Warehouse(Base):
    __tablename__ = "warehouses"

    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))


class Sku(Base):
    """An item of the catalogue with what restocking needs (supplier, lead time, pack sizes)."""

    __tablename__ = "skus"

    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    variant: Mapped[str | None] = mapped_column(sa.String(200))
    category: Mapped[str | None] = mapped_column(sa.String(100))
    supplier: Mapped[str | None] = mapped_column(sa.String(64))
    lead_time_days: Mapped[int | None]
    case_pack: Mapped[int] = mapped_column(default=1)
    moq: Mapped[int] = mapped_column(default=1)
    unit_cost_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    bin_location: Mapped[str | None] = mapped_column(sa.String(32))
    default_warehouse: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = created_now()


# --- §1 orders --------------------------------------------------------------------------------

class RawPage(Base):
    """One page of a marketplace reply exactly as received (gzip), for audit and replay."""

    __tablename__ = "raw_pages"
    # the same page archived twice (a rerun, an overlapping window) is one row
    __table_args__ = (sa.UniqueConstraint("shop_id", "content_sha256"),)

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(16))
    shop_id: Mapped[str] = mapped_column(sa.String(64))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    page_no: Mapped[int]
    fetched_at: Mapped[datetime]
    #: hash of the uncompressed payload, so compression settings never change identity
    content_sha256: Mapped[str] = mapped_column(sa.String(64))
    record_count: Mapped[int]
    payload: Mapped[bytes]


class Order(Base):
    """The newest known version of an order (columns: ``domain.canonical.ORDER_COLUMNS``)."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.Index(None, "shop_id", "modified_at"),
        sa.Index(None, "status"),
        sa.Index(None, "paid_at"),
        # the settlement's month range (placed = created_at, else paid_at) and its new-buyer check
        sa.Index(None, "created_at"),
        sa.Index(None, "shop_id", "buyer_key"),
        one_of("status", CANONICAL_STATUSES),
    )

    platform: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(24))
    platform_status: Mapped[str | None] = mapped_column(sa.String(64))
    currency: Mapped[str] = currency()
    total_minor: Mapped[int] = money()
    post_fee_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    discount_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    tax_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    #: drives "newest wins": an upsert only replaces a row whose modified_at is older
    modified_at: Mapped[datetime]
    shipped_at: Mapped[datetime | None]
    ship_by_at: Mapped[datetime | None]
    is_presale: Mapped[bool | None]
    presale_balance_paid: Mapped[bool | None]
    buyer_key: Mapped[str | None] = mapped_column(sa.String(64))
    buyer_nick_masked: Mapped[str | None] = mapped_column(sa.String(100))
    receiver_name_masked: Mapped[str | None] = mapped_column(sa.String(100))
    receiver_phone_masked: Mapped[str | None] = mapped_column(sa.String(32))
    province: Mapped[str | None] = mapped_column(sa.String(64))
    city: Mapped[str | None] = mapped_column(sa.String(64))
    district: Mapped[str | None] = mapped_column(sa.String(64))
    address_masked: Mapped[str | None] = mapped_column(sa.String(400))
    address_hash: Mapped[str | None] = mapped_column(sa.String(64))
    buyer_remark: Mapped[str | None] = mapped_column(sa.Text)
    seller_remark: Mapped[str | None] = mapped_column(sa.Text)
    carrier: Mapped[str | None] = mapped_column(sa.String(64))
    tracking_no: Mapped[str | None] = mapped_column(sa.String(64))
    line_count: Mapped[int | None]
    ingested_at: Mapped[datetime]
    #: the archived page this version came from (no FK: raw pages may be pruned by age)
    raw_page_id: Mapped[int | None] = mapped_column(sa.BigInteger)


class OrderLine(Base):
    """A line of an order; replaced as a whole whenever a newer order version is stored."""

    __tablename__ = "order_lines"
    __table_args__ = (
        sa.ForeignKeyConstraint(["platform", "shop_id", "order_id"],
                                ["orders.platform", "orders.shop_id", "orders.order_id"],
                                ondelete="CASCADE"),
        sa.Index(None, "sku"),
    )

    platform: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[str | None] = mapped_column(sa.String(64))
    sku: Mapped[str | None] = mapped_column(sa.String(64))
    marketplace_item_id: Mapped[str | None] = mapped_column(sa.String(64))
    marketplace_sku_id: Mapped[str | None] = mapped_column(sa.String(64))
    title: Mapped[str | None] = mapped_column(sa.String(400))
    variant: Mapped[str | None] = mapped_column(sa.String(200))
    quantity: Mapped[int]
    unit_price_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    line_total_minor: Mapped[int] = money()
    discount_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = currency()
    is_gift: Mapped[bool | None]
    refund_status: Mapped[str | None] = mapped_column(sa.String(32))


class Refund(Base):
    """A refund or return; kept apart from orders because it arrives through its own stream."""

    __tablename__ = "refunds"
    __table_args__ = (
        sa.Index(None, "shop_id", "order_id"),
        one_of("status", ("requested", "refunding", "refunded", "rejected", "closed")),
    )

    platform: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    refund_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(sa.String(64))
    line_id: Mapped[str | None] = mapped_column(sa.String(64))
    sku: Mapped[str | None] = mapped_column(sa.String(64))
    quantity: Mapped[int | None]
    #: unknown while a refund is still being negotiated (PDD reports no amount until it settles)
    amount_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = currency()
    status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime | None]
    modified_at: Mapped[datetime | None]


#: one open quarantine row per order version (issue 19 #10); records without an order id or
#: modified time are told apart by their hash alone
_OPEN_VERSION = sa.text("status = 'open'")


class QuarantinedRecord(Base):
    """An order that failed validation, kept whole with every reason until a person decides.

    One open row per order version (platform, shop, order id, modified time): a re-read
    refreshes its reasons and ``last_checked_at``. ``superseded``: a valid version of the
    order at least as new was stored since, so there is nothing left to decide."""

    __tablename__ = "quarantine"
    __table_args__ = (
        # The brief's key (platform, shop_id, order_id, record_sha256) would not deduplicate
        # records without an order id (NULLs are distinct in unique constraints); the hash
        # already covers the order id, so it is left out of the constraint.
        sa.UniqueConstraint("platform", "shop_id", "record_sha256"),
        sa.Index(None, "platform", "shop_id", "order_id"),
        sa.Index(None, "status"),
        sa.Index("uq_quarantine_open_version", "platform", "shop_id", "order_id", "record_modified_at", unique=True,
                 sqlite_where=_OPEN_VERSION, postgresql_where=_OPEN_VERSION),
        one_of("status", ("open", "released", "discarded", "superseded")),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(16))
    shop_id: Mapped[str] = mapped_column(sa.String(64))
    order_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: the order with its lines and refunds, enough to rebuild CanonicalFrames and re-validate
    record: Mapped[dict[str, Any]]
    record_sha256: Mapped[str] = mapped_column(sa.String(64))
    reasons: Mapped[list[Any]]
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    record_modified_at: Mapped[datetime | None]
    raw_page_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    first_seen_at: Mapped[datetime]
    last_checked_at: Mapped[datetime]
    released_at: Mapped[datetime | None]


class IngestWatermark(Base):
    """How far a shop's stream has been pulled, and the lease that lets one run pull it."""

    __tablename__ = "ingest_watermarks"

    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default="orders")
    #: NULL until the first successful pull (the lease row can exist before that)
    watermark_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    #: flow run id holding the run guard; NULL when free
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_expires_at: Mapped[datetime | None]


class CaptureLog(Base):
    """One row per pulled window: what came in and what it cost (throttling, retries)."""

    __tablename__ = "capture_log"
    __table_args__ = (sa.Index(None, "shop_id", "started_at"),)

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    flow_run_id: Mapped[str | None] = mapped_column(sa.String(64))
    shop_id: Mapped[str] = mapped_column(sa.String(64))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    pages: Mapped[int] = mapped_column(default=0)
    orders_new: Mapped[int] = mapped_column(default=0)
    orders_updated: Mapped[int] = mapped_column(default=0)
    orders_unchanged: Mapped[int] = mapped_column(default=0)
    quarantined: Mapped[int] = mapped_column(default=0)
    #: versions older than the stored one (a late or replayed update that lost)
    late_updates: Mapped[int] = mapped_column(default=0)
    retries: Mapped[int] = mapped_column(default=0)
    throttle_waits: Mapped[int] = mapped_column(default=0)
    throttle_wait_s: Mapped[float] = mapped_column(default=0.0)
    duration_s: Mapped[float | None]
    #: free text kept short (e.g. succeeded, failed, partial): set by the pull flow
    status: Mapped[str] = mapped_column(sa.String(16))
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    #: the platform's own count summed over the windows read (NULL: no window had one, Amazon)
    orders_expected: Mapped[int | None]
    #: distinct orders on the windows' pages, to set against ``orders_expected``
    orders_captured: Mapped[int | None]


class CaptureWindow(Base):
    """One row per window a pull read: the platform's own count next to what was captured.

    ``expected`` NULL: the API gives no count (Amazon: complete = NextToken exhausted).
    ``incomplete``: fewer orders on the pages than the count, also after reading it again
    (``reads`` 2); the watermark was not moved past ``window_start``.
    """

    __tablename__ = "capture_windows"
    __table_args__ = (sa.Index(None, "shop_id", "window_start"), one_of("status", ("complete", "incomplete")))

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    capture_log_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    flow_run_id: Mapped[str | None] = mapped_column(sa.String(64))
    shop_id: Mapped[str] = mapped_column(sa.String(64))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    expected: Mapped[int | None]
    captured: Mapped[int]
    reads: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(16))
    recorded_at: Mapped[datetime] = created_now()


class IngestRewind(Base):
    """A watermark moved back by a person (``shopops ingest rewind``): who, why, from where to where."""

    __tablename__ = "ingest_rewinds"
    __table_args__ = (sa.Index(None, "shop_id", "rewound_at"),)

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    shop_id: Mapped[str] = mapped_column(sa.String(64))
    stream: Mapped[str] = mapped_column(sa.String(32), default="orders")
    from_at: Mapped[datetime | None]
    to_at: Mapped[datetime]
    rewound_by: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.Text)
    rewound_at: Mapped[datetime] = created_now()


# --- §2 stock -----------------------------------------------------------------------------

class StockLedgerEntry(Base):
    """A signed stock movement; positions are the ledger summed (opening + receipts − shipments ± adjustments)."""

    __tablename__ = "stock_ledger"
    __table_args__ = (
        # posting the same movement twice (a rerun) is one row: reference is the idempotency key
        sa.UniqueConstraint("kind", "reference", "sku", "warehouse"),
        sa.Index(None, "sku", "warehouse", "moved_at"),
        one_of("kind", ("opening", "receipt", "shipment", "adjustment", "stocktake")),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64))
    warehouse: Mapped[str] = mapped_column(sa.String(32))
    moved_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(16))
    quantity: Mapped[int]
    #: what caused the movement: a PO line, an order, a stocktake id …; never NULL so the
    #: unique constraint above really deduplicates
    reference: Mapped[str] = mapped_column(sa.String(128))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_now()


class StockPosition(Base):
    __tablename__ = "stock_positions"

    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    warehouse: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    #: paid, not yet shipped
    reserved: Mapped[int] = mapped_column(default=0)
    #: on open purchase orders with an expected date
    in_transit: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = created_now()

    # derived, never stored, so it cannot disagree with its two inputs
    available = column_property(on_hand - reserved)


class Stocktake(Base):
    """A physical count (WMS export or stocktake file) of one warehouse."""

    __tablename__ = "stocktakes"

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    warehouse: Mapped[str] = mapped_column(sa.String(32))
    counted_at: Mapped[datetime]
    #: where the count came from: a file name or a WMS export id
    source: Mapped[str] = mapped_column(sa.String(200))
    #: set by the reconcile flow (e.g. imported, reconciled)
    status: Mapped[str] = mapped_column(sa.String(16))


class StocktakeLine(Base):
    __tablename__ = "stocktake_lines"

    stocktake_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("stocktakes.id", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    counted_qty: Mapped[int]


class Listing(Base):
    """A marketplace listing (item × SKU variant) and the stock last pushed to / read from it."""

    __tablename__ = "listings"
    __table_args__ = (sa.Index(None, "sku"),)

    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    marketplace_item_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    #: '' for an item without variants (a primary key column cannot be NULL)
    marketplace_sku_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True, default="")
    sku: Mapped[str] = mapped_column(sa.String(64))
    #: share of available stock this listing may sell; shares of one SKU sum to <= 1
    allocation_share: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4))
    buffer: Mapped[int] = mapped_column(default=0)
    price_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    last_pushed_qty: Mapped[int | None]
    last_pushed_at: Mapped[datetime | None]
    last_read_qty: Mapped[int | None]
    last_read_at: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)


class StockPush(Base):
    """Every stock push, dry runs included: pushing is a write to a marketplace (§2)."""

    __tablename__ = "stock_pushes"
    __table_args__ = (sa.Index(None, "shop_id", "pushed_at"),
                      one_of("outcome", ("dry_run", "confirmed", "mismatch", "failed")))

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    shop_id: Mapped[str] = mapped_column(sa.String(64))
    marketplace_item_id: Mapped[str] = mapped_column(sa.String(64))
    marketplace_sku_id: Mapped[str] = mapped_column(sa.String(64))
    sku: Mapped[str] = mapped_column(sa.String(64))
    before_qty: Mapped[int | None]
    planned_qty: Mapped[int]
    after_qty: Mapped[int | None]
    dry_run: Mapped[bool]
    reply: Mapped[dict[str, Any] | None]
    confirmed: Mapped[bool] = mapped_column(default=False)
    #: dry_run | confirmed (read back = planned) | mismatch (read back differs) | failed (refused
    #: or unreachable: ``reply`` holds the error); ``after_qty`` is the read-back quantity
    outcome: Mapped[str] = mapped_column(sa.String(16))
    pushed_at: Mapped[datetime]
    flow_run_id: Mapped[str | None] = mapped_column(sa.String(64))


#: one open discrepancy per key (issue 17 #2): count records have no shop, listing records
#: name the shop's listing; NULLs never collide in a unique index, hence two partial ones
_OPEN_COUNT = sa.text("status = 'open' AND shop_id IS NULL")
_OPEN_LISTING = sa.text("status = 'open' AND shop_id IS NOT NULL")


class StockDiscrepancy(Base):
    """Warehouse count, ledger and listing disagree beyond tolerance: for a person to resolve.

    One open record per (kind, SKU, warehouse, shop and listing) until resolved; a later run
    that finds it again updates its numbers and ``last_seen_at``."""

    __tablename__ = "stock_discrepancies"
    __table_args__ = (
        sa.Index(None, "status"),
        sa.Index(None, "sku", "warehouse"),
        sa.Index("uq_stock_discrepancies_open_count", "kind", "sku", "warehouse", unique=True,
                 sqlite_where=_OPEN_COUNT, postgresql_where=_OPEN_COUNT),
        sa.Index("uq_stock_discrepancies_open_listing", "kind", "sku", "warehouse", "shop_id", "marketplace_item_id",
                 "marketplace_sku_id", unique=True, sqlite_where=_OPEN_LISTING, postgresql_where=_OPEN_LISTING),
        one_of("status", ("open", "resolved")),
        one_of("kind", ("count_vs_ledger", "oversell_risk", "undersell")),
        one_of("cause", ("unrecorded_shipment", "unrecorded_receipt", "listing_drift", "listing_edited")),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    flow_run_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: ``domain.stock`` record kind and suggested cause (``suggested_cause`` is the text)
    kind: Mapped[str] = mapped_column(sa.String(24))
    cause: Mapped[str] = mapped_column(sa.String(24))
    sku: Mapped[str] = mapped_column(sa.String(64))
    warehouse: Mapped[str] = mapped_column(sa.String(32))
    shop_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: the listing of a listing record (a shop may list one SKU more than once)
    marketplace_item_id: Mapped[str | None] = mapped_column(sa.String(64))
    marketplace_sku_id: Mapped[str | None] = mapped_column(sa.String(64))
    warehouse_count: Mapped[int | None]
    ledger_qty: Mapped[int | None]
    listing_qty: Mapped[int | None]
    #: what the push plan allows the listing (listing records)
    planned_qty: Mapped[int | None]
    difference: Mapped[int]
    suggested_cause: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    created_at: Mapped[datetime] = created_now()
    #: the last run that found it (``created_at``: open since)
    last_seen_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(sa.Text)


class PriceObservation(Base):
    """A price seen at a time: the 30-day lowest price of the campaign rules (§6).

    ``order_lines``: the lowest unit price a shop sold the SKU at on a UTC day (observed_at =
    the day's start); ``listing``: a listing's price as read (observed_at = the reading)."""

    __tablename__ = "price_history"
    __table_args__ = (sa.Index(None, "sku", "observed_at"), one_of("source", ("order_lines", "listing")))

    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(primary_key=True)
    price_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()
    source: Mapped[str] = mapped_column(sa.String(16), server_default="order_lines")


# --- §3 restock ---------------------------------------------------------------------------

class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    __table_args__ = (
        sa.Index(None, "status"),
        one_of("status", ("open", "partially_received", "received", "cancelled")),
    )

    po_no: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    supplier: Mapped[str] = mapped_column(sa.String(64))
    warehouse: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(24), default="open")
    ordered_at: Mapped[datetime]
    #: in-transit stock counts only lines of open orders with an expected date
    expected_at: Mapped[datetime | None]


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (sa.Index(None, "sku"),)

    po_no: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("purchase_orders.po_no", ondelete="CASCADE"), primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    qty_ordered: Mapped[int]
    qty_received: Mapped[int] = mapped_column(default=0)
    unit_cost_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str | None] = mapped_column(sa.String(3))


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        sa.Index(None, "sku", "kind", "created_at"),
        one_of("level", ("critical", "warning", "overstock")),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64))
    #: what the alert is about, e.g. restock
    kind: Mapped[str] = mapped_column(sa.String(32))
    level: Mapped[str] = mapped_column(sa.String(16))
    details: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = created_now()
    sent_at: Mapped[datetime | None]
    #: true when the cooldown held it back (kept so the report can still show it)
    suppressed: Mapped[bool] = mapped_column(default=False)
    flow_run_id: Mapped[str | None] = mapped_column(sa.String(64))


class AlertCooldown(Base):
    """Last alert sent per SKU and kind: not repeated within the cooldown unless the level worsens."""

    __tablename__ = "alert_cooldowns"
    __table_args__ = (one_of("level", ("critical", "warning", "overstock")),)

    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(16))
    last_sent_at: Mapped[datetime]


# --- §4 shipping --------------------------------------------------------------------------

class ShippingBatch(Base):
    """A wave of orders picked and packed together (one warehouse, carrier, single/multi item)."""

    __tablename__ = "shipping_batches"
    __table_args__ = (
        sa.Index(None, "status"),
        one_of("kind", ("single", "multi")),
        one_of("status", ("created", "picked", "packed", "handed_over", "cancelled")),
    )

    batch_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    warehouse: Mapped[str] = mapped_column(sa.String(32))
    carrier: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(16), default="created")
    order_count: Mapped[int]
    unit_count: Mapped[int]
    created_at: Mapped[datetime] = created_now()
    picked_at: Mapped[datetime | None]
    packed_at: Mapped[datetime | None]
    handed_over_at: Mapped[datetime | None]
    flow_run_id: Mapped[str | None] = mapped_column(sa.String(64))


class BatchOrder(Base):
    __tablename__ = "batch_orders"
    __table_args__ = (
        sa.Index(None, "platform", "shop_id", "order_id"),
        one_of("status", ("in_batch", "pulled_out", "shipped")),
    )

    batch_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("shipping_batches.batch_id", ondelete="CASCADE"), primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    #: orders with the same key (shop, buyer, address) ship as one parcel (合单)
    merge_key: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), default="in_batch")
    tracking_no: Mapped[str | None] = mapped_column(sa.String(64))
    pulled_out_reason: Mapped[str | None] = mapped_column(sa.Text)


class BatchLine(Base):
    """Units allocated to a batched order: what is picked, packed and posted as outbound at
    hand-over (gift lines included, the running promotion's too: they keep the ``line_no`` of
    the line that earned them, hence the SKU in the key)."""

    __tablename__ = "batch_lines"
    __table_args__ = (
        sa.ForeignKeyConstraint(["batch_id", "platform", "shop_id", "order_id"],
                                ["batch_orders.batch_id", "batch_orders.platform", "batch_orders.shop_id",
                                 "batch_orders.order_id"], ondelete="CASCADE"),
    )

    batch_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    title: Mapped[str | None] = mapped_column(sa.String(400))
    variant: Mapped[str | None] = mapped_column(sa.String(200))
    is_gift: Mapped[bool]
    quantity: Mapped[int]
    warehouse: Mapped[str] = mapped_column(sa.String(32))


class OrderHold(Base):
    """An order the shipping audit held back, with every reason (remark, address, refund …)."""

    __tablename__ = "order_holds"
    __table_args__ = (sa.Index(None, "platform", "shop_id", "order_id"),)

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    platform: Mapped[str] = mapped_column(sa.String(16))
    shop_id: Mapped[str] = mapped_column(sa.String(64))
    order_id: Mapped[str] = mapped_column(sa.String(64))
    reasons: Mapped[list[Any]]
    #: each reason in words, same order as ``reasons``
    details: Mapped[list[Any] | None]
    flow_run_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_now()
    released_at: Mapped[datetime | None]
    #: who released it: a person (e.g. after reading the remark), or the shipping run that found
    #: the reasons gone
    released_by: Mapped[str | None] = mapped_column(sa.String(100))


# --- §5 settlement inputs and results -----------------------------------------------------

class StaffMember(Base):
    __tablename__ = "staff"
    __table_args__ = (one_of("role", ("manager", "operations", "customer_service")),)

    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[str] = mapped_column(sa.String(24))
    joined_on: Mapped[date]
    #: staff leaving within a period get no commission for it
    left_on: Mapped[date | None]


class StaffShop(Base):
    """Who runs which shop, and their share of its revenue when several people run it."""

    __tablename__ = "staff_shops"

    person_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("staff.person_id", ondelete="CASCADE"), primary_key=True)
    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    share: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4))


class MonthlyTarget(Base):
    __tablename__ = "monthly_targets"
    __table_args__ = (one_of("scope", ("shop", "person")),)

    #: 'YYYY-MM'
    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    #: a shop id or a person id, depending on scope
    scope_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    target_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()


class MonthlyExpense(Base):
    __tablename__ = "monthly_expenses"

    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    shop_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    amount_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()


class CustomerServiceStats(Base):
    """A customer-service person's month: conversations, response time, attributed sales."""

    __tablename__ = "cs_stats"

    month: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    conversations: Mapped[int]
    avg_response_s: Mapped[float | None]
    conversion_rate: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 6))
    #: 询单转化销售额: the revenue basis of a customer-service person's commission
    attributed_sales_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()


class Settlement(Base):
    """One version of a month's settlement; a correction adds a version, the old one stays."""

    __tablename__ = "settlements"
    __table_args__ = (
        sa.UniqueConstraint("month", "preset", "version"),
        one_of("status", ("draft", "awaiting_approval", "correction_requested", "final", "superseded")),
    )

    id: Mapped[int] = mapped_column(SurrogateId, primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7))
    preset: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int]
    #: hash of every input, so "same inputs → identical figures" can be checked
    inputs_sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(24), default="draft")
    created_at: Mapped[datetime] = created_now()
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(sa.String(100))
    note: Mapped[str | None] = mapped_column(sa.Text)
    flow_run_id: Mapped[str | None] = mapped_column(sa.String(64))
    #: every input as hashed (``domain.settlement.inputs_snapshot``): a diff names what changed
    inputs: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: the statement's shop figures, store KPIs and customer-service KPIs, as published
    kpis: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class SettlementLine(Base):
    __tablename__ = "settlement_lines"

    settlement_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("settlements.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(24))
    revenue_minor: Mapped[int] = money()
    #: each KPI component: actual, target, score, weight
    components: Mapped[dict[str, Any]]
    #: full precision (the rules round only for display)
    coefficient: Mapped[Decimal] = mapped_column(sa.Numeric(12, 8))
    commission_minor: Mapped[int] = money()
    annual_bonus_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: e.g. coefficient below 0.6 for 3 months: for review, never acted on by the program
    flags: Mapped[list[Any]]


# --- §6 promotions ------------------------------------------------------------------------

class Promotion(Base):
    __tablename__ = "promotions"
    __table_args__ = (one_of("status", ("defined", "prepared", "running", "closed")),)

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    #: the promotion's YAML as loaded (mechanics, SKUs, windows)
    definition: Mapped[dict[str, Any]]
    prep_date: Mapped[date | None]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default="defined")
    #: what the campaign flows carry between runs (baseline figures, last report)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = created_now()
