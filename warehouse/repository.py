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
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, ORDER_KEY, REFUND_COLUMNS, REFUND_KEY, CanonicalFrames
from domain.normalise import mask_stored
from warehouse.models import (
    Base,
    CaptureLog,
    CaptureWindow,
    IngestRewind,
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


def _close_superseded_quarantine(conn: sa.Connection, winners: str) -> None:
    """Open quarantine rows of each order just stored whose version is not newer than the
    stored one become ``superseded``: a valid version replaced them (issue 19 #10)."""
    conn.execute(sa.text(
        f"UPDATE quarantine SET status = 'superseded', last_checked_at = :now "
        f"WHERE status = 'open' AND record_modified_at IS NOT NULL AND EXISTS (SELECT 1 FROM {winners} w "
        f"JOIN orders o ON {_key_match('o', 'w')} WHERE {_key_match('w', 'quarantine')} "
        f"AND quarantine.record_modified_at <= o.modified_at)").bindparams(
        sa.bindparam("now", type_=UTCDateTime())), {"now": _utc_now()})


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
        _close_superseded_quarantine(conn, winners)
        for table in (staged_orders, staged_lines, staged_refunds, winners):
            conn.exec_driver_sql(f"DROP TABLE {table}")

    unchanged = same_as_stored - new - updated  # rows just written also equal the stored version
    return UpsertResult(new=new, updated=updated, unchanged=unchanged,
                        stale=len(orders) - new - updated - unchanged, duplicates=duplicates)


# --- raw pages and quarantine ----------------------------------------------------------------

@dataclass(frozen=True)
class RawPageRow:
    """One marketplace response body to archive (``archive_raw_pages``)."""

    platform: str
    shop_id: str
    window_start: datetime
    window_end: datetime
    page_no: int
    payload: bytes
    record_count: int
    fetched_at: datetime | None = None


#: gzip level of archived pages: level 1 is ≈5× faster than the default 9 on marketplace JSON
#: (measured on Double-11 pages: 1.9 s of a 60 s pull at 9), and the archive is read rarely
RAW_PAGE_GZIP_LEVEL = 1

#: digests looked up per SELECT when finding archived ids (well below any driver's parameter limit)
_DIGESTS_PER_LOOKUP = 500


def archive_raw_pages(conn_or_engine: ConnOrEngine, pages: list[RawPageRow]) -> list[int]:
    """Keep pages as the marketplace sent them (gzip), in one INSERT; return their ids. Clear
    buyer phones and street addresses are masked first (``domain.pii.mask_payload``, §7), and so is
    every path of the platform's PII table (``domain.normalise.pii_paths``: nicks, e-mails, accounts, IPs …).

    Archiving the same content for the same shop again (a rerun, an overlapping window)
    stores nothing new and returns the id of the page already kept.
    """
    if not pages:
        return []
    table = RawPage.__table__
    now = _utc_now()
    # the generic phone/street/remark keys, then the platform's declared PII paths (issue 18 #12)
    payloads = [mask_stored(page.payload, page.platform) for page in pages]
    digests = [hashlib.sha256(payload).hexdigest() for payload in payloads]
    rows = [dict(platform=page.platform, shop_id=page.shop_id, window_start=page.window_start,
                 window_end=page.window_end, page_no=page.page_no, fetched_at=page.fetched_at or now,
                 content_sha256=digest, record_count=page.record_count,
                 payload=gzip.compress(payload, compresslevel=RAW_PAGE_GZIP_LEVEL, mtime=0))
            for page, payload, digest in zip(pages, payloads, digests)]
    with _connection(conn_or_engine) as conn:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(index_elements=["shop_id", "content_sha256"]), rows)
        ids: dict[tuple[str, str], int] = {}
        for shop_id in {page.shop_id for page in pages}:
            wanted = sorted({d for page, d in zip(pages, digests) if page.shop_id == shop_id})
            for at in range(0, len(wanted), _DIGESTS_PER_LOOKUP):
                found = conn.execute(sa.select(table.c.content_sha256, table.c.id).where(
                    table.c.shop_id == shop_id, table.c.content_sha256.in_(wanted[at:at + _DIGESTS_PER_LOOKUP])))
                ids.update(((shop_id, digest), page_id) for digest, page_id in found)
    return [ids[(page.shop_id, digest)] for page, digest in zip(pages, digests)]


def archive_raw_page(conn_or_engine: ConnOrEngine, *, platform: str, shop_id: str, window_start: datetime,
                     window_end: datetime, page_no: int, payload: bytes, record_count: int,
                     fetched_at: datetime | None = None) -> int:
    """Keep one page exactly as the marketplace sent it (gzip); return its id (see ``archive_raw_pages``)."""
    return archive_raw_pages(conn_or_engine, [RawPageRow(
        platform=platform, shop_id=shop_id, window_start=window_start, window_end=window_end, page_no=page_no,
        payload=payload, record_count=record_count, fetched_at=fetched_at)])[0]


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
                           items: Iterable[tuple], *,
                           raw_page_id: int | None = None, now: datetime | None = None) -> QuarantineResult:
    """Keep records that could not even be normalised (``{"raw": record}``) with their reasons.

    ``items`` are ``(order id or None, the platform's record, reasons)``, optionally with the
    record's modified time as a fourth value (the connector can often read it when the
    normaliser cannot): with it, a valid version of the order at least as new closes the row
    (issue 18 #11); a recheck normalises ``raw`` again once the cause is fixed.
    """
    now = now or _utc_now()
    rows = [((platform, shop_id, item[0]), {"raw": _masked_record(item[1], platform)}, list(item[2]),
             item[3] if len(item) > 3 else None, raw_page_id)
            for item in items]
    with _connection(conn_or_engine) as conn:
        return _store_quarantine(conn, rows, now)


def quarantine_undecodable_records(conn_or_engine: ConnOrEngine, platform: str, shop_id: str,
                                   items: Iterable[tuple[str | None, dict[str, Any], list[str], list[str],
                                                         datetime | None]], *,
                                   raw_page_id: int | None = None, now: datetime | None = None) -> QuarantineResult:
    """Keep records that held bytes that were not UTF-8 text (issue 19 #8):
    ``{"raw": record, "undecodable": [fields]}``, the bytes written as ``\\xNN`` text.

    ``items`` are ``(order id or None, record, reasons, fields, modified time or None)``.
    The bytes themselves are lost, so a recheck cannot read them again: a person decides, or
    a valid later version of the order supersedes the row.
    """
    now = now or _utc_now()
    rows = [((platform, shop_id, order_id), {"raw": _masked_record(record, platform), "undecodable": list(fields)},
             list(reasons), modified, raw_page_id)
            for order_id, record, reasons, fields, modified in items]
    with _connection(conn_or_engine) as conn:
        return _store_quarantine(conn, rows, now)


def _masked_record(record: Any, platform: str | None = None) -> Any:
    """A platform record with clear buyer phones and street addresses masked (§7), and the
    platform's PII paths (issue 18 #12), as archived pages are."""
    return json.loads(mask_stored(json.dumps(record, ensure_ascii=False, default=str).encode(), platform))


def _quarantined_version(conn: sa.Connection, key: tuple, modified: datetime) -> tuple[int, str] | None:
    """The row already kept for this order version (id, status): the open one, else the last
    decided one (released, discarded, superseded)."""
    table = QuarantinedRecord.__table__
    return conn.execute(
        sa.select(table.c.id, table.c.status)
        .where(table.c.platform == key[0], table.c.shop_id == key[1], table.c.order_id == key[2],
               table.c.record_modified_at == modified)
        .order_by((table.c.status == "open").desc(), table.c.id.desc()).limit(1)).first()


def _store_quarantine(conn: sa.Connection, rows: list[tuple], now: datetime) -> QuarantineResult:
    """Insert (key, record, reasons, modified_at, raw_page_id) rows; one row per order version.

    An order version (platform, shop, order id, modified time) already kept is not kept again,
    whatever page it came from this time: an open row gets the new reasons, any row the new
    ``last_checked_at``; a decision taken on it stays. Records without an order id or modified
    time are told apart by their hash."""
    table = QuarantinedRecord.__table__
    new = 0
    for key, record, reasons, modified, page_id in rows:
        modified_at = pd.Timestamp(modified).to_pydatetime() if modified else None
        if key[2] is not None and modified_at is not None:
            kept = _quarantined_version(conn, key, modified_at)
            if kept is not None:
                values: dict[str, Any] = {"last_checked_at": now}
                if kept.status == "open":
                    values["reasons"] = reasons
                conn.execute(sa.update(table).where(table.c.id == kept.id).values(**values))
                continue
        canonical_text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        insert = _insert(conn, table).values(
            platform=key[0], shop_id=key[1], order_id=key[2], record=json.loads(canonical_text),
            record_sha256=hashlib.sha256(canonical_text.encode()).hexdigest(),
            reasons=reasons, status="open", record_modified_at=modified_at,
            raw_page_id=page_id, first_seen_at=now, last_checked_at=now,
        )
        insert = insert.on_conflict_do_update(
            index_elements=["platform", "shop_id", "record_sha256"],
            set_={"reasons": insert.excluded.reasons, "last_checked_at": insert.excluded.last_checked_at},
        ).returning(table.c.first_seen_at)
        new += conn.scalar(insert) == now
    _close_versions_already_superseded(conn, {key for key, *_ in rows if key[2] is not None}, now)
    return QuarantineResult(new=new, seen_again=len(rows) - new)


def _close_versions_already_superseded(conn: sa.Connection, keys: set[tuple], now: datetime) -> None:
    """Open rows of these orders whose version is not newer than the order already stored are
    ``superseded`` at once: an older version read after a newer valid one was stored (a page
    shift, a rerun of an older window) has nothing left to decide (issue 18 #11)."""
    if not keys:
        return
    conn.execute(sa.text(
        "UPDATE quarantine SET status = 'superseded', last_checked_at = :now "
        "WHERE status = 'open' AND platform = :platform AND shop_id = :shop_id AND order_id = :order_id "
        "AND record_modified_at IS NOT NULL AND EXISTS (SELECT 1 FROM orders o WHERE "
        f"{_key_match('o', 'quarantine')} AND quarantine.record_modified_at <= o.modified_at)").bindparams(
        sa.bindparam("now", type_=UTCDateTime())),
        [{"now": now, "platform": p, "shop_id": s, "order_id": o} for p, s, o in sorted(keys)])


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


def listing_skus(conn_or_engine: ConnOrEngine, shop_id: str | None = None) -> dict[tuple[str, str, str], str]:
    """(shop id, marketplace item id, marketplace SKU id or "") → our SKU, from the listings
    table (``domain.validation.resolve_listed_skus``: lines without a merchant code)."""
    from warehouse.models import Listing

    table = Listing.__table__
    query = sa.select(table.c.shop_id, table.c.marketplace_item_id, table.c.marketplace_sku_id, table.c.sku)
    if shop_id is not None:
        query = query.where(table.c.shop_id == shop_id)
    with _connection(conn_or_engine) as conn:
        return {(shop, item, variant or ""): sku for shop, item, variant, sku in conn.execute(query)}


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


def read_lease(conn_or_engine: ConnOrEngine, shop_id: str, stream: str = "orders") -> tuple[str | None, datetime | None]:
    """Who holds the run guard of ``stream`` of ``shop_id`` and until when (None, None: free)."""
    table = IngestWatermark.__table__
    with _connection(conn_or_engine) as conn:
        row = conn.execute(sa.select(table.c.lease_owner, table.c.lease_expires_at)
                           .where(table.c.shop_id == shop_id, table.c.stream == stream)).first()
    return (row[0], row[1]) if row else (None, None)


def take_over_lease(conn_or_engine: ConnOrEngine, shop_id: str, gone_owner: str, owner: str, ttl: timedelta,
                    stream: str = "orders", now: datetime | None = None) -> bool:
    """Take the run guard from ``gone_owner`` (a run known to be dead) in one statement: only if
    it still holds it, so two runs that both found it dead cannot both take it."""
    now = now or _utc_now()
    table = IngestWatermark.__table__
    with _connection(conn_or_engine) as conn:
        taken = conn.execute(table.update()
                             .where(table.c.shop_id == shop_id, table.c.stream == stream, table.c.lease_owner == gone_owner)
                             .values(lease_owner=owner, lease_expires_at=now + ttl))
        return taken.rowcount == 1


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
    orders_expected: int | None = None
    orders_captured: int | None = None


def write_capture_log(conn_or_engine: ConnOrEngine, entry: CaptureLogEntry,
                      windows: Iterable[dict] = ()) -> int:
    """Append ``entry`` to the capture log, with its windows' counts (``capture_windows`` rows:
    window_start, window_end, expected, captured, reads, status); return its id."""
    with _connection(conn_or_engine) as conn:
        log_id = conn.scalar(sa.insert(CaptureLog).values(asdict(entry)).returning(CaptureLog.id))
        rows = [{**row, "capture_log_id": log_id, "shop_id": entry.shop_id, "flow_run_id": entry.flow_run_id,
                 "recorded_at": _utc_now()} for row in windows]
        if rows:
            conn.execute(sa.insert(CaptureWindow), rows)
        return log_id


def orders_modified_between(conn_or_engine: ConnOrEngine, shop_id: str, start: datetime, end: datetime) -> int:
    """How many of the shop's stored orders were last modified in ``[start, end)``."""
    with _connection(conn_or_engine) as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(Order).where(
            Order.shop_id == shop_id, Order.modified_at >= start, Order.modified_at < end)) or 0)


class RewindRefused(Exception):
    """A watermark rewind that cannot be done (a pull holds the shop, or nothing to move back)."""


def rewind_watermark(conn_or_engine: ConnOrEngine, shop_id: str, to_at: datetime, *, by: str, reason: str,
                     holder: str, ttl: timedelta, stream: str = "orders") -> datetime | None:
    """Move the watermark of ``shop_id`` back to ``to_at`` and record who did it and why, in one
    transaction holding the shop's run guard (a pull running meanwhile would move it forward
    again over what the rewind means to re-read). Returns the watermark it had before."""
    table = IngestWatermark.__table__
    with _connection(conn_or_engine) as conn:
        if not acquire_lease(conn, shop_id, holder, ttl, stream):
            owner, until = read_lease(conn, shop_id, stream)
            raise RewindRefused(f"a pull holds shop {shop_id} ({owner}, until {until}); rewind it when that run "
                                "has ended")
        before = get_watermark(conn, shop_id, stream)
        if before is not None and to_at >= before:
            release_lease(conn, shop_id, holder, stream)
            raise RewindRefused(f"the watermark of {shop_id} is {before.isoformat()}: {to_at.isoformat()} is not "
                                "before it (a rewind only moves it back)")
        conn.execute(table.update().where(table.c.shop_id == shop_id, table.c.stream == stream)
                     .values(watermark_at=to_at, updated_at=_utc_now()))
        conn.execute(sa.insert(IngestRewind).values(shop_id=shop_id, stream=stream, from_at=before, to_at=to_at,
                                                    rewound_by=by, reason=reason, rewound_at=_utc_now()))
        release_lease(conn, shop_id, holder, stream)
        return before


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

def open_orders(conn_or_engine: ConnOrEngine, statuses: Iterable[str], *,
                as_of: datetime | None = None) -> CanonicalFrames:
    """Orders in ``statuses`` with their lines (for follow-ups, batching, reservations).

    ``as_of``: the orders as they stood at that moment (a run recomputed for a past day,
    shopops/as_of.py), as far as the warehouse knows: only orders paid (unpaid: created)
    before it; an order shipped at or after it was still waiting then and reads as ``paid``
    without its shipping time and tracking number. Other changes since (a cancellation, a
    refund) leave no time behind and read as they are now."""
    statuses = list(statuses)
    orders_t, lines_t = Order.__table__, OrderLine.__table__
    where = orders_t.c.status.in_(statuses)
    if as_of is not None:
        placed = sa.func.coalesce(orders_t.c.paid_at, orders_t.c.created_at) < as_of
        where = sa.and_(placed, sa.or_(where, orders_t.c.shipped_at >= as_of))
    with _connection(conn_or_engine) as conn:
        orders = pd.read_sql(sa.select(*[orders_t.c[c] for c in ORDER_COLUMNS]).where(where), conn)
        lines = pd.read_sql(sa.select(*[lines_t.c[c] for c in LINE_COLUMNS])
                            .join(orders_t, sa.and_(*[orders_t.c[k] == lines_t.c[k] for k in ORDER_KEY]))
                            .where(where), conn)
    for column in ("created_at", "paid_at", "modified_at", "shipped_at", "ship_by_at"):
        orders[column] = pd.to_datetime(orders[column], utc=True, format="ISO8601")
    if as_of is not None:
        later = orders["shipped_at"] >= pd.Timestamp(as_of)
        orders.loc[later, "status"] = "paid"
        orders.loc[later, "shipped_at"] = pd.NaT
        orders.loc[later, "tracking_no"] = None
    return CanonicalFrames(orders=orders, lines=lines)


def available_by_sku(conn_or_engine: ConnOrEngine) -> pd.Series:
    """Units available (on hand − reserved) per SKU over all warehouses; empty before any stock."""
    from warehouse.models import StockPosition

    table = StockPosition.__table__
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(sa.select(table.c.sku, (table.c.on_hand - table.c.reserved).label("available")), conn)
    return frame.groupby("sku")["available"].sum() if len(frame) else pd.Series(dtype="int64")


# ============================================================================================
# --- stock (domain-rules.md §2–§3): ledger, stocktakes, listings, discrepancies, pushes,
# --- positions snapshot, sales history, alerts and cooldowns
# ============================================================================================
#
# Frames in and out use the column names of ``domain.stock`` / ``domain.restock``. Writes are
# idempotent where a rerun can repeat them: ledger rows are keyed by (kind, reference, sku,
# warehouse), a stocktake by (warehouse, counted_at, source), an open discrepancy by its
# kind, SKU, warehouse and listing (``DISCREPANCY_KEY``), listings by their primary key.

LEDGER_COLUMNS: tuple[str, ...] = ("sku", "warehouse", "moved_at", "kind", "quantity", "reference")

#: statuses whose orders count as sold for the sales history (demand, ABC revenue): paid at some
#: point and not given back; ``refunding`` still counts (most refunds are partial or rejected)
SALES_STATUSES: tuple[str, ...] = ("paid", "presale_deposit_paid", "shipped", "completed", "refunding")

LISTING_COLUMNS: tuple[str, ...] = (
    "shop_id", "marketplace_item_id", "marketplace_sku_id", "sku", "allocation_share", "buffer",
    "price_minor", "currency", "last_pushed_qty", "last_pushed_at", "last_read_qty", "last_read_at", "enabled")


def _times(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Time columns read back from the database as timezone-aware UTC."""
    for column in columns:
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def post_ledger(conn_or_engine: ConnOrEngine, entries: pd.DataFrame) -> int:
    """Post stock movements (``LEDGER_COLUMNS`` + optional ``note``); return how many were new.

    A movement already posted (same kind, reference, SKU and warehouse) is left as it is: a
    rerun posting the same receipts and shipments again changes nothing. Signs are the
    ledger's (receipts ≥ 0, shipments ≤ 0) and are checked by ``domain.stock`` when summed.
    """
    from warehouse.models import StockLedgerEntry

    missing = [c for c in LEDGER_COLUMNS if c not in entries.columns]
    if missing:
        raise ValueError(f"ledger entries need the column(s) {', '.join(missing)}")
    if entries.empty:
        return 0
    if entries["reference"].isna().any():
        raise ValueError("every ledger entry needs a reference (PO line, order, stocktake id …): "
                         "it is what makes a re-post a no-op")
    table = StockLedgerEntry.__table__
    columns = [*LEDGER_COLUMNS, *(["note"] if "note" in entries.columns else [])]
    now = _utc_now()
    with _connection(conn_or_engine) as conn:
        values = [_driver_values(entries[c], table.c[c], conn.dialect.name) for c in columns]
        # moved_at goes through UTCDateTime (this is not the staging path): aware datetimes
        values[columns.index("moved_at")] = [t.to_pydatetime() for t in _as_utc(entries["moved_at"], "moved_at")]
        rows = [dict(zip(columns, row), created_at=now) for row in zip(*values)]
        before = conn.scalar(sa.select(sa.func.count()).select_from(table))
        conn.execute(_insert(conn, table).on_conflict_do_nothing(
            index_elements=["kind", "reference", "sku", "warehouse"]), rows)
        return conn.scalar(sa.select(sa.func.count()).select_from(table)) - before


def read_ledger(conn_or_engine: ConnOrEngine, *, until: datetime | None = None,
                skus: Iterable[str] | None = None) -> pd.DataFrame:
    """Ledger rows (``LEDGER_COLUMNS``), optionally only those moved at or before ``until``."""
    from warehouse.models import StockLedgerEntry

    table = StockLedgerEntry.__table__
    query = sa.select(*[table.c[c] for c in LEDGER_COLUMNS]).order_by(table.c.moved_at, table.c.id)
    if until is not None:
        query = query.where(table.c.moved_at <= until)
    if skus is not None:
        query = query.where(table.c.sku.in_(list(skus)))
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(query, conn)
    frame["quantity"] = frame["quantity"].astype("int64")
    return _times(frame, "moved_at")


@dataclass(frozen=True)
class StocktakeImport:
    #: one stocktake per warehouse of the file: warehouse → stocktake id
    stocktake_ids: dict[str, int]
    lines: int
    #: ledger rows newly posted (0 when the same count was imported before)
    ledger_posted: int


def import_stocktake(conn_or_engine: ConnOrEngine, counts: pd.DataFrame, *, counted_at: datetime,
                     source: str, status: str = "imported") -> StocktakeImport:
    """A physical count (sku, warehouse, counted_qty) into stocktakes, stocktake_lines and one
    ``stocktake`` ledger row per SKU and warehouse (reference ``stocktake:<id>``), which sets
    the SKU's on-hand from ``counted_at`` on (``domain.stock.on_hand``).

    Importing the same count again (same warehouse, moment and source) reuses its stocktake
    and posts nothing new.
    """
    from warehouse.models import Stocktake, StocktakeLine

    takes, lines_t = Stocktake.__table__, StocktakeLine.__table__
    ids: dict[str, int] = {}
    posted = 0
    with _connection(conn_or_engine) as conn:
        for warehouse, part in counts.groupby("warehouse", sort=True):
            existing = conn.scalar(sa.select(takes.c.id).where(
                takes.c.warehouse == warehouse, takes.c.counted_at == counted_at, takes.c.source == source))
            if existing is None:
                existing = conn.scalar(sa.insert(takes).values(
                    warehouse=warehouse, counted_at=counted_at, source=source, status=status).returning(takes.c.id))
                conn.execute(sa.insert(lines_t), [
                    {"stocktake_id": existing, "sku": sku, "counted_qty": int(qty)}
                    for sku, qty in zip(part["sku"], part["counted_qty"])])
            ids[str(warehouse)] = int(existing)
            posted += post_ledger(conn, pd.DataFrame({
                "sku": part["sku"].astype(str), "warehouse": str(warehouse), "moved_at": pd.Timestamp(counted_at),
                "kind": "stocktake", "quantity": part["counted_qty"].astype("int64"),
                "reference": f"stocktake:{existing}"}))
    return StocktakeImport(stocktake_ids=ids, lines=len(counts), ledger_posted=posted)


def open_order_lines(conn_or_engine: ConnOrEngine, statuses: Iterable[str], *,
                     fallback_warehouse: str | None = None, as_of: datetime | None = None) -> pd.DataFrame:
    """Lines of orders in ``statuses`` for reservations: sku, warehouse, quantity, status, is_gift.

    Order lines name no warehouse: a line ships from its SKU's ``skus.default_warehouse``
    (else ``fallback_warehouse``); lines without a SKU cannot reserve anything and are left out.
    ``as_of``: the orders reserving at that moment, read as ``open_orders`` reads them.
    """
    orders_t, lines_t, skus_t = Order.__table__, OrderLine.__table__, Sku.__table__
    warehouse = sa.func.coalesce(skus_t.c.default_warehouse, sa.literal(fallback_warehouse or "")).label("warehouse")
    status = orders_t.c.status
    where = status.in_(list(statuses))
    if as_of is not None:   # shipped since: still waiting (and reserving) then
        status = sa.case((orders_t.c.shipped_at >= as_of, sa.literal("paid")), else_=orders_t.c.status)
        where = sa.and_(sa.func.coalesce(orders_t.c.paid_at, orders_t.c.created_at) < as_of,
                        sa.or_(where, orders_t.c.shipped_at >= as_of))
    query = (sa.select(lines_t.c.sku, warehouse, lines_t.c.quantity, status.label("status"), lines_t.c.is_gift)
             .join(orders_t, sa.and_(*[orders_t.c[k] == lines_t.c[k] for k in ORDER_KEY]))
             .outerjoin(skus_t, skus_t.c.sku == lines_t.c.sku)
             .where(where, lines_t.c.sku.is_not(None)))
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(query, conn)
    frame["quantity"] = frame["quantity"].astype("int64")
    return frame


def open_po_lines(conn_or_engine: ConnOrEngine, *, as_of: datetime | None = None) -> pd.DataFrame:
    """Lines of open and partly received purchase orders with their header: po_no, sku,
    warehouse, supplier, status, expected_at, qty_ordered, qty_received. ``as_of``: only the
    purchase orders placed before that moment."""
    from domain.stock import OPEN_PO_STATUSES
    from warehouse.models import PurchaseOrder, PurchaseOrderLine

    po, line = PurchaseOrder.__table__, PurchaseOrderLine.__table__
    query = (sa.select(po.c.po_no, line.c.sku, po.c.warehouse, po.c.supplier, po.c.status, po.c.expected_at,
                       line.c.qty_ordered, line.c.qty_received)
             .join(line, line.c.po_no == po.c.po_no).where(po.c.status.in_(OPEN_PO_STATUSES))
             .order_by(po.c.po_no, line.c.sku))
    if as_of is not None:
        query = query.where(po.c.ordered_at < as_of)
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(query, conn)
    return _times(frame, "expected_at")


def upsert_listings(conn_or_engine: ConnOrEngine, listings: pd.DataFrame) -> int:
    """Insert or update listings (shop_id, marketplace_item_id, marketplace_sku_id, sku and any
    other ``listings`` columns); columns the frame lacks keep their stored values."""
    from warehouse.models import Listing

    table = Listing.__table__
    unknown = set(listings.columns) - set(table.c.keys())
    if unknown:
        raise ValueError(f"unknown listing column(s) {sorted(unknown)}; known: {sorted(table.c.keys())}")
    if listings.empty:
        return 0
    frame = listings.copy()
    frame["marketplace_sku_id"] = frame.get("marketplace_sku_id", pd.Series("", index=frame.index)).fillna("")
    columns = list(frame.columns)
    key = ["shop_id", "marketplace_item_id", "marketplace_sku_id"]
    with _connection(conn_or_engine) as conn:
        values = []
        for c in columns:
            if isinstance(table.c[c].type, UTCDateTime):
                values.append([None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in frame[c]])
            elif isinstance(table.c[c].type, sa.Numeric):
                values.append([None if pd.isna(v) else Decimal(str(v)) for v in frame[c]])
            else:
                values.append(_driver_values(frame[c], table.c[c], conn.dialect.name))
        rows = [dict(zip(columns, row)) for row in zip(*values)]
        insert = _insert(conn, table)
        updates = {c: insert.excluded[c] for c in columns if c not in key}
        statement = insert.on_conflict_do_update(index_elements=key, set_=updates) if updates \
            else insert.on_conflict_do_nothing(index_elements=key)
        conn.execute(statement, rows)
        _refuse_shares_above_one(conn, table, frame["sku"].dropna().unique().tolist()
                                 if "sku" in frame.columns else None)
    return len(rows)


class ListingShareError(ValueError):
    """The enabled listings of a SKU would share out more than all of its available stock."""


def _refuse_shares_above_one(conn: sa.Connection, table: sa.Table, skus: list[str] | None) -> None:
    """Raise (rolling the write back) when the enabled listings of a written SKU share out
    more than 1 (§2: shares per SKU sum to <= 1). Shares have 4 decimals, so a real excess is at
    least 0.0001; SQLite sums NUMERIC as floats (0.3 + … = 1.0000000000000002), hence the half step."""
    total = sa.func.sum(table.c.allocation_share)
    query = (sa.select(table.c.sku, total).where(table.c.enabled.is_(True)).group_by(table.c.sku)
             .having(total > 1.00005).order_by(table.c.sku))
    if skus is not None:
        query = query.where(table.c.sku.in_(skus))
    over = conn.execute(query).all()
    if over:
        named = ", ".join(f"{sku} ({float(share):.4f})" for sku, share in over[:20])
        raise ListingShareError(
            f"allocation shares of the enabled listings sum to more than 1 for {len(over)} SKU(s): {named}; "
            "lower the shares (or disable a listing) so that each SKU's shares sum to at most 1 — nothing was saved")


def read_listings(conn_or_engine: ConnOrEngine, *, enabled_only: bool = True) -> pd.DataFrame:
    """Listings (``LISTING_COLUMNS``) with ``sold_since_push``: units of paid orders of the same
    shop and listing paid since its last push (what the marketplace took off by itself), for
    ``domain.stock.push_plan``'s edited-listing guard. Shares come back as floats."""
    from warehouse.models import Listing

    table, orders_t, lines_t = Listing.__table__, Order.__table__, OrderLine.__table__
    sold = (sa.select(sa.func.coalesce(sa.func.sum(lines_t.c.quantity), 0))
            .join(orders_t, sa.and_(*[orders_t.c[k] == lines_t.c[k] for k in ORDER_KEY]))
            .where(orders_t.c.shop_id == table.c.shop_id,
                   lines_t.c.marketplace_item_id == table.c.marketplace_item_id,
                   # Amazon lines carry the ASIN as variant, its listings the seller SKU (= our SKU)
                   sa.or_(sa.func.coalesce(lines_t.c.marketplace_sku_id, "") == table.c.marketplace_sku_id,
                          lines_t.c.sku == table.c.marketplace_sku_id),
                   orders_t.c.status.in_(SALES_STATUSES),
                   orders_t.c.paid_at >= table.c.last_pushed_at)
            .scalar_subquery())
    sold = sa.case((table.c.last_pushed_at.is_(None), None), else_=sold).label("sold_since_push")
    query = sa.select(*[table.c[c] for c in LISTING_COLUMNS], sold).order_by(
        table.c.shop_id, table.c.marketplace_item_id, table.c.marketplace_sku_id)
    if enabled_only:
        query = query.where(table.c.enabled.is_(True))
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(query, conn)
    frame["allocation_share"] = frame["allocation_share"].astype(float)
    for column in ("last_pushed_qty", "last_read_qty", "sold_since_push", "price_minor"):
        frame[column] = frame[column].astype("Int64")
    frame["buffer"] = frame["buffer"].astype("int64")
    return _times(frame, "last_pushed_at", "last_read_at")


def record_listing_reads(conn_or_engine: ConnOrEngine, reads: pd.DataFrame, read_at: datetime | None = None) -> int:
    """Store what marketplaces showed: shop_id, marketplace_item_id, marketplace_sku_id, qty."""
    from warehouse.models import Listing

    table = Listing.__table__
    read_at = read_at or _utc_now()
    rows = [{"k_shop": row.shop_id, "k_item": row.marketplace_item_id, "k_sku": row.marketplace_sku_id or "",
             "last_read_qty": int(row.qty), "last_read_at": read_at} for row in reads.itertuples(index=False)]
    if not rows:
        return 0
    statement = table.update().where(
        table.c.shop_id == sa.bindparam("k_shop"), table.c.marketplace_item_id == sa.bindparam("k_item"),
        table.c.marketplace_sku_id == sa.bindparam("k_sku"))
    with _connection(conn_or_engine) as conn:
        return conn.execute(statement, rows).rowcount   # one executemany for the whole shop


@dataclass(frozen=True)
class DiscrepancyResult:
    new: int
    #: the same disagreement (same kind, SKU, warehouse, shop and listing) is already open for
    #: a person: not added again, its numbers and last-seen time updated
    already_open: int


#: what makes a discrepancy the same one while it is open (count records: no shop or listing)
DISCREPANCY_KEY: tuple[str, ...] = ("kind", "sku", "warehouse", "shop_id", "marketplace_item_id",
                                    "marketplace_sku_id")
_DISCREPANCY_NUMBERS: tuple[str, ...] = ("warehouse_count", "ledger_qty", "listing_qty", "planned_qty", "difference")


def record_discrepancies(conn_or_engine: ConnOrEngine, discrepancies: pd.DataFrame, *,
                         flow_run_id: str | None = None, now: datetime | None = None) -> DiscrepancyResult:
    """Store ``domain.stock.reconcile`` records (``DISCREPANCY_COLUMNS``) for a person.

    A discrepancy is one open record per ``DISCREPANCY_KEY`` until a person resolves it: a
    record whose key is open already updates that one (its numbers, cause and ``last_seen_at``;
    ``created_at`` stays the first filing) instead of filing it again — an hourly run, with or
    without a count file, finds the same disagreements. The partial unique indexes of
    migration 0006 hold it in the database; the write is an upsert on them, so two runs at
    once cannot file a key twice either. One SELECT of the open keys (to count), one upsert
    for count records and one for listing records.
    """
    from warehouse.models import StockDiscrepancy

    table = StockDiscrepancy.__table__
    now = now or _utc_now()
    numbers = set(_DISCREPANCY_NUMBERS)

    def value(column, v):
        if v is None or pd.isna(v):
            return None
        return int(v) if column in numbers else str(v)

    rows = [{c: value(c, getattr(row, c)) for c in (*DISCREPANCY_KEY, *_DISCREPANCY_NUMBERS)}
            | {"cause": row.cause, "suggested_cause": row.suggested_cause, "flow_run_id": flow_run_id,
               "status": "open", "created_at": now, "last_seen_at": now}
            for row in discrepancies.itertuples(index=False)]
    with _connection(conn_or_engine) as conn:
        if conn.dialect.name == "sqlite":
            # the writer from the first statement: a transaction that reads first and writes after
            # another process committed cannot upgrade its stale snapshot ("database is locked" at
            # once, no busy wait): the hourly reconcile failed so beside a pull (found by test_demo)
            _hold_sqlite_write_lock(conn)
        open_keys = {tuple(r) for r in conn.execute(
            sa.select(*[table.c[c] for c in DISCREPANCY_KEY]).where(table.c.status == "open"))}
        already = sum(tuple(r[c] for c in DISCREPANCY_KEY) in open_keys for r in rows)
        for listing_records, key, where in (
                (False, ["kind", "sku", "warehouse"], "status = 'open' AND shop_id IS NULL"),
                (True, list(DISCREPANCY_KEY), "status = 'open' AND shop_id IS NOT NULL")):
            part = [r for r in rows if (r["shop_id"] is not None) == listing_records]
            if not part:
                continue
            insert = _insert(conn, table)
            conn.execute(insert.on_conflict_do_update(
                index_elements=key, index_where=sa.text(where),
                set_={c: insert.excluded[c] for c in (*_DISCREPANCY_NUMBERS, "cause", "suggested_cause",
                                                       "last_seen_at")}), part)
    return DiscrepancyResult(new=len(rows) - already, already_open=already)


def read_discrepancies(conn_or_engine: ConnOrEngine, status: str | None = "open") -> pd.DataFrame:
    """Stored discrepancies, oldest first (``status`` None: all)."""
    from warehouse.models import StockDiscrepancy

    table = StockDiscrepancy.__table__
    query = sa.select(table).order_by(table.c.id)
    if status is not None:
        query = query.where(table.c.status == status)
    with _connection(conn_or_engine) as conn:
        return _times(pd.read_sql(query, conn), "created_at", "last_seen_at", "resolved_at")


def resolve_discrepancies(conn_or_engine: ConnOrEngine, *, by: str, note: str, ids: list[int] | None = None,
                          skus: list[str] | None = None, now: datetime | None = None) -> int:
    """A person resolves open discrepancies (by id, or every open one of ``skus``): the record
    stays for the audit, closed with when, who and why (``note`` = "who: why"). Returns how
    many were closed; a later run that finds the difference again files a new record."""
    from warehouse.models import StockDiscrepancy

    if not by.strip() or not note.strip():
        raise ValueError("resolving a discrepancy needs who resolved it and why")
    if not ids and not skus:
        raise ValueError("name the discrepancies to resolve: their ids or their SKUs")
    table = StockDiscrepancy.__table__
    query = sa.update(table).where(table.c.status == "open")
    if ids:
        query = query.where(table.c.id.in_([int(i) for i in ids]))
    if skus:
        query = query.where(table.c.sku.in_(list(skus)))
    with _connection(conn_or_engine) as conn:
        done = conn.execute(query.values(status="resolved", resolved_at=now or _utc_now(),
                                         note=f"{by.strip()}: {note.strip()}"))
    return int(done.rowcount or 0)


def record_stock_pushes(conn_or_engine: ConnOrEngine, pushes: pd.DataFrame, *, flow_run_id: str | None = None,
                        now: datetime | None = None) -> int:
    """Log pushes, dry runs too: shop_id, marketplace_item_id, marketplace_sku_id, sku,
    before_qty, planned_qty, after_qty (read back after a live push), outcome (dry_run |
    confirmed | mismatch | failed) and reply (the marketplace's answer or the error).

    A push the marketplace took (confirmed or mismatch) moves the listing's ``last_pushed_qty``
    to the planned quantity and its ``last_read_qty`` to the read-back one, in the same
    transaction: the next run judges "edited on the marketplace" against them.
    """
    from warehouse.models import Listing, StockPush

    table, listings_t = StockPush.__table__, Listing.__table__
    now = now or _utc_now()

    def number(value):
        return None if value is None or pd.isna(value) else int(value)

    rows = [dict(shop_id=r["shop_id"], marketplace_item_id=r["marketplace_item_id"],
                 marketplace_sku_id=r.get("marketplace_sku_id") or "", sku=r["sku"],
                 before_qty=number(r.get("before_qty")), planned_qty=int(r["planned_qty"]),
                 after_qty=number(r.get("after_qty")), outcome=r["outcome"], dry_run=r["outcome"] == "dry_run",
                 reply=r.get("reply") if isinstance(r.get("reply"), (dict, list)) else None,
                 confirmed=r["outcome"] == "confirmed", pushed_at=now, flow_run_id=flow_run_id)
            for r in pushes.to_dict(orient="records")]
    if not rows:
        return 0
    taken = [{"k_shop": r["shop_id"], "k_item": r["marketplace_item_id"], "k_sku": r["marketplace_sku_id"],
              "last_pushed_qty": r["planned_qty"], "last_pushed_at": now, "last_read_qty": r["after_qty"],
              "last_read_at": now} for r in rows if r["outcome"] in ("confirmed", "mismatch")]
    with _connection(conn_or_engine) as conn:
        conn.execute(sa.insert(table), rows)
        if taken:
            conn.execute(listings_t.update().where(
                listings_t.c.shop_id == sa.bindparam("k_shop"),
                listings_t.c.marketplace_item_id == sa.bindparam("k_item"),
                listings_t.c.marketplace_sku_id == sa.bindparam("k_sku")), taken)
    return len(rows)


def read_stock_pushes(conn_or_engine: ConnOrEngine, flow_run_id: str | None = None) -> pd.DataFrame:
    """Logged pushes, oldest first (``flow_run_id``: only that run's)."""
    from warehouse.models import StockPush

    table = StockPush.__table__
    query = sa.select(table).order_by(table.c.id)
    if flow_run_id is not None:
        query = query.where(table.c.flow_run_id == flow_run_id)
    with _connection(conn_or_engine) as conn:
        return _times(pd.read_sql(query, conn), "pushed_at")


def write_positions(conn_or_engine: ConnOrEngine, positions: pd.DataFrame, now: datetime | None = None) -> int:
    """Replace the ``stock_positions`` snapshot with ``domain.stock.positions`` rows (one
    transaction: readers see the old snapshot or the new one, never a mix)."""
    from warehouse.models import StockPosition

    table = StockPosition.__table__
    now = now or _utc_now()
    rows = [{"sku": r.sku, "warehouse": r.warehouse, "on_hand": int(r.on_hand), "reserved": int(r.reserved),
             "in_transit": int(r.in_transit), "updated_at": now} for r in positions.itertuples(index=False)]
    with _connection(conn_or_engine) as conn:
        conn.execute(sa.delete(table))
        if rows:
            conn.execute(sa.insert(table), rows)
    return len(rows)


def read_positions(conn_or_engine: ConnOrEngine) -> pd.DataFrame:
    """The stored snapshot: sku, warehouse, on_hand, reserved, available, in_transit, updated_at."""
    from warehouse.models import StockPosition

    table = StockPosition.__table__
    query = sa.select(table.c.sku, table.c.warehouse, table.c.on_hand, table.c.reserved,
                      (table.c.on_hand - table.c.reserved).label("available"), table.c.in_transit,
                      table.c.updated_at).order_by(table.c.sku, table.c.warehouse)
    with _connection(conn_or_engine) as conn:
        return _times(pd.read_sql(query, conn), "updated_at")


def daily_sales(conn_or_engine: ConnOrEngine, start: datetime, end: datetime, *, by_shop: bool = False) -> pd.DataFrame:
    """Units and revenue per SKU and **shop-local** calendar day of payment: sku, day (date),
    currency, units, revenue_minor — and per shop (a ``shop_id`` column after ``sku``) when
    ``by_shop``: a campaign's uplift or expected demand concerns its own shops only.

    Orders in ``SALES_STATUSES`` paid in ``[start, end)`` (UTC instants) count; the day is the
    paid time in the shop's own zone (``shops.timezone``; UTC for a shop not in the table),
    which is the day operations staff call "yesterday". Revenue is ``line_total_minor`` in the
    line's currency (one row per currency: the caller picks or converts). The selection and
    the join are SQL; the zone conversion is pandas, because SQLite has no time zones.
    """
    orders_t, lines_t, shops_t = Order.__table__, OrderLine.__table__, Shop.__table__
    query = (sa.select(lines_t.c.sku, orders_t.c.shop_id, shops_t.c.timezone,
                       orders_t.c.paid_at, lines_t.c.currency,
                       sa.func.sum(lines_t.c.quantity).label("units"),
                       sa.func.sum(lines_t.c.line_total_minor).label("revenue_minor"))
             .join(orders_t, sa.and_(*[orders_t.c[k] == lines_t.c[k] for k in ORDER_KEY]))
             .outerjoin(shops_t, shops_t.c.shop_id == orders_t.c.shop_id)
             .where(orders_t.c.status.in_(SALES_STATUSES), orders_t.c.paid_at >= start, orders_t.c.paid_at < end,
                    lines_t.c.sku.is_not(None))
             .group_by(lines_t.c.sku, orders_t.c.shop_id, shops_t.c.timezone, orders_t.c.paid_at,
                       lines_t.c.currency))
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(query, conn)
    columns = ["sku", *(["shop_id"] if by_shop else []), "day", "currency", "units", "revenue_minor"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    paid = pd.to_datetime(frame["paid_at"], utc=True, format="ISO8601")
    frame["timezone"] = frame["timezone"].fillna("UTC")
    frame["day"] = None
    for zone, index in frame.groupby("timezone").groups.items():
        frame.loc[index, "day"] = paid.loc[index].dt.tz_convert(zone).dt.date
    key = [c for c in columns if c not in ("units", "revenue_minor")]
    out = frame.groupby(key, as_index=False)[["units", "revenue_minor"]].sum()
    out[["units", "revenue_minor"]] = out[["units", "revenue_minor"]].astype("int64")
    return out[columns].sort_values(key, ignore_index=True)


def restock_terms(conn_or_engine: ConnOrEngine) -> pd.DataFrame:
    """Active catalogue SKUs with their own ordering terms: sku, name, supplier, lead_time_days,
    case_pack, moq (the caller falls back to suppliers.yaml and rules.yaml)."""
    table = Sku.__table__
    query = (sa.select(table.c.sku, table.c.name, table.c.supplier, table.c.lead_time_days, table.c.case_pack,
                       table.c.moq).where(table.c.active.is_(True)).order_by(table.c.sku))
    with _connection(conn_or_engine) as conn:
        frame = pd.read_sql(query, conn)
    frame["lead_time_days"] = frame["lead_time_days"].astype("Int64")
    return frame


def last_sent_alerts(conn_or_engine: ConnOrEngine, kind: str = "restock") -> pd.DataFrame:
    """``alert_cooldowns`` of one alert kind: sku, level, last_sent_at."""
    from warehouse.models import AlertCooldown

    table = AlertCooldown.__table__
    query = sa.select(table.c.sku, table.c.level, table.c.last_sent_at).where(table.c.kind == kind)
    with _connection(conn_or_engine) as conn:
        return _times(pd.read_sql(query, conn), "last_sent_at")


def record_alerts(conn_or_engine: ConnOrEngine, alerts: pd.DataFrame, *, kind: str = "restock",
                  flow_run_id: str | None = None, now: datetime | None = None) -> int:
    """Store judged alerts (sku, level, send, send_reason and any other columns, kept in
    ``details``): sent ones with ``sent_at``, held-back ones ``suppressed`` with the reason.
    The cooldown of each sent alert moves to (level, now) in the same transaction."""
    from warehouse.models import Alert, AlertCooldown

    alerts_t, cooldowns_t = Alert.__table__, AlertCooldown.__table__
    now = now or _utc_now()
    details = _json_records(alerts.drop(columns=["sku", "level", "send"]))
    rows = [dict(sku=sku, kind=kind, level=level, details=detail, created_at=now,
                 sent_at=now if send else None, suppressed=not send, flow_run_id=flow_run_id)
            for sku, level, send, detail in zip(alerts["sku"], alerts["level"], alerts["send"], details)]
    if not rows:
        return 0
    with _connection(conn_or_engine) as conn:
        conn.execute(sa.insert(alerts_t), rows)
        sent = [{"sku": r["sku"], "kind": kind, "level": r["level"], "last_sent_at": now} for r in rows if r["sent_at"]]
        if sent:
            insert = _insert(conn, cooldowns_t)
            conn.execute(insert.on_conflict_do_update(
                index_elements=["sku", "kind"],
                set_={"level": insert.excluded.level, "last_sent_at": insert.excluded.last_sent_at}), sent)
    return len(rows)


def read_alerts(conn_or_engine: ConnOrEngine, kind: str = "restock") -> pd.DataFrame:
    """Stored alerts of ``kind``, oldest first."""
    from warehouse.models import Alert

    table = Alert.__table__
    query = sa.select(table).where(table.c.kind == kind).order_by(table.c.id)
    with _connection(conn_or_engine) as conn:
        return _times(pd.read_sql(query, conn), "created_at", "sent_at")


# --- settlement (domain-rules.md §5): monthly sales per shop, versions, approval
# ============================================================================================
#
# Sales are read per calendar month of the company's zone (rules.yaml orders.default_timezone)
# and per currency: the caller settles in one currency and reports the others. A settlement
# version is written once with its lines and never edited afterwards except for its status
# (draft → awaiting_approval → final | correction_requested; final → superseded when a newer
# version of the same month and preset is approved), so every figure ever shown stays readable.

#: orders that were never a sale: not paid, or cancelled (all other canonical statuses count)
SETTLEMENT_EXCLUDED_STATUSES: tuple[str, ...] = ("pending_payment", "cancelled")
#: a refund counts once the money went back to the buyer
SETTLEMENT_REFUND_STATUS = "refunded"
SETTLEMENT_SALES_COLUMNS: tuple[str, ...] = (
    "month", "shop_id", "currency", "orders", "placed_minor", "refunded_minor", "late_refunded_minor",
    "cost_of_goods_minor", "units_without_cost")
SETTLEMENT_STATUSES: tuple[str, ...] = ("draft", "awaiting_approval", "correction_requested", "final", "superseded")


def settlement_month_window(month: str, zone: str) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of calendar month ``month`` ('YYYY-MM') in ``zone``."""
    from zoneinfo import ZoneInfo

    year, number = int(month[:4]), int(month[5:7])
    tz = ZoneInfo(zone)
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def _placed_from(orders_t: sa.Table, start: datetime):
    """Placed at or after ``start`` (its creation time, payment time when the platform gave
    none), written on the raw timestamp columns so the indexes on them serve the range."""
    return sa.or_(orders_t.c.created_at >= start, sa.and_(orders_t.c.created_at.is_(None), orders_t.c.paid_at >= start))


def _placed_before(orders_t: sa.Table, end: datetime):
    return sa.or_(orders_t.c.created_at < end, sa.and_(orders_t.c.created_at.is_(None), orders_t.c.paid_at < end))


def _placed_in(orders_t: sa.Table, start: datetime, end: datetime):
    """Placed in ``[start, end)``; each branch bounds one indexed column on both sides."""
    return sa.or_(sa.and_(orders_t.c.created_at >= start, orders_t.c.created_at < end),
                  sa.and_(orders_t.c.created_at.is_(None), orders_t.c.paid_at >= start, orders_t.c.paid_at < end))


def _recorded_in(refunds_t: sa.Table, start: datetime, end: datetime):
    """A refund recorded in ``[start, end)``: its last change, else its creation."""
    return sa.or_(sa.and_(refunds_t.c.modified_at >= start, refunds_t.c.modified_at < end),
                  sa.and_(refunds_t.c.modified_at.is_(None), refunds_t.c.created_at >= start,
                          refunds_t.c.created_at < end))


#: how much of a SQLite warehouse file the settlement's reads map into memory (SQLite caps it
#: at its compile-time maximum, 2 GiB by default). The month's aggregation probes indexes at
#: random (a buyer's earlier orders, each order's lines): through SQLite's own page cache
#: (2 MB by default) nearly every probe is a read() call copying a page the OS already holds;
#: mapped, the page is just read (3M lines: the KPI query 30–40 % faster)
SETTLEMENT_SQLITE_MMAP_BYTES = 1 << 31


@contextmanager
def _sqlite_file_mapped(conn: sa.Connection) -> Iterator[None]:
    """On SQLite, memory-map the database file for the settlement's reads, then put the
    connection's setting back (pooled connections keep their pragmas; nothing else asked)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA mmap_size").scalar()
    conn.exec_driver_sql(f"PRAGMA mmap_size={SETTLEMENT_SQLITE_MMAP_BYTES}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA mmap_size={int(before or 0)}")


def _frame(conn: sa.Connection, query, columns: list[str]) -> pd.DataFrame:
    # plain tuples: pandas probes every SQLAlchemy Row for attributes, and each miss raises
    # inside SQLAlchemy (7 s of a million-row read)
    return pd.DataFrame([tuple(row) for row in conn.execute(query)], columns=columns)


def monthly_sales(conn_or_engine: ConnOrEngine, months: Iterable[str], zone: str) -> pd.DataFrame:
    """Per month, shop and currency (``SETTLEMENT_SALES_COLUMNS``, integer minor units):

    - ``orders``/``placed_minor``: orders placed in the month (``created_at``, else ``paid_at``)
      whose status is not ``pending_payment``/``cancelled``; the amount is ``total_minor`` (what
      the buyer pays, post fee included: 下单金额);
    - refunds with status ``refunded`` recorded in the month (``modified_at``, else
      ``created_at``), of orders that counted as placed: ``refunded_minor`` when the order was
      placed in the same month, ``late_refunded_minor`` when it was placed earlier (or is not in
      the warehouse at all: older than its history). A refund without an amount counts 0;
    - ``cost_of_goods_minor``: Σ quantity × ``skus.unit_cost_minor`` over the placed orders'
      lines (gifts included: they leave the warehouse too); ``units_without_cost`` counts the
      units whose SKU has no unit cost (they add nothing: the report shows them).

    Each figure is summed in the database and only the per-shop sums are read back. On
    PostgreSQL the month's lines are first summed per shop, currency and SKU (a few thousand
    groups, hashed), then priced against ``skus`` — one lookup per SKU instead of per line.
    SQLite has no hash aggregation: there each line of the month is priced as it is joined
    (orders → ``order_lines`` primary key → ``skus``) and only the priced lines are grouped
    per shop and currency. A scalar subquery per order summing its lines pays the subquery's
    setup per order and, for the two figures, walks each order's lines twice (3M lines, the
    orders' sums included: 15 s against 9 s this way); grouping per SKU first sorts 3M keys
    and is slower still. Month bounds are UTC instants compared with the raw timestamp
    columns (indexed).
    """
    orders_t, lines_t, refunds_t, skus_t = (Order.__table__, OrderLine.__table__, Refund.__table__,
                                            Sku.__table__)
    counted = orders_t.c.status.not_in(SETTLEMENT_EXCLUDED_STATUSES)
    by_shop = [orders_t.c.shop_id, orders_t.c.currency]
    keys = ["month", "shop_id", "currency"]
    frames = []
    with _connection(conn_or_engine) as conn, _sqlite_file_mapped(conn):
        for month in sorted(set(months)):
            start, end = settlement_month_window(month, zone)
            in_month = sa.and_(counted, _placed_in(orders_t, start, end))
            sums = [sa.func.count().label("orders"), sa.func.sum(orders_t.c.total_minor).label("placed_minor")]
            sold = _frame(conn, sa.select(*by_shop, *sums).where(in_month).group_by(*by_shop),
                          ["shop_id", "currency", "orders", "placed_minor"])
            order_lines = sa.and_(*[orders_t.c[k] == lines_t.c[k] for k in ORDER_KEY])
            if conn.dialect.name == "sqlite":
                cost = _frame(conn, sa.select(*by_shop, *[
                    sa.func.sum(figure).label(name) for name, figure in _line_cost_figures(lines_t.c.quantity, skus_t)])
                    .select_from(orders_t).join(lines_t, order_lines).outerjoin(skus_t, skus_t.c.sku == lines_t.c.sku)
                    .where(in_month).group_by(*by_shop),
                    ["shop_id", "currency", "cost_of_goods_minor", "units_without_cost"])
            else:  # PostgreSQL: units per shop, currency and SKU (hashed), priced once per SKU
                units = (sa.select(*by_shop, lines_t.c.sku, sa.func.sum(lines_t.c.quantity).label("units"))
                         .select_from(lines_t).join(orders_t, order_lines)
                         .where(in_month).group_by(*by_shop, lines_t.c.sku).subquery("units"))
                cost = _frame(conn, sa.select(units.c.shop_id, units.c.currency, *[
                    sa.func.sum(figure).label(name) for name, figure in _line_cost_figures(units.c.units, skus_t)])
                    .select_from(units).outerjoin(skus_t, skus_t.c.sku == units.c.sku)
                    .group_by(units.c.shop_id, units.c.currency),
                    ["shop_id", "currency", "cost_of_goods_minor", "units_without_cost"])
            _merge_refunds(frames, month, sold.merge(cost, on=["shop_id", "currency"], how="outer"),
                           _refund_sums(conn, orders_t, refunds_t, counted, start, end))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c not in keys else object)
                             for c in SETTLEMENT_SALES_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    numbers = [c for c in SETTLEMENT_SALES_COLUMNS if c not in keys]
    out[numbers] = out[numbers].fillna(0).astype("int64")
    return out[list(SETTLEMENT_SALES_COLUMNS)].sort_values(keys, ignore_index=True)


def _line_cost_figures(units, skus_t: sa.Table) -> list[tuple[str, sa.ColumnElement]]:
    """(name, figure to sum) of the cost of goods and of the units without a unit cost, for
    ``units`` of a SKU joined (outer) with ``skus``."""
    return [("cost_of_goods_minor", units * sa.func.coalesce(skus_t.c.unit_cost_minor, 0)),
            ("units_without_cost", sa.case((skus_t.c.unit_cost_minor.is_(None), units), else_=0))]


def _refund_sums(conn: sa.Connection, orders_t: sa.Table, refunds_t: sa.Table, counted, start: datetime,
                 end: datetime) -> pd.DataFrame:
    """Per shop and currency: ``refunded_minor`` and ``late_refunded_minor`` (see ``monthly_sales``)."""
    same_month = sa.and_(orders_t.c.order_id.is_not(None), _placed_from(orders_t, start))
    amount = sa.func.coalesce(refunds_t.c.amount_minor, 0)
    return _frame(conn, sa.select(
        refunds_t.c.shop_id, refunds_t.c.currency,
        sa.func.sum(sa.case((same_month, amount), else_=0)).label("refunded_minor"),
        sa.func.sum(sa.case((same_month, 0), else_=amount)).label("late_refunded_minor"))
        .select_from(refunds_t)
        .outerjoin(orders_t, sa.and_(orders_t.c.platform == refunds_t.c.platform,
                                     orders_t.c.shop_id == refunds_t.c.shop_id,
                                     orders_t.c.order_id == refunds_t.c.order_id))
        .where(refunds_t.c.status == SETTLEMENT_REFUND_STATUS, _recorded_in(refunds_t, start, end),
               sa.or_(orders_t.c.order_id.is_(None), counted))
        .group_by(refunds_t.c.shop_id, refunds_t.c.currency),
        ["shop_id", "currency", "refunded_minor", "late_refunded_minor"])


def _merge_refunds(frames: list[pd.DataFrame], month: str, sold: pd.DataFrame, refunds: pd.DataFrame) -> None:
    month_frame = sold.merge(refunds, on=["shop_id", "currency"], how="outer")
    month_frame.insert(0, "month", month)
    frames.append(month_frame)


def settlement_month_reads(engine: sa.Engine, month: str, months: Iterable[str],
                           zone: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``monthly_sales(months)`` and ``settlement_kpi_orders(month)``, read side by side on two
    connections of ``engine``.

    The two queries share nothing, and each spends most of its time inside the database
    (SQLite's and psycopg's calls release the GIL while the query runs), so on two cores the
    read takes about as long as the slower of them instead of their sum (3M lines on SQLite:
    the two are 9 s each). Both read committed data; a pull committing in between can only
    add orders that the next settlement run sees, as it would with one read after the other.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="settlement-read") as pool:
        sales = pool.submit(monthly_sales, engine, months, zone)
        kpi_orders = pool.submit(settlement_kpi_orders, engine, month, zone)
        return sales.result(), kpi_orders.result()


#: a shipping hold with this reason means the warehouse could not ship the order: it was oversold
SETTLEMENT_OVERSOLD_HOLD_REASON = "out_of_stock"
#: a refund in any of these states marks its order as refunded for the refund rate
SETTLEMENT_KPI_REFUND_STATUSES: tuple[str, ...] = ("requested", "refunding", "refunded")
SETTLEMENT_KPI_COLUMNS: tuple[str, ...] = ("shop_id", "order_id", "currency", "buyer_key", "total_minor", "refunded",
                                           "shipped_on_time", "oversold", "new_buyer")


def settlement_kpi_orders(conn_or_engine: ConnOrEngine, month: str, zone: str) -> pd.DataFrame:
    """The month's placed orders as ``domain.settlement.store_kpis`` reads them: shop_id,
    order_id, currency, buyer_key, total_minor, refunded (a refund requested or paid, or the
    order's status says so), shipped_on_time (None while the deadline is unknown or not yet
    passed at month end), oversold (the shipping audit held it for lack of stock:
    ``order_holds`` with reason ``out_of_stock``), new_buyer (no order of the same buyer in
    the same shop placed before the month). In no particular order: the KPIs are sums per shop
    (sorting a million rows would cost seconds for nothing).

    One query: every flag is decided in the database (EXISTS on the indexed keys of refunds,
    holds and the buyer's earlier orders), so no timestamp is read back and converted; the
    flags arrive as 0/1 (NULL: unknown) and become booleans column-wise.
    """
    from warehouse.models import OrderHold

    orders_t, refunds_t, holds_t = Order.__table__, Refund.__table__, OrderHold.__table__
    earlier = orders_t.alias("earlier")
    start, end = settlement_month_window(month, zone)

    def flag(condition) -> sa.ColumnElement:
        return sa.case((condition, 1), else_=0)

    refunded = sa.or_(orders_t.c.status.in_(("refunding", "refunded")), sa.exists().where(
        *[refunds_t.c[k] == orders_t.c[k] for k in ORDER_KEY], refunds_t.c.status.in_(SETTLEMENT_KPI_REFUND_STATUSES)))
    oversold = sa.exists().where(*[holds_t.c[k] == orders_t.c[k] for k in ORDER_KEY],
                                 sa.cast(holds_t.c.reasons, sa.Text).like(f"%{SETTLEMENT_OVERSOLD_HOLD_REASON}%"))
    shipped, due = orders_t.c.shipped_at, orders_t.c.ship_by_at
    # on time: shipped by the deadline; not shipped and the deadline passed before month end:
    # late; otherwise (no deadline, or not yet due) unknown
    on_time = sa.case((sa.and_(due.is_not(None), shipped.is_not(None)), flag(shipped <= due)),
                      (sa.and_(due.is_not(None), shipped.is_(None), due < end), 0), else_=sa.null())
    same_buyer = [earlier.c.shop_id == orders_t.c.shop_id, earlier.c.buyer_key == orders_t.c.buyer_key]
    columns = list(SETTLEMENT_KPI_COLUMNS)
    with _connection(conn_or_engine) as conn, _sqlite_file_mapped(conn):
        if conn.dialect.name == "sqlite":
            # the order itself is always among its buyer's orders (and never earlier): told apart
            # by the rowid the buyer index holds, its row is not read (SQLite, 3M lines: −0.6 s)
            same_buyer.append(sa.literal_column("earlier.rowid") != sa.literal_column("orders.rowid"))
        returning = sa.exists().where(*same_buyer, earlier.c.status.not_in(SETTLEMENT_EXCLUDED_STATUSES),
                                      _placed_before(earlier, start))
        result = conn.execute(sa.select(
            orders_t.c.shop_id, orders_t.c.order_id, orders_t.c.currency, orders_t.c.buyer_key,
            orders_t.c.total_minor, flag(refunded), on_time, flag(oversold),
            flag(sa.and_(orders_t.c.buyer_key.is_not(None), ~returning)))
            .where(orders_t.c.status.not_in(SETTLEMENT_EXCLUDED_STATUSES), _placed_in(orders_t, start, end)))
        # straight from the driver's cursor: every column is text, an integer or NULL, which
        # both drivers already return as str/int, so SQLAlchemy's Row objects (no type to
        # convert) would only cost time — about 2 s of a million-row read on SQLite
        try:
            orders = pd.DataFrame(result.cursor.fetchall(), columns=columns)
        finally:
            result.close()
    if orders.empty:
        return pd.DataFrame(columns=columns)
    for name in ("refunded", "oversold", "new_buyer"):
        orders[name] = orders[name].astype(bool)
    known = orders["shipped_on_time"].notna().to_numpy()
    on_time_values = np.full(len(orders), None, dtype=object)
    on_time_values[known] = orders["shipped_on_time"].to_numpy()[known] == 1
    orders["shipped_on_time"] = on_time_values
    orders["buyer_key"] = orders["buyer_key"].fillna(orders["order_id"])  # unknown buyer: one per order
    return orders


@dataclass(frozen=True)
class SettlementVersion:
    id: int
    month: str
    preset: str
    version: int
    inputs_sha256: str
    status: str
    created_at: datetime
    approved_at: datetime | None
    approved_by: str | None
    note: str | None
    flow_run_id: str | None


class SettlementStateError(ValueError):
    """A status change the settlement's history does not allow."""


def _settlement_version(row: Any) -> SettlementVersion:
    return SettlementVersion(**{f: getattr(row, f) for f in SettlementVersion.__dataclass_fields__})


def _settlements_query():
    from warehouse.models import Settlement

    return sa.select(*[Settlement.__table__.c[f] for f in SettlementVersion.__dataclass_fields__])


def settlement_versions(conn_or_engine: ConnOrEngine, month: str, preset: str | None = None) -> list[SettlementVersion]:
    """Every version of ``month`` (of one preset, or all), newest first."""
    from warehouse.models import Settlement

    table = Settlement.__table__
    query = _settlements_query().where(table.c.month == month)
    if preset is not None:
        query = query.where(table.c.preset == preset)
    with _connection(conn_or_engine) as conn:
        rows = conn.execute(query.order_by(table.c.preset, table.c.version.desc())).all()
    return [_settlement_version(r) for r in rows]


def latest_settlement(conn_or_engine: ConnOrEngine, month: str, preset: str) -> SettlementVersion | None:
    versions = settlement_versions(conn_or_engine, month, preset)
    return versions[0] if versions else None


def get_settlement(conn_or_engine: ConnOrEngine, settlement_id: int) -> SettlementVersion:
    from warehouse.models import Settlement

    with _connection(conn_or_engine) as conn:
        row = conn.execute(_settlements_query().where(Settlement.__table__.c.id == settlement_id)).first()
    if row is None:
        raise SettlementStateError(f"there is no settlement with id {settlement_id}")
    return _settlement_version(row)



def settlements_asked_in(conn_or_engine: ConnOrEngine, flow_run_id: str) -> list[SettlementVersion]:
    """The versions whose approval flow run ``flow_run_id`` asked for (newest first)."""
    from warehouse.models import Settlement

    table = Settlement.__table__
    with _connection(conn_or_engine) as conn:
        rows = conn.execute(_settlements_query().where(table.c.flow_run_id == flow_run_id)
                            .order_by(table.c.id.desc())).all()
    return [_settlement_version(r) for r in rows]


#: the stored coefficient keeps 8 places (settlement_lines.coefficient is NUMERIC(12, 8))
_COEFFICIENT_PLACES = Decimal("0.00000001")


class SettlementFinalError(SettlementStateError):
    """An attempt to change a month whose settlement was approved (final)."""


def final_settlement_refusal(version: SettlementVersion) -> str:
    """What a person reads when a final settlement would be changed, and what to do instead."""
    approved = f"approved {version.approved_at:%Y-%m-%d %H:%M} UTC by {version.approved_by}" \
        if version.approved_at else "approved"
    return (f"Settlement {version.month} ({version.preset}) version {version.version} is final ({approved}) "
            "and cannot be changed. A refund recorded later is netted in the month it is recorded "
            "(late_refund_policy: clawback). If the approved figures themselves are wrong, settle a correction "
            f"explicitly: `shopops settle {version.month} --correct-final` makes a new version that needs its own "
            f"approval; version {version.version} stays readable.")


def _lock_month(conn: sa.Connection, month: str, preset: str) -> None:
    """One writer of a month's versions at a time, until the transaction ends (two runs of the
    same month must not both number a version, nor both miss the other's same-inputs version)."""
    if conn.dialect.name == "sqlite":
        _hold_sqlite_write_lock(conn)
    elif conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"settlement {month} {preset}"))))


def write_settlement(conn_or_engine: ConnOrEngine, *, month: str, preset: str, inputs_sha256: str,
                     lines: Iterable[dict[str, Any]], status: str = "draft", flow_run_id: str | None = None,
                     inputs: dict | None = None, kpis: dict | None = None,
                     correct_final: bool = False) -> tuple[SettlementVersion, bool]:
    """Store a version of (month, preset) with its lines, in one transaction, and say whether
    it is new: ``(version, created)``.

    One effect per inputs: when the newest version already has ``inputs_sha256`` it is returned
    as it is (``created`` False), whatever its status. Otherwise the next number is written —
    unless the newest version is final: then :class:`SettlementFinalError` says so, and only
    ``correct_final`` makes the new version (the final one is never touched; approving the new
    one supersedes it). A line: person_id, role, revenue_minor, components (dict), coefficient
    (Decimal; None for someone not scored, stored as 0 with empty components),
    commission_minor, annual_bonus_minor (or None), flags (list). ``inputs``/``kpis``: the
    inputs snapshot and the published KPIs, kept for ``settle show`` / ``settle diff``."""
    from warehouse.models import Settlement, SettlementLine

    if status not in ("draft", "awaiting_approval"):
        raise SettlementStateError(f"a new settlement version starts as draft or awaiting_approval, not {status}")
    table, lines_t = Settlement.__table__, SettlementLine.__table__
    with _connection(conn_or_engine) as conn:
        _lock_month(conn, month, preset)
        newest = latest_settlement(conn, month, preset)
        if newest is not None and newest.inputs_sha256 == inputs_sha256:
            return newest, False
        if newest is not None and newest.status == "final" and not correct_final:
            raise SettlementFinalError(final_settlement_refusal(newest))
        number = 1 if newest is None else newest.version + 1
        new_id = conn.execute(sa.insert(table).values(
            month=month, preset=preset, version=number, inputs_sha256=inputs_sha256, status=status,
            created_at=_utc_now(), flow_run_id=flow_run_id, inputs=inputs, kpis=kpis).returning(table.c.id)).scalar_one()
        rows = []
        for line in lines:
            coefficient = line.get("coefficient")
            rows.append(dict(settlement_id=new_id, person_id=line["person_id"], role=line["role"],
                             revenue_minor=int(line["revenue_minor"]), components=line.get("components") or {},
                             coefficient=Decimal(0) if coefficient is None else
                             Decimal(coefficient).quantize(_COEFFICIENT_PLACES),
                             commission_minor=int(line["commission_minor"]),
                             annual_bonus_minor=line.get("annual_bonus_minor"), flags=list(line.get("flags") or [])))
        if rows:
            conn.execute(sa.insert(lines_t), rows)
        row = conn.execute(_settlements_query().where(table.c.id == new_id)).one()
    return _settlement_version(row), True


def settlement_version(conn_or_engine: ConnOrEngine, month: str, preset: str,
                       version: int | None = None) -> SettlementVersion:
    """Version ``version`` of (month, preset), or the newest; a missing one is refused with
    the versions there are."""
    versions = settlement_versions(conn_or_engine, month, preset)
    if not versions:
        raise SettlementStateError(f"there is no settlement of {month} ({preset}) yet; run `shopops settle {month}`")
    if version is None:
        return versions[0]
    for candidate in versions:
        if candidate.version == version:
            return candidate
    raise SettlementStateError(f"settlement {month} ({preset}) has no version {version} "
                               f"(there are {', '.join(str(v.version) for v in reversed(versions))})")


def settlement_documents(conn_or_engine: ConnOrEngine, settlement_id: int) -> tuple[dict | None, dict | None]:
    """(inputs snapshot, KPIs) stored with a version (None for a version stored without them)."""
    from warehouse.models import Settlement

    table = Settlement.__table__
    with _connection(conn_or_engine) as conn:
        row = conn.execute(sa.select(table.c.inputs, table.c.kpis).where(table.c.id == settlement_id)).first()
    if row is None:
        raise SettlementStateError(f"there is no settlement with id {settlement_id}")
    return row.inputs, row.kpis


def read_settlement_lines(conn_or_engine: ConnOrEngine, settlement_id: int) -> pd.DataFrame:
    """A version's lines (person_id, role, revenue_minor, components, coefficient,
    commission_minor, annual_bonus_minor, flags), by person."""
    from warehouse.models import SettlementLine

    lines_t = SettlementLine.__table__
    columns = ["person_id", "role", "revenue_minor", "components", "coefficient", "commission_minor",
               "annual_bonus_minor", "flags"]
    with _connection(conn_or_engine) as conn:
        rows = conn.execute(sa.select(*[lines_t.c[c] for c in columns])
                            .where(lines_t.c.settlement_id == settlement_id).order_by(lines_t.c.person_id)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def _undecided_settlement(conn: sa.Connection, settlement_id: int, what_instead: str) -> SettlementVersion:
    """The version, if it may still change: a final one is refused (immutable), a superseded
    one too, saying ``what_instead``."""
    current = get_settlement(conn, settlement_id)
    if current.status == "final":
        raise SettlementFinalError(final_settlement_refusal(current))
    if current.status == "superseded":
        raise SettlementStateError(f"settlement {current.month} {current.preset} v{current.version} is "
                                   f"{current.status}; {what_instead}")
    return current


def set_settlement_status(conn_or_engine: ConnOrEngine, settlement_id: int, status: str, *,
                          flow_run_id: str | None = None) -> SettlementVersion:
    """Move a version that is not decided yet to draft or awaiting_approval (a run asking
    again for the same figures); a final or superseded version never goes back."""
    from warehouse.models import Settlement

    if status not in ("draft", "awaiting_approval"):
        raise SettlementStateError(f"use finalise_settlement or request_settlement_correction for {status}")
    table = Settlement.__table__
    with _connection(conn_or_engine) as conn:
        _undecided_settlement(conn, settlement_id, "settle again to make a new version")
        values: dict[str, Any] = {"status": status}
        if flow_run_id is not None:
            values["flow_run_id"] = flow_run_id
        conn.execute(sa.update(table).where(table.c.id == settlement_id).values(**values))
        return get_settlement(conn, settlement_id)


def finalise_settlement(conn_or_engine: ConnOrEngine, settlement_id: int, *, approved_by: str,
                        note: str | None = None, at: datetime | None = None) -> SettlementVersion:
    """Approve a version: it becomes final and the month's previous final version (same
    preset) superseded, in one transaction. Approving a final version again changes nothing."""
    from warehouse.models import Settlement

    table = Settlement.__table__
    with _connection(conn_or_engine) as conn:
        if conn.dialect.name == "sqlite":
            _hold_sqlite_write_lock(conn)
        current = get_settlement(conn, settlement_id)
        if current.status == "final":
            return current
        if current.status == "superseded":
            raise SettlementStateError(f"settlement {current.month} {current.preset} v{current.version} was "
                                       "superseded by a newer approved version; it cannot be approved again")
        conn.execute(sa.update(table).where(table.c.month == current.month, table.c.preset == current.preset,
                                            table.c.status == "final", table.c.id != settlement_id)
                     .values(status="superseded"))
        conn.execute(sa.update(table).where(table.c.id == settlement_id).values(
            status="final", approved_at=at or _utc_now(), approved_by=approved_by, note=note or current.note))
        return get_settlement(conn, settlement_id)


def request_settlement_correction(conn_or_engine: ConnOrEngine, settlement_id: int, *, note: str,
                                  by: str | None = None) -> SettlementVersion:
    """Record that a reviewer disputes a version (with what to correct); it stays readable
    as ``correction_requested``. The correction itself is a new version from corrected inputs."""
    from warehouse.models import Settlement

    if not note or not note.strip():
        raise SettlementStateError("a correction request needs a note saying what is wrong")
    table = Settlement.__table__
    with _connection(conn_or_engine) as conn:
        _undecided_settlement(conn, settlement_id, "a correction is a new version (settle again)")
        text = note.strip() if not by else f"{note.strip()} — {by}"
        conn.execute(sa.update(table).where(table.c.id == settlement_id)
                     .values(status="correction_requested", note=text))
        return get_settlement(conn, settlement_id)


def final_coefficients(conn_or_engine: ConnOrEngine, preset: str, months: Iterable[str]) -> pd.DataFrame:
    """month, person_id, coefficient (Decimal) of the final versions of ``preset`` in
    ``months``; lines of people not scored (empty components: left within the month) are left out."""
    from warehouse.models import Settlement, SettlementLine

    table, lines_t = Settlement.__table__, SettlementLine.__table__
    wanted = sorted(set(months))
    columns = ["month", "person_id", "coefficient", "components"]
    if not wanted:
        return pd.DataFrame(columns=columns[:3])
    with _connection(conn_or_engine) as conn:
        rows = conn.execute(sa.select(table.c.month, lines_t.c.person_id, lines_t.c.coefficient, lines_t.c.components)
                            .join(lines_t, lines_t.c.settlement_id == table.c.id)
                            .where(table.c.preset == preset, table.c.status == "final", table.c.month.in_(wanted))
                            .order_by(table.c.month, lines_t.c.person_id)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame = frame[frame["components"].map(bool).astype(bool)].copy()
    frame["coefficient"] = [Decimal(str(c)) for c in frame["coefficient"]]
    return frame[columns[:3]].reset_index(drop=True)
