"""The warehouse's storage API for the flows: bulk order upserts and the bookkeeping writes.

No Prefect here. Every function takes an Engine (the call is one transaction of its own) or
a Connection (the call joins the caller's transaction; the caller commits).

How ``upsert_orders`` stays right and fast (domain-rules.md §1, "newest ``modified`` wins"):

1. the batch is reduced to the newest version of each order (pandas, no database);
2. orders, lines and refunds are *staged* into temporary tables with the driver's fastest
   bulk path — ``executemany`` on SQLite, ``COPY`` on PostgreSQL — from plain tuples built
   column by column (no ORM objects, no per-row dicts);
3. one set-based ``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE excluded.modified_at >
   orders.modified_at`` writes them. The guard is in the SQL, so two processes upserting
   the same orders at once can never let an older version overwrite a newer one;
4. the orders that won (new or newer) get their lines replaced and their refunds upserted,
   again set-based from the staging tables.

SQLite has a single writer, so the upsert first makes itself that writer; PostgreSQL reports
the winners of the guarded upsert itself through ``RETURNING (xmax = 0)`` while holding their
row locks until commit.

SQLite stages too, although it could ``executemany`` the guarded INSERT straight into
``orders``: measured (bench/bench_upsert.py), staging then INSERT … SELECT is as fast as a
plain ``executemany`` into the empty tables, and it lets both dialects share the same
set-based statements for winners, counts, lines and refunds.
"""
from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Protocol

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, ORDER_KEY, REFUND_COLUMNS, REFUND_KEY, CanonicalFrames
from warehouse.models import (
    Base,
    CaptureLog,
    IngestWatermark,
    Order,
    OrderLine,
    QuarantinedRecord,
    RawPage,
    Refund,
    Shop,
    Sku,
    UTCDateTime,
)

ConnOrEngine = sa.Connection | sa.Engine

#: rows converted to tuples at a time while staging: bounds memory, not a transaction size
STAGE_CHUNK_ROWS = 50_000

#: the orders frame may say which archived page each order came from
ORDER_STAGE_COLUMNS: tuple[str, ...] = (*ORDER_COLUMNS, "raw_page_id")


@dataclass(frozen=True)
class UpsertResult:
    """What ``upsert_orders`` did with the distinct orders of a batch.

    ``new + updated + unchanged + stale`` is the number of distinct orders; ``duplicates``
    counts extra versions of an order within the batch, dropped before writing.
    """

    new: int = 0
    updated: int = 0
    #: same ``modified_at`` as stored: nothing to write
    unchanged: int = 0
    #: older than the stored version (a late or replayed update): ignored
    stale: int = 0
    duplicates: int = 0


@contextmanager
def _connection(conn_or_engine: ConnOrEngine) -> Iterator[sa.Connection]:
    """The caller's connection as it is, or a new one whose transaction commits on success."""
    if isinstance(conn_or_engine, sa.Engine):
        with conn_or_engine.begin() as conn:
            yield conn
    else:
        yield conn_or_engine


def _insert(conn: sa.Connection, table: sa.Table):
    """The dialect's INSERT construct, which knows ON CONFLICT (same API on both dialects)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --- turning DataFrame columns into driver values ------------------------------------------

class _Kind(Enum):
    TIME = "time"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    TEXT = "text"


def _kind(column: sa.Column) -> _Kind:
    if isinstance(column.type, UTCDateTime):
        return _Kind.TIME
    if isinstance(column.type, sa.Integer):
        return _Kind.INTEGER
    if isinstance(column.type, sa.Boolean):
        return _Kind.BOOLEAN
    return _Kind.TEXT


def _as_utc(series: pd.Series, name: str) -> pd.Series:
    """``series`` as timezone-aware UTC; naive values are refused, as in ``UTCDateTime``."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    if series.dtype.kind == "M":
        raise ValueError(f"column {name} holds naive datetimes; canonical times must be timezone-aware UTC")
    naive = [v for v in series.dropna() if getattr(v, "tzinfo", None) is None]
    if naive:
        raise ValueError(f"column {name} holds {len(naive)} value(s) without a time zone, e.g. {naive[0]!r}")
    return pd.to_datetime(series, utc=True)


def _utc_texts(series: pd.Series, name: str, dialect: str) -> list[str | None]:
    """Times as the text the database stores, formatted by numpy instead of per-row Python.

    SQLite gets exactly ``UTCDateTime``'s storage text (so stored values compare as text);
    PostgreSQL gets the same with a ``Z``, so COPY never reads them in the session's zone.
    """
    instants = _as_utc(series, name).dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    texts = np.datetime_as_string(instants, unit="us", timezone="UTC" if dialect == "postgresql" else "naive")
    values = texts.astype(object)
    values[np.isnat(instants)] = None
    return values.tolist()


def _driver_values(series: pd.Series, column: sa.Column, dialect: str) -> list[Any]:
    """One column as plain Python values for ``executemany``/``COPY``; missing values as None.

    pandas turns a column with gaps into floats (an integer or flag column read from JSON,
    say): those are brought back to exact integers and booleans here. A text column holding
    floats is refused, because a float cannot carry an id above 2**53.
    """
    kind = _kind(column)
    if kind is _Kind.TIME:
        return _utc_texts(series, column.name, dialect)
    if kind is _Kind.INTEGER:
        if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":  # numpy ints have no gaps
            return series.tolist()
        series = series.astype("Int64")  # exact: refuses 12.5, keeps ids and fen whole
    elif kind is _Kind.BOOLEAN and series.dtype.kind == "f":
        series = series.astype("boolean")
    elif kind is _Kind.TEXT and series.dtype.kind == "f" and series.notna().any():
        raise TypeError(f"column {column.name} arrived as floats; ids and texts must be strings "
                        "(a float cannot hold ids above 2**53)")
    values = series.astype(object).to_numpy(copy=True)
    values[series.isna().to_numpy()] = None  # pd.NA / NaN / NaT → SQL NULL (drivers refuse NAType)
    return values.tolist()


def _rows(frame: pd.DataFrame, table: sa.Table, columns: tuple[str, ...], dialect: str) -> Iterator[tuple]:
    """The frame's rows as tuples in ``columns`` order, built a chunk of columns at a time."""
    for start in range(0, len(frame), STAGE_CHUNK_ROWS):
        part = frame.iloc[start:start + STAGE_CHUNK_ROWS]
        yield from zip(*(_driver_values(part[name], table.c[name], dialect) for name in columns))


# --- staging --------------------------------------------------------------------------------

def _temp(conn: sa.Connection, name: str) -> str:
    """A temporary table's qualified name, so a same-named real table is never touched."""
    return f"pg_temp.{name}" if conn.dialect.name == "postgresql" else f"temp.{name}"


def _stage(conn: sa.Connection, name: str, table: sa.Table, columns: tuple[str, ...], frame: pd.DataFrame) -> str:
    """Load ``frame`` into a new temporary table shaped like ``table``; return its name."""
    staged = _temp(conn, name)
    column_list = ", ".join(columns)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {staged}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {name} AS SELECT {column_list} FROM {table.name} WHERE false")
    dialect = conn.dialect.name
    rows = _rows(frame, table, columns, dialect)
    driver_connection = conn.connection.driver_connection
    if dialect == "postgresql":
        with driver_connection.cursor() as cursor, cursor.copy(f"COPY {staged} ({column_list}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        cursor = driver_connection.cursor()
        try:
            cursor.executemany(f"INSERT INTO {staged} ({column_list}) VALUES ({', '.join('?' * len(columns))})", rows)
        finally:
            cursor.close()
    return staged


# --- orders ---------------------------------------------------------------------------------

def _newest_versions_only(frames: CanonicalFrames) -> tuple[CanonicalFrames, int]:
    """Keep one version per order (the newest ``modified_at``; the first one on a tie).

    Lines carry no version, so a repeated order's lines are told apart by position: a
    version's lines arrive together, numbered upwards, in the same order as the versions
    themselves (how a normaliser emits pages). A line number that does not go up starts the
    next version's lines. Returns the frames and the number of versions dropped.
    """
    # positions, not labels: pages concatenated without reset_index repeat index labels
    orders, key = frames.orders.reset_index(drop=True), list(ORDER_KEY)
    # a refund repeated in the batch: its newest version (refunds without a time sort last)
    refunds = frames.refunds.reset_index(drop=True).sort_values("modified_at", ascending=False, kind="stable") \
        .drop_duplicates(list(REFUND_KEY), keep="first")
    repeated = orders.duplicated(key, keep=False)
    if not repeated.any():
        return CanonicalFrames(orders=orders, lines=frames.lines, refunds=refunds), 0

    version = orders.groupby(key, sort=False).cumcount().rename("_version")
    ranked = orders.assign(_version=version).sort_values(["modified_at", "_version"], ascending=[False, True])
    kept = ranked.drop_duplicates(key, keep="first")

    lines = frames.lines.reset_index(drop=True)
    repeated_keys = pd.MultiIndex.from_frame(orders.loc[repeated, key])
    of_repeated = pd.MultiIndex.from_frame(lines[key]).isin(repeated_keys)
    candidates = lines[of_repeated]
    groups = [candidates[c] for c in key]
    starts_version = candidates["line_no"] <= candidates.groupby(groups, sort=False)["line_no"].shift()
    line_version = starts_version.groupby(groups, sort=False).cumsum()
    kept_version = kept.set_index(key)["_version"]
    wanted = pd.MultiIndex.from_frame(candidates[key]).map(kept_version.to_dict()) == line_version.to_numpy()
    lines = pd.concat([lines[~of_repeated], candidates[wanted]])
    return (CanonicalFrames(orders=kept.drop(columns="_version").sort_index(), lines=lines, refunds=refunds),
            len(orders) - len(kept))


def _hold_sqlite_write_lock(conn: sa.Connection) -> None:
    """Become SQLite's (single) writer before reading which orders win.

    The winners are decided from what is stored; another process committing between that
    read and our writes could make us replace the lines of an order it had just made newer.
    A write that changes nothing takes the lock until commit; other writers wait for it
    (busy_timeout in ``warehouse.db``) instead of interleaving.
    """
    conn.exec_driver_sql("DELETE FROM orders WHERE false")


def _key_match(alias: str, other: str) -> str:
    return " AND ".join(f"{alias}.{c} = {other}.{c}" for c in ORDER_KEY)


def _guarded_orders_insert(conn: sa.Connection, staged: str) -> str:
    """INSERT … SELECT of the staged orders where only a newer version replaces a stored one."""
    columns = (*ORDER_STAGE_COLUMNS, "ingested_at")
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in ORDER_KEY)
    # PostgreSQL: rows locked in key order, so two concurrent upserts cannot deadlock
    ordered = "ORDER BY platform, shop_id, order_id " if conn.dialect.name == "postgresql" else ""
    return (f"INSERT INTO orders ({', '.join(columns)}) "
            f"SELECT {', '.join(ORDER_STAGE_COLUMNS)}, :ingested_at FROM {staged} WHERE true {ordered}"
            f"ON CONFLICT (platform, shop_id, order_id) DO UPDATE SET {updates} "
            f"WHERE excluded.modified_at > orders.modified_at")


def _write_winning_orders(conn: sa.Connection, staged: str, winners: str, ingested_at: datetime) -> None:
    """Upsert the staged orders and record in ``winners`` each order written (and if it was new)."""
    sql = _guarded_orders_insert(conn, staged)
    if conn.dialect.name == "postgresql":
        # xmax = 0: the row version was created by an INSERT, not by the ON CONFLICT UPDATE
        sql = (f"WITH upserted AS ({sql} RETURNING platform, shop_id, order_id, (xmax = 0) AS inserted) "
               f"INSERT INTO {winners} SELECT platform, shop_id, order_id, inserted FROM upserted")
    else:
        # SQLite: we hold the write lock, so the orders that will win can be read first, exactly
        conn.exec_driver_sql(
            f"INSERT INTO {winners} SELECT s.platform, s.shop_id, s.order_id, o.order_id IS NULL "
            f"FROM {staged} s LEFT JOIN orders o ON {_key_match('o', 's')} "
            f"WHERE o.order_id IS NULL OR s.modified_at > o.modified_at")
    conn.execute(sa.text(sql).bindparams(sa.bindparam("ingested_at", type_=UTCDateTime())),
                 {"ingested_at": ingested_at})


def _replace_lines_and_refunds(conn: sa.Connection, winners: str, staged_lines: str, staged_refunds: str) -> None:
    """Lines of every winning order replaced by the staged ones; their refunds upserted."""
    key_list = ", ".join(ORDER_KEY)
    conn.exec_driver_sql(f"DELETE FROM order_lines WHERE ({key_list}) IN "
                         f"(SELECT {key_list} FROM {winners} WHERE NOT inserted)")
    conn.exec_driver_sql(f"INSERT INTO order_lines ({', '.join(LINE_COLUMNS)}) "
                         f"SELECT {', '.join(LINE_COLUMNS)} FROM {staged_lines} "
                         f"WHERE ({key_list}) IN (SELECT {key_list} FROM {winners})")
    refund_updates = ", ".join(f"{c} = excluded.{c}" for c in REFUND_COLUMNS if c not in REFUND_KEY)
    conn.exec_driver_sql(f"INSERT INTO refunds ({', '.join(REFUND_COLUMNS)}) "
                         f"SELECT {', '.join(REFUND_COLUMNS)} FROM {staged_refunds} "
                         f"WHERE ({key_list}) IN (SELECT {key_list} FROM {winners}) "
                         f"ON CONFLICT (platform, shop_id, refund_id) DO UPDATE SET {refund_updates} "
                         f"WHERE refunds.modified_at IS NULL OR excluded.modified_at > refunds.modified_at")


def upsert_orders(conn_or_engine: ConnOrEngine, frames: CanonicalFrames) -> UpsertResult:
    """Store a batch of validated canonical orders; the newest ``modified_at`` of each order wins.

    An incoming version replaces the stored one only if it is strictly newer; then the
    order's lines are replaced by the incoming ones and its refunds upserted. Equal or older
    versions change nothing (``unchanged``/``stale``). Lines whose order is not in the batch
    are not stored (validation quarantines them first). The orders frame may carry a
    ``raw_page_id`` column naming the archived page of each order.
    """
    frames, duplicates = _newest_versions_only(frames)
    orders = frames.orders
    if orders.empty:
        return UpsertResult(duplicates=duplicates)
    if orders["modified_at"].isna().any():
        raise ValueError("orders without modified_at cannot be stored: newest-wins needs it (quarantine them)")
    if "raw_page_id" not in orders.columns:
        orders = orders.assign(raw_page_id=None)

    with _connection(conn_or_engine) as conn:
        if conn.dialect.name == "sqlite":
            _hold_sqlite_write_lock(conn)
        staged_orders = _stage(conn, "_stage_orders", Order.__table__, ORDER_STAGE_COLUMNS, orders)
        staged_lines = _stage(conn, "_stage_lines", OrderLine.__table__, LINE_COLUMNS, frames.lines)
        staged_refunds = _stage(conn, "_stage_refunds", Refund.__table__, REFUND_COLUMNS, frames.refunds)
        winners = _temp(conn, "_winning_orders")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {winners}")
        conn.exec_driver_sql("CREATE TEMP TABLE _winning_orders "
                             "(platform VARCHAR(16), shop_id VARCHAR(64), order_id VARCHAR(64), inserted BOOLEAN)")

        _write_winning_orders(conn, staged_orders, winners, _utc_now())
        new, updated, same_as_stored = conn.exec_driver_sql(
            f"SELECT (SELECT count(*) FROM {winners} WHERE inserted), "
            f"(SELECT count(*) FROM {winners} WHERE NOT inserted), "
            f"(SELECT count(*) FROM {staged_orders} s JOIN orders o ON {_key_match('o', 's')} "
            f"WHERE o.modified_at = s.modified_at)").one()
        _replace_lines_and_refunds(conn, winners, staged_lines, staged_refunds)
        for table in (staged_orders, staged_lines, staged_refunds, winners):
            conn.exec_driver_sql(f"DROP TABLE {table}")

    unchanged = same_as_stored - new - updated  # rows just written also equal the stored version
    return UpsertResult(new=new, updated=updated, unchanged=unchanged,
                        stale=len(orders) - new - updated - unchanged, duplicates=duplicates)


# --- raw pages and quarantine ----------------------------------------------------------------

def archive_raw_page(conn_or_engine: ConnOrEngine, *, platform: str, shop_id: str, window_start: datetime,
                     window_end: datetime, page_no: int, payload: bytes, record_count: int,
                     fetched_at: datetime | None = None) -> int:
    """Keep a page exactly as the marketplace sent it (gzip); return its id.

    Archiving the same content for the same shop again (a rerun, an overlapping window)
    stores nothing new and returns the id of the page already kept.
    """
    digest = hashlib.sha256(payload).hexdigest()
    table = RawPage.__table__
    with _connection(conn_or_engine) as conn:
        conn.execute(_insert(conn, table).values(
            platform=platform, shop_id=shop_id, window_start=window_start, window_end=window_end,
            page_no=page_no, fetched_at=fetched_at or _utc_now(), content_sha256=digest,
            record_count=record_count, payload=gzip.compress(payload, mtime=0),
        ).on_conflict_do_nothing(index_elements=["shop_id", "content_sha256"]))
        return conn.scalar(sa.select(table.c.id).where(table.c.shop_id == shop_id, table.c.content_sha256 == digest))


def load_raw_page(conn_or_engine: ConnOrEngine, page_id: int) -> bytes:
    """The payload of an archived page as it was received (for replay and audit)."""
    with _connection(conn_or_engine) as conn:
        compressed = conn.scalar(sa.select(RawPage.payload).where(RawPage.id == page_id))
    if compressed is None:
        raise KeyError(f"no archived raw page with id {page_id}")
    return gzip.decompress(compressed)


@dataclass(frozen=True)
class QuarantineResult:
    #: records quarantined for the first time
    new: int
    #: the same record quarantined before: only its reasons and last check were refreshed
    seen_again: int


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: times as ISO text, missing values as null."""
    if frame.empty:
        return []
    return json.loads(frame.to_json(orient="records", date_format="iso", date_unit="us"))


def _record_key(record: dict[str, Any]) -> tuple:
    return tuple(record.get(c) for c in ORDER_KEY)


def quarantine_records(conn_or_engine: ConnOrEngine, rejected: pd.DataFrame, frames: CanonicalFrames, *,
                       raw_page_id: int | None = None, now: datetime | None = None) -> QuarantineResult:
    """Keep the rejected orders whole (order, lines, refunds) with every reason, for a person.

    ``rejected`` is ``domain.validation.ValidationOutcome.rejected`` (order key + ``reasons``);
    ``frames`` the batch it was validated from. The same record rejected again (a rerun) stays
    one row: its reasons and ``last_checked_at`` are refreshed, a decision already taken on it
    (released, discarded) is kept.
    """
    now = now or _utc_now()
    lines_of: dict[tuple, list] = {}
    for line in _json_records(frames.lines):
        lines_of.setdefault(_record_key(line), []).append(line)
    refunds_of: dict[tuple, list] = {}
    for refund in _json_records(frames.refunds):
        refunds_of.setdefault(_record_key(refund), []).append(refund)
    order_of = {_record_key(order): order for order in _json_records(frames.orders)}

    rows = []
    for rejection in _json_records(rejected):
        key = _record_key(rejection)
        record = {"order": order_of.get(key), "lines": lines_of.get(key, []), "refunds": refunds_of.get(key, [])}
        modified = (record["order"] or {}).get("modified_at")
        page_id = raw_page_id if raw_page_id is not None else (record["order"] or {}).get("raw_page_id")
        rows.append((key, record, list(rejection["reasons"]), modified, page_id))
    with _connection(conn_or_engine) as conn:
        return _store_quarantine(conn, rows, now)


def quarantine_raw_records(conn_or_engine: ConnOrEngine, platform: str, shop_id: str,
                           items: Iterable[tuple[str | None, dict[str, Any], list[str]]], *,
                           raw_page_id: int | None = None, now: datetime | None = None) -> QuarantineResult:
    """Keep records that could not even be normalised (``{"raw": record}``) with their reasons.

    ``items`` are ``(order id or None, the platform's record, reasons)``; a recheck
    normalises ``raw`` again once the cause is fixed.
    """
    now = now or _utc_now()
    rows = [((platform, shop_id, order_id), {"raw": record}, list(reasons), None, raw_page_id)
            for order_id, record, reasons in items]
    with _connection(conn_or_engine) as conn:
        return _store_quarantine(conn, rows, now)


def _store_quarantine(conn: sa.Connection, rows: list[tuple], now: datetime) -> QuarantineResult:
    """Insert (key, record, reasons, modified_at, raw_page_id) rows; one row per distinct record."""
    table = QuarantinedRecord.__table__
    new = 0
    for key, record, reasons, modified, page_id in rows:
        canonical_text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        insert = _insert(conn, table).values(
            platform=key[0], shop_id=key[1], order_id=key[2], record=json.loads(canonical_text),
            record_sha256=hashlib.sha256(canonical_text.encode()).hexdigest(),
            reasons=reasons, status="open",
            record_modified_at=pd.Timestamp(modified).to_pydatetime() if modified else None,
            raw_page_id=page_id, first_seen_at=now, last_checked_at=now,
        )
        insert = insert.on_conflict_do_update(
            index_elements=["platform", "shop_id", "record_sha256"],
            set_={"reasons": insert.excluded.reasons, "last_checked_at": insert.excluded.last_checked_at},
        ).returning(table.c.first_seen_at)
        new += conn.scalar(insert) == now
    return QuarantineResult(new=new, seen_again=len(rows) - new)


def open_quarantine(conn_or_engine: ConnOrEngine, shop_id: str | None = None) -> list[dict[str, Any]]:
    """Open quarantined records, oldest first (id, shop, order, reasons, record, first seen)."""
    table = QuarantinedRecord.__table__
    query = sa.select(table).where(table.c.status == "open").order_by(table.c.id)
    if shop_id:
        query = query.where(table.c.shop_id == shop_id)
    with _connection(conn_or_engine) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def mark_quarantine(conn_or_engine: ConnOrEngine, ids: Iterable[int], status: str,
                    reasons_by_id: dict[int, list[str]] | None = None, now: datetime | None = None) -> int:
    """Set the status of quarantined records (released / discarded / open with new reasons)."""
    now = now or _utc_now()
    table = QuarantinedRecord.__table__
    changed = 0
    with _connection(conn_or_engine) as conn:
        for record_id in ids:
            values: dict[str, Any] = {"status": status, "last_checked_at": now}
            if status == "released":
                values["released_at"] = now
            if reasons_by_id and record_id in reasons_by_id:
                values["reasons"] = reasons_by_id[record_id]
            changed += conn.execute(sa.update(table).where(table.c.id == record_id).values(**values)).rowcount
    return changed


def known_skus(conn_or_engine: ConnOrEngine) -> frozenset[str]:
    """Every SKU of the catalogue (validation rejects lines whose SKU is not here)."""
    with _connection(conn_or_engine) as conn:
        return frozenset(conn.scalars(sa.select(Sku.__table__.c.sku)))


# --- watermarks and the run guard ----------------------------------------------------------

def get_watermark(conn_or_engine: ConnOrEngine, shop_id: str, stream: str = "orders") -> datetime | None:
    """How far ``stream`` of ``shop_id`` has been pulled; None before the first pull."""
    with _connection(conn_or_engine) as conn:
        return conn.scalar(sa.select(IngestWatermark.watermark_at).where(
            IngestWatermark.shop_id == shop_id, IngestWatermark.stream == stream))


def set_watermark(conn_or_engine: ConnOrEngine, shop_id: str, watermark_at: datetime,
                  stream: str = "orders") -> datetime:
    """Move the watermark forward to ``watermark_at``; return the watermark now stored.

    It never moves back: a rerun or a backfill of an older window finishing late must not
    make the next pull start over from there.
    """
    table = IngestWatermark.__table__
    with _connection(conn_or_engine) as conn:
        insert = _insert(conn, table).values(shop_id=shop_id, stream=stream, watermark_at=watermark_at,
                                             updated_at=_utc_now())
        conn.execute(insert.on_conflict_do_update(
            index_elements=["shop_id", "stream"],
            set_={"watermark_at": insert.excluded.watermark_at, "updated_at": insert.excluded.updated_at},
            where=sa.or_(table.c.watermark_at.is_(None), insert.excluded.watermark_at > table.c.watermark_at),
        ))
        return get_watermark(conn, shop_id, stream)


def acquire_lease(conn_or_engine: ConnOrEngine, shop_id: str, owner: str, ttl: timedelta,
                  stream: str = "orders", now: datetime | None = None) -> bool:
    """Take the run guard of ``stream`` of ``shop_id`` for ``owner`` (a flow run id) for ``ttl``.

    One statement decides, so two runs racing for a shop cannot both get it: it succeeds
    when the guard is free, expired (its run crashed without releasing) or already held by
    ``owner`` (which renews it).
    """
    now = now or _utc_now()
    table = IngestWatermark.__table__
    with _connection(conn_or_engine) as conn:
        insert = _insert(conn, table).values(shop_id=shop_id, stream=stream, updated_at=now,
                                             lease_owner=owner, lease_expires_at=now + ttl)
        taken = insert.on_conflict_do_update(
            index_elements=["shop_id", "stream"],
            set_={"lease_owner": insert.excluded.lease_owner, "lease_expires_at": insert.excluded.lease_expires_at},
            where=sa.or_(table.c.lease_owner.is_(None), table.c.lease_expires_at <= now,
                         table.c.lease_owner == insert.excluded.lease_owner),
        ).returning(table.c.lease_owner)
        return conn.execute(taken).first() is not None


def release_lease(conn_or_engine: ConnOrEngine, shop_id: str, owner: str, stream: str = "orders") -> bool:
    """Give the run guard back; False if ``owner`` no longer held it (it expired and was taken)."""
    table = IngestWatermark.__table__
    with _connection(conn_or_engine) as conn:
        released = conn.execute(
            table.update()
            .where(table.c.shop_id == shop_id, table.c.stream == stream, table.c.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )
        return released.rowcount == 1


# --- run bookkeeping, configuration mirrors, counts ----------------------------------------

@dataclass(frozen=True)
class CaptureLogEntry:
    """What one pulled window brought in and cost; one ``capture_log`` row."""

    shop_id: str
    window_start: datetime
    window_end: datetime
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    flow_run_id: str | None = None
    pages: int = 0
    orders_new: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    quarantined: int = 0
    late_updates: int = 0
    retries: int = 0
    throttle_waits: int = 0
    throttle_wait_s: float = 0.0
    duration_s: float | None = None
    error: str | None = None


def write_capture_log(conn_or_engine: ConnOrEngine, entry: CaptureLogEntry) -> int:
    """Append ``entry`` to the capture log; return its id."""
    with _connection(conn_or_engine) as conn:
        return conn.scalar(sa.insert(CaptureLog).values(asdict(entry)).returning(CaptureLog.id))


class ShopLike(Protocol):
    """What ``sync_shops`` reads from a shop (``config.schema.ShopConfig`` has it)."""

    id: str
    platform: str
    name: str
    timezone: str
    enabled: bool
    credentials_block: str | None


@dataclass(frozen=True)
class ShopSyncResult:
    added: int
    updated: int
    #: in the warehouse but no longer configured: disabled, never deleted (their orders stay)
    disabled: int


def sync_shops(conn_or_engine: ConnOrEngine, shops: Iterable[ShopLike]) -> ShopSyncResult:
    """Make the ``shops`` table mirror the configured shops."""
    table = Shop.__table__
    rows = [{"shop_id": s.id, "platform": s.platform, "name": s.name, "timezone": s.timezone,
             "enabled": s.enabled, "credentials_block": s.credentials_block} for s in shops]
    configured = {row["shop_id"] for row in rows}
    with _connection(conn_or_engine) as conn:
        stored = set(conn.scalars(sa.select(table.c.shop_id)))
        if rows:
            insert = _insert(conn, table)
            conn.execute(insert.on_conflict_do_update(
                index_elements=["shop_id"],
                set_={c: insert.excluded[c] for c in ("platform", "name", "timezone", "enabled", "credentials_block")},
            ), [{**row, "created_at": _utc_now()} for row in rows])
        disabled = conn.execute(
            table.update().where(table.c.shop_id.not_in(configured), table.c.enabled.is_(True)).values(enabled=False)
        ).rowcount
    return ShopSyncResult(added=len(configured - stored), updated=len(configured & stored), disabled=disabled)


def upsert_skus(conn_or_engine: ConnOrEngine, skus: pd.DataFrame) -> int:
    """Insert or update catalogue items from a frame with ``sku``, ``name`` and any ``skus`` columns.

    Columns the frame does not have keep their stored values. Returns the number of rows.
    """
    table = Sku.__table__
    unknown = set(skus.columns) - set(table.c.keys())
    if unknown:
        raise ValueError(f"unknown SKU column(s) {sorted(unknown)}; known: {sorted(table.c.keys())}")
    if skus.empty:
        return 0
    columns = [c for c in skus.columns if c != "updated_at"]
    now = _utc_now()
    with _connection(conn_or_engine) as conn:
        values = [_driver_values(skus[c], table.c[c], conn.dialect.name) for c in columns]
        rows = [dict(zip(columns, row), updated_at=now) for row in zip(*values)]
        insert = _insert(conn, table)
        conn.execute(insert.on_conflict_do_update(
            index_elements=["sku"],
            set_={c: insert.excluded[c] for c in (*columns, "updated_at") if c != "sku"},
        ), rows)
    return len(rows)


def table_counts(conn_or_engine: ConnOrEngine) -> dict[str, int]:
    """Rows in each warehouse table that exists, by table name."""
    with _connection(conn_or_engine) as conn:
        existing = set(sa.inspect(conn).get_table_names())
        return {name: conn.scalar(sa.select(sa.func.count()).select_from(table))
                for name, table in sorted(Base.metadata.tables.items()) if name in existing}


# --- reads for reports -----------------------------------------------------------------------

def open_orders(conn_or_engine: ConnOrEngine, statuses: Iterable[str]) -> CanonicalFrames:
    """Orders in ``statuses`` with their lines (for follow-ups, batching, reservations)."""
    statuses = list(statuses)
    orders_t, lines_t = Order.__table__, OrderLine.__table__
    with _connection(conn_or_engine) as conn:
        orders = pd.read_sql(sa.select(*[orders_t.c[c] for c in ORDER_COLUMNS])
                             .where(orders_t.c.status.in_(statuses)), conn)
        lines = pd.read_sql(sa.select(*[lines_t.c[c] for c in LINE_COLUMNS])
                            .join(orders_t, sa.and_(*[orders_t.c[k] == lines_t.c[k] for k in ORDER_KEY]))
                            .where(orders_t.c.status.in_(statuses)), conn)
    for column in ("created_at", "paid_at", "modified_at", "shipped_at", "ship_by_at"):
        orders[column] = pd.to_datetime(orders[column], utc=True, format="ISO8601")
    return CanonicalFrames(orders=orders, lines=lines)


def available_by_sku(conn_or_engine: ConnOrEngine) -> pd.Series:
    """Units available (on hand − reserved) per SKU over all warehouses; empty before any stock."""
    from warehouse.models import StockPosition

    table = StockPosition.__table__
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(sa.select(table.c.sku, (table.c.on_hand - table.c.reserved).label("available")), conn)
    return frame.groupby("sku")["available"].sum() if len(frame) else pd.Series(dtype="int64")
