"""The warehouse against real databases: every test runs on SQLite and on PostgreSQL.

Schema: migrations up, down to nothing and up again, and the models agree with them.
Orders: "newest modified wins" (domain-rules.md §1) with its counts, lines and refunds,
duplicates in a batch, two writers at once, ids and times that survive the round trip.
Bookkeeping: raw page archive, quarantine, watermark, the run guard (lease), capture log,
shops and catalogue mirrors.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames
from warehouse import migrate, repository
from warehouse.db import make_engine, session_scope
from warehouse.models import Base, Order, OrderLine, QuarantinedRecord, RawPage, Refund, Shop, Sku, UTCDateTime
from warehouse.repository import CaptureLogEntry, UpsertResult

T0 = datetime(2026, 11, 11, 0, 0, tzinfo=timezone.utc)
SHOP = "tmall-flagship"


# --- building canonical batches -------------------------------------------------------------

def order(order_id: str, modified: datetime, total: int = 1000, lines: tuple[tuple[str, int], ...] = (("SKU-A", 1),),
          refunds: tuple[str, ...] = (), status: str = "paid") -> dict:
    """One canonical order: lines as (sku, quantity), the total spread over them evenly."""
    head = dict.fromkeys(ORDER_COLUMNS)
    head.update(platform="taobao", shop_id=SHOP, order_id=order_id, status=status, currency="CNY",
                total_minor=total, post_fee_minor=0, discount_minor=0, created_at=T0, paid_at=T0,
                modified_at=modified, line_count=len(lines), buyer_key="b1")
    line_rows = []
    for number, (sku, quantity) in enumerate(lines, start=1):
        line = dict.fromkeys(LINE_COLUMNS)
        line.update(platform="taobao", shop_id=SHOP, order_id=order_id, line_no=number,
                    line_id=f"{order_id}{number:02d}", sku=sku, quantity=quantity,
                    unit_price_minor=total // len(lines) // quantity, line_total_minor=total // len(lines),
                    currency="CNY", is_gift=False)
        line_rows.append(line)
    refund_rows = []
    for refund_id in refunds:
        refund = dict.fromkeys(REFUND_COLUMNS)
        refund.update(platform="taobao", shop_id=SHOP, refund_id=refund_id, order_id=order_id, quantity=1,
                      amount_minor=total, currency="CNY", status="refunding", created_at=T0, modified_at=modified)
        refund_rows.append(refund)
    return {"order": head, "lines": line_rows, "refunds": refund_rows}


def batch(*orders: dict) -> CanonicalFrames:
    return CanonicalFrames(
        orders=pd.DataFrame([o["order"] for o in orders], columns=list(ORDER_COLUMNS)),
        lines=pd.DataFrame([line for o in orders for line in o["lines"]], columns=list(LINE_COLUMNS)),
        refunds=pd.DataFrame([r for o in orders for r in o["refunds"]], columns=list(REFUND_COLUMNS)),
    )


def stored_orders(engine: sa.Engine) -> dict[str, tuple[datetime, int]]:
    with session_scope(engine) as session:
        return {o.order_id: (o.modified_at, o.total_minor) for o in session.scalars(sa.select(Order))}


def stored_lines(engine: sa.Engine, order_id: str) -> list[tuple[int, str, int]]:
    with session_scope(engine) as session:
        lines = session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no))
        return [(line.line_no, line.sku, line.quantity) for line in lines]


# --- schema -------------------------------------------------------------------------------

def test_migrations_create_everything_drop_everything_and_recreate(database_url):
    def tables() -> set[str]:
        engine = make_engine(database_url)
        try:
            with engine.connect() as conn:
                return set(sa.inspect(conn).get_table_names())
        finally:
            engine.dispose()

    assert migrate.current(database_url) is None
    migrate.upgrade(database_url)
    assert migrate.current(database_url) == migrate.head()
    # the version table sits with the tables (on PostgreSQL: in the URL's search_path schema)
    assert tables() == set(Base.metadata.tables) | {"alembic_version"}
    assert len(Base.metadata.tables) == 36   # 33 of 0001 + batch_lines (0003) + capture_windows, ingest_rewinds (0009)

    migrate.downgrade(database_url, "base")
    assert migrate.current(database_url) is None
    assert tables() == {"alembic_version"}

    migrate.upgrade(database_url)
    assert migrate.current(database_url) == migrate.head()
    assert tables() == set(Base.metadata.tables) | {"alembic_version"}


def test_0007_collapses_open_quarantine_duplicates_of_a_version(database_url):
    """issue 19 #10: the rows a re-read added before become one open row per order version."""
    migrate.upgrade(database_url, "0006_open_discrepancy_key")
    engine = make_engine(database_url)
    insert = sa.text("INSERT INTO quarantine (platform, shop_id, order_id, record, record_sha256, reasons, status, "
                     "record_modified_at, first_seen_at, last_checked_at) VALUES ('jd', 'jd-pop', :o, '{}', :h, "
                     ":r, :s, :m, :f, :f)").bindparams(sa.bindparam("m", type_=UTCDateTime()),
                                                       sa.bindparam("f", type_=UTCDateTime()))
    rows = [("1", "a", '["old"]', "open", T0, T0), ("1", "b", '["new"]', "open", T0, T0 + timedelta(hours=1)),
            ("1", "c", '["v2"]', "open", T0 + timedelta(minutes=5), T0), ("1", "d", '["x"]', "released", T0, T0),
            ("2", "e", '["no time"]', "open", None, T0), ("2", "f", '["no time"]', "open", None, T0)]
    with engine.begin() as conn:
        for order_id, sha, reasons, status, modified, first in rows:
            conn.execute(insert, dict(o=order_id, h=sha, r=reasons, s=status, m=modified, f=first))
    try:
        migrate.upgrade(database_url)
        with session_scope(engine) as session:
            kept = [(r.record_sha256, r.status, r.reasons, r.first_seen_at) for r in
                    session.scalars(sa.select(QuarantinedRecord).order_by(QuarantinedRecord.record_sha256))]
        assert kept == [("b", "open", ["new"], T0), ("c", "open", ["v2"], T0), ("d", "released", ["x"], T0),
                        ("e", "open", ["no time"], T0), ("f", "open", ["no time"], T0)]
        migrate.downgrade(database_url, "0006_open_discrepancy_key")
        migrate.upgrade(database_url)
    finally:
        engine.dispose()


def test_models_and_migration_agree(engine):
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert differences == []


# --- orders: newest modified wins -----------------------------------------------------------

def test_upsert_counts_new_updated_unchanged_stale(engine):
    first = repository.upsert_orders(engine, batch(
        order("1", T0, total=100), order("2", T0, total=200), order("3", T0 + timedelta(hours=1), total=300)))
    assert first == UpsertResult(new=3)

    second = repository.upsert_orders(engine, batch(
        order("1", T0 + timedelta(minutes=5), total=110),   # newer: replaces
        order("2", T0, total=999),                          # same version: nothing written
        order("3", T0, total=1),                            # older than stored: ignored
        order("4", T0, total=400),                          # new
    ))
    assert second == UpsertResult(new=1, updated=1, unchanged=1, stale=1)
    assert stored_orders(engine) == {
        "1": (T0 + timedelta(minutes=5), 110),
        "2": (T0, 200),
        "3": (T0 + timedelta(hours=1), 300),
        "4": (T0, 400),
    }


def test_lines_follow_the_winning_version_only(engine):
    repository.upsert_orders(engine, batch(order("10", T0 + timedelta(minutes=10), lines=(("SKU-A", 1), ("SKU-B", 2)))))

    older = repository.upsert_orders(engine, batch(order("10", T0, lines=(("SKU-X", 5), ("SKU-Y", 5), ("SKU-Z", 5)))))
    assert older == UpsertResult(stale=1)
    assert stored_lines(engine, "10") == [(1, "SKU-A", 1), (2, "SKU-B", 2)]

    newer = repository.upsert_orders(engine, batch(order("10", T0 + timedelta(minutes=20), lines=(("SKU-C", 3),))))
    assert newer == UpsertResult(updated=1)
    assert stored_lines(engine, "10") == [(1, "SKU-C", 3)]


def test_refunds_of_winning_orders_are_upserted(engine):
    repository.upsert_orders(engine, batch(order("20", T0, refunds=("R1",))))
    refunded = order("20", T0 + timedelta(hours=2), status="refunded", refunds=("R1", "R2"))
    refunded["refunds"][0]["status"] = "refunded"
    repository.upsert_orders(engine, batch(refunded))

    with session_scope(engine) as session:
        refunds = {r.refund_id: (r.status, r.modified_at) for r in session.scalars(sa.select(Refund))}
    assert refunds == {"R1": ("refunded", T0 + timedelta(hours=2)), "R2": ("refunding", T0 + timedelta(hours=2))}


def test_duplicate_keys_in_one_batch_keep_the_newest_with_its_lines(engine):
    result = repository.upsert_orders(engine, batch(
        order("30", T0 + timedelta(minutes=9), total=900, lines=(("SKU-N", 1), ("SKU-N2", 1))),  # newest, first
        order("30", T0, total=100, lines=(("SKU-O", 1), ("SKU-O2", 1), ("SKU-O3", 1))),
        order("31", T0, total=100, lines=(("SKU-O", 1),)),
        order("31", T0 + timedelta(minutes=1), total=110, lines=(("SKU-N", 4),)),               # newest, last
    ))
    assert result == UpsertResult(new=2, duplicates=2)
    assert stored_orders(engine) == {"30": (T0 + timedelta(minutes=9), 900), "31": (T0 + timedelta(minutes=1), 110)}
    assert stored_lines(engine, "30") == [(1, "SKU-N", 1), (2, "SKU-N2", 1)]
    assert stored_lines(engine, "31") == [(1, "SKU-N", 4)]


@pytest.mark.parametrize(("first_minutes", "second_minutes", "second_result", "stored_minutes"), [
    (2, 1, UpsertResult(stale=1), 2),    # the older version arrives second: it must not win
    (1, 2, UpsertResult(updated=1), 2),  # the newer version arrives second: it wins, lines and all
], ids=["older-second", "newer-second"])
def test_two_writers_at_once_keep_the_newest(engine, first_minutes, second_minutes, second_result, stored_minutes):
    """A second process upserts the same order while the first has not committed yet."""
    def version(minutes: int) -> CanonicalFrames:
        return batch(order("40", T0 + timedelta(minutes=minutes), total=100 + minutes, lines=(("SKU-A", 1),) * minutes))

    repository.upsert_orders(engine, batch(order("40", T0, total=100)))
    second: dict[str, UpsertResult] = {}
    with engine.connect() as first:
        assert repository.upsert_orders(first, version(first_minutes)) == UpsertResult(updated=1)
        writer = threading.Thread(target=lambda: second.setdefault(
            "result", repository.upsert_orders(engine, version(second_minutes))))
        writer.start()
        time.sleep(0.5)
        assert "result" not in second  # waiting for the first writer's lock
        first.commit()
    writer.join(timeout=30)

    assert second["result"] == second_result
    assert stored_orders(engine)["40"] == (T0 + timedelta(minutes=stored_minutes), 100 + stored_minutes)
    assert len(stored_lines(engine, "40")) == stored_minutes


def test_64_bit_ids_round_trip_as_strings(engine):
    big = "18446744073709551615"  # 2**64 - 1: a float would store 18446744073709551616
    repository.upsert_orders(engine, batch(order(big, T0)))
    with session_scope(engine) as session:
        line = session.scalars(sa.select(OrderLine)).one()
    assert (line.order_id, line.line_id) == (big, big + "01")
    assert list(stored_orders(engine)) == [big]


def test_times_round_trip_timezone_aware_in_utc(engine):
    shanghai = datetime(2026, 11, 11, 8, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    repository.upsert_orders(engine, batch(order("50", shanghai)))
    with session_scope(engine) as session:
        stored = session.scalars(sa.select(Order)).one()
    assert stored.modified_at == datetime(2026, 11, 11, 0, 30, 15, 123456, tzinfo=timezone.utc)
    assert stored.modified_at.tzinfo == timezone.utc
    assert stored.ingested_at.tzinfo == timezone.utc and stored.shipped_at is None


def test_columns_with_gaps_in_pandas_dtypes_are_stored_exactly(engine):
    """JSON-derived frames carry gaps as NaN: floats for integers and flags, str dtype for text."""
    frames = batch(order("90", T0, total=2**40 + 1), order("91", T0))
    orders = frames.orders
    orders["post_fee_minor"] = pd.Series([1200.0, float("nan")])
    orders["is_presale"] = pd.Series([1.0, float("nan")])
    orders["buyer_remark"] = pd.Series(["请发顺丰", None], dtype="str")
    repository.upsert_orders(engine, frames)

    with session_scope(engine) as session:
        stored = {o.order_id: (o.total_minor, o.post_fee_minor, o.is_presale, o.buyer_remark)
                  for o in session.scalars(sa.select(Order))}
    assert stored == {"90": (2**40 + 1, 1200, True, "请发顺丰"), "91": (1000, None, None, None)}

    frames.orders["order_id"] = pd.Series([1.8446744073709552e19, 2.0])
    with pytest.raises(TypeError, match="2\\*\\*53"):
        repository.upsert_orders(engine, frames)


def test_naive_times_are_refused(engine):
    naive = order("60", T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="naive"):
        repository.upsert_orders(engine, batch(naive))
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), session_scope(engine) as session:
        session.add(Shop(shop_id="s", platform="taobao", name="n", created_at=datetime(2026, 1, 1)))
    assert repository.table_counts(engine)["orders"] == 0


# --- raw pages and quarantine ---------------------------------------------------------------

def test_archiving_the_same_page_twice_keeps_one_copy(engine):
    payload = '{"trades": [{"tid": 18446744073709551615, "status": "WAIT_SELLER_SEND_GOODS"}]}'.encode()
    page = dict(platform="taobao", shop_id=SHOP, window_start=T0, window_end=T0 + timedelta(hours=1), page_no=1,
                payload=payload, record_count=1)

    first = repository.archive_raw_page(engine, **page, fetched_at=T0)
    again = repository.archive_raw_page(engine, **page, fetched_at=T0 + timedelta(days=1))

    assert again == first
    assert repository.table_counts(engine)["raw_pages"] == 1
    assert repository.load_raw_page(engine, first) == payload
    with session_scope(engine) as session:
        assert session.get(RawPage, first).fetched_at == T0  # the copy kept is the first one


def test_quarantining_the_same_record_twice_keeps_one_row(engine):
    bad = order("70", T0, lines=(("SKU-UNKNOWN", 1),))
    frames = batch(bad)
    rejected = pd.DataFrame([{"platform": "taobao", "shop_id": SHOP, "order_id": "70",
                              "reasons": ["line 1: SKU 'SKU-UNKNOWN' is not in the catalogue"]}])

    first = repository.quarantine_records(engine, rejected, frames, now=T0)
    rejected.at[0, "reasons"] = ["line 1: SKU 'SKU-UNKNOWN' is not in the catalogue", "status changed"]
    again = repository.quarantine_records(engine, rejected, frames, now=T0 + timedelta(hours=1))

    assert (first.new, first.seen_again, again.new, again.seen_again) == (1, 0, 0, 1)
    with session_scope(engine) as session:
        row = session.scalars(sa.select(QuarantinedRecord)).one()
    assert (row.order_id, row.status) == ("70", "open")
    assert (row.first_seen_at, row.last_checked_at) == (T0, T0 + timedelta(hours=1))
    assert row.reasons == ["line 1: SKU 'SKU-UNKNOWN' is not in the catalogue", "status changed"]
    assert row.record["order"]["total_minor"] == 1000 and row.record["lines"][0]["sku"] == "SKU-UNKNOWN"
    assert row.record_modified_at == T0


def test_one_open_quarantine_row_per_order_version_closed_when_a_newer_valid_version_is_stored(engine):
    """issue 19 #10: a re-read of the same invalid version from another page (another
    ``raw_page_id``, so another record hash) refreshes its row instead of adding one; a newer
    version is a row of its own; storing a valid version closes the open rows up to it."""
    reasons = ["line 1: SKU 'SKU-UNKNOWN' is not in the catalogue"]

    def quarantine(modified: datetime, page_id: int, now: datetime):
        frames = batch(order("71", modified, lines=(("SKU-UNKNOWN", 1),)))
        frames.orders["raw_page_id"] = page_id
        rejected = pd.DataFrame([{"platform": "taobao", "shop_id": SHOP, "order_id": "71", "reasons": reasons}])
        return repository.quarantine_records(engine, rejected, frames, now=now)

    assert quarantine(T0, page_id=1, now=T0).new == 1
    again = quarantine(T0, page_id=2, now=T0 + timedelta(hours=1))
    assert (again.new, again.seen_again) == (0, 1)
    assert quarantine(T0 + timedelta(minutes=5), page_id=3, now=T0 + timedelta(hours=1)).new == 1
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(QuarantinedRecord).order_by(QuarantinedRecord.id)).all()
        assert [(r.record_modified_at, r.status) for r in rows] == [(T0, "open"), (T0 + timedelta(minutes=5), "open")]
        assert (rows[0].first_seen_at, rows[0].last_checked_at) == (T0, T0 + timedelta(hours=1))

    # a newer version, valid, is stored: both open rows of the order are closed
    assert repository.upsert_orders(engine, batch(order("71", T0 + timedelta(minutes=9)))).new == 1
    assert repository.open_quarantine(engine) == []
    with session_scope(engine) as session:
        assert {r.status for r in session.scalars(sa.select(QuarantinedRecord))} == {"superseded"}
    # the superseded version read again (a backfill): no new open row
    assert quarantine(T0, page_id=4, now=T0 + timedelta(hours=2)).new == 0
    assert repository.open_quarantine(engine) == []


def test_a_recheck_never_reopens_a_version_a_newer_valid_one_superseded(engine, database_url):
    """issue 19 #10: two held versions of an order, the newer one held first (a lower id); once
    its SKU is known the recheck stores it, which supersedes the older version; re-validating
    that older version (still invalid) must not open it again."""
    from config.schema import load_config
    from tasks.quarantine import recheck_quarantine

    def hold(version: dict, reason: str) -> None:
        frames = batch(version)
        rejected = pd.DataFrame([{"platform": "taobao", "shop_id": SHOP, "order_id": "72", "reasons": [reason]}])
        repository.quarantine_records(engine, rejected, frames, now=T0)

    hold(order("72", T0 + timedelta(minutes=5), lines=(("SKU-NEW", 1),)), "SKU 'SKU-NEW' is not in the catalogue")
    hold(order("72", T0, lines=(("SKU-GONE", 1),)), "SKU 'SKU-GONE' is not in the catalogue")
    repository.upsert_skus(engine, pd.DataFrame([{"sku": "SKU-NEW", "name": "new"}]))

    outcome = recheck_quarantine(load_config(), database_url, "hash-key", SHOP, now=T0 + timedelta(hours=1))
    assert outcome.released == 1
    assert stored_orders(engine)["72"][0] == T0 + timedelta(minutes=5)
    assert repository.open_quarantine(engine) == []
    with session_scope(engine) as session:
        statuses = {r.record_modified_at: r.status for r in session.scalars(sa.select(QuarantinedRecord))}
    assert statuses == {T0 + timedelta(minutes=5): "released", T0: "superseded"}


def test_an_older_version_quarantined_after_a_newer_valid_one_was_stored_is_closed_at_once(engine):
    """issue 18 #11: a newer valid version is stored first; an older, invalid version of the
    order read afterwards (a page shift, a rerun of an older window) has nothing to decide."""
    assert repository.upsert_orders(engine, batch(order("73", T0 + timedelta(minutes=9)))).new == 1
    frames = batch(order("73", T0, lines=(("SKU-UNKNOWN", 1),)))
    rejected = pd.DataFrame([{"platform": "taobao", "shop_id": SHOP, "order_id": "73",
                              "reasons": ["line 1: SKU 'SKU-UNKNOWN' is not in the catalogue"]}])
    repository.quarantine_records(engine, rejected, frames, now=T0 + timedelta(hours=1))
    assert repository.open_quarantine(engine) == []
    # a version newer than the stored one stays open: there is something to decide
    newer = batch(order("73", T0 + timedelta(minutes=20), lines=(("SKU-UNKNOWN", 1),)))
    repository.quarantine_records(engine, rejected, newer, now=T0 + timedelta(hours=1))
    assert [r["record_modified_at"] for r in repository.open_quarantine(engine)] == [T0 + timedelta(minutes=20)]


def test_an_unreadable_record_kept_with_its_modified_time_is_closed_by_a_newer_stored_version(engine):
    """issue 18 #11: a record the normaliser could not read is kept raw; with the modified
    time the connector read, storing a valid version at least as new closes it."""
    record = {"id": 74, "updated_at": "2026-11-11T08:00:00+08:00", "line_items": {"not": "a list"}}
    repository.quarantine_raw_records(engine, "taobao", SHOP, [("74", record, ["could not be read"], T0)])
    assert len(repository.open_quarantine(engine)) == 1
    repository.upsert_orders(engine, batch(order("74", T0 + timedelta(minutes=1))))
    assert repository.open_quarantine(engine) == []


def test_migration_0008_closes_open_rows_a_stored_order_already_superseded(database_url):
    """issue 18 #11: rows left open by the old code (an older version kept after a newer one
    was stored) are closed by the migration; a version newer than the stored order stays open."""
    migrate.upgrade(database_url, "0007_quarantine_open_version")
    engine = make_engine(database_url)
    repository.upsert_orders(engine, batch(order("75", T0 + timedelta(minutes=9))))
    table = QuarantinedRecord.__table__
    with engine.begin() as conn:
        for n, modified in enumerate((T0, T0 + timedelta(minutes=20))):
            conn.execute(sa.insert(table).values(
                platform="taobao", shop_id=SHOP, order_id="75", record={}, record_sha256=f"h{n}", reasons=["x"],
                status="open", record_modified_at=modified, first_seen_at=T0, last_checked_at=T0))
    engine.dispose()
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        statuses = {r.record_modified_at: r.status for r in session.scalars(sa.select(QuarantinedRecord))}
    engine.dispose()
    assert statuses == {T0: "superseded", T0 + timedelta(minutes=20): "open"}


def test_raw_pages_and_raw_quarantine_keep_no_shopify_or_amazon_buyer_name_or_email(engine):
    """issue 18 #12: names and e-mails (which no key alone gives away: "name" is also a line's
    name) are masked by the platform's declared paths before a page or a record is stored."""
    shopify = {"orders": [{"id": 76, "email": "bob.norman@hostmail.com", "customer": {"first_name": "Bob",
               "last_name": "Norman", "email": "bob.norman@hostmail.com"},
               "shipping_address": {"name": "Bob Norman", "address1": "Chestnut Street 92", "city": "Louisville"},
               "line_items": [{"name": "Coffee 3 Pack"}]}]}
    amazon = {"payload": {"Orders": [{"AmazonOrderId": "902-1", "BuyerInfo": {"BuyerEmail": "jd@example.com",
              "BuyerName": "John Doe"}, "ShippingAddress": {"Name": "John Doe", "City": "Canton"}}]}}
    rows = [repository.RawPageRow(platform=platform, shop_id=SHOP, window_start=T0, window_end=T0, page_no=1,
                                  fetched_at=T0, record_count=1, payload=json.dumps(body).encode())
            for platform, body in (("shopify", shopify), ("amazon", amazon))]
    ids = repository.archive_raw_pages(engine, rows)
    repository.quarantine_raw_records(engine, "shopify", SHOP, [("76", shopify["orders"][0], ["could not be read"])])
    stored = " ".join(repository.load_raw_page(engine, i).decode() for i in ids)
    stored += json.dumps(repository.open_quarantine(engine)[0]["record"])
    for clear in ("bob.norman@", "Bob", "Norman", "Chestnut", "jd@", "John Doe"):
        assert clear not in stored, clear
    assert "Coffee 3 Pack" in stored and "Louisville" in stored and "Canton" in stored


# --- watermark, run guard, capture log --------------------------------------------------

def test_watermark_only_moves_forward(engine):
    assert repository.get_watermark(engine, SHOP) is None
    assert repository.set_watermark(engine, SHOP, T0 + timedelta(hours=2)) == T0 + timedelta(hours=2)
    assert repository.set_watermark(engine, SHOP, T0) == T0 + timedelta(hours=2)
    assert repository.get_watermark(engine, SHOP) == T0 + timedelta(hours=2)
    assert repository.get_watermark(engine, SHOP, stream="refunds") is None


def test_lease_admits_one_run_until_released_or_expired(engine):
    ttl = timedelta(minutes=10)
    assert repository.acquire_lease(engine, SHOP, "run-a", ttl, now=T0)
    assert not repository.acquire_lease(engine, SHOP, "run-b", ttl, now=T0 + timedelta(minutes=1))
    assert repository.acquire_lease(engine, "jd-pop", "run-b", ttl, now=T0)  # other shops are independent
    assert repository.acquire_lease(engine, SHOP, "run-a", ttl, now=T0 + timedelta(minutes=2))  # renewal

    assert not repository.release_lease(engine, SHOP, "run-b")
    assert repository.release_lease(engine, SHOP, "run-a")
    assert repository.acquire_lease(engine, SHOP, "run-b", ttl, now=T0 + timedelta(minutes=3))

    # run-b crashes without releasing: once expired, run-c takes over and run-b cannot release it
    assert not repository.acquire_lease(engine, SHOP, "run-c", ttl, now=T0 + timedelta(minutes=12))
    assert repository.acquire_lease(engine, SHOP, "run-c", ttl, now=T0 + timedelta(minutes=13))
    assert not repository.release_lease(engine, SHOP, "run-b")


def test_lease_keeps_the_watermark(engine):
    repository.set_watermark(engine, SHOP, T0)
    repository.acquire_lease(engine, SHOP, "run-a", timedelta(minutes=5))
    repository.release_lease(engine, SHOP, "run-a")
    assert repository.get_watermark(engine, SHOP) == T0


def test_capture_log_rows_are_appended(engine):
    entry = CaptureLogEntry(shop_id=SHOP, window_start=T0, window_end=T0 + timedelta(hours=1), status="succeeded",
                            started_at=T0, pages=3, orders_new=250, throttle_wait_s=1.5, flow_run_id="run-a")
    first = repository.write_capture_log(engine, entry)
    second = repository.write_capture_log(engine, replace(entry, status="failed", error="HTTP 503"))
    assert second > first
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, pages, orders_new, throttle_wait_s, error FROM capture_log "
                                    "ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("succeeded", 3, 250, 1.5, None), ("failed", 3, 250, 1.5, "HTTP 503")]


# --- configuration mirrors and counts ----------------------------------------------------

def test_sync_shops_mirrors_the_configuration(engine):
    def shop(shop_id: str, name: str) -> SimpleNamespace:
        return SimpleNamespace(id=shop_id, platform="taobao", name=name, timezone="Asia/Shanghai", enabled=True,
                               credentials_block=f"shopops-cred-{shop_id}")

    assert repository.sync_shops(engine, [shop("a", "A"), shop("b", "B")]) == repository.ShopSyncResult(2, 0, 0)
    assert repository.sync_shops(engine, [shop("a", "A renamed"), shop("c", "C")]) == repository.ShopSyncResult(1, 1, 1)
    with session_scope(engine) as session:
        shops = {s.shop_id: (s.name, s.enabled) for s in session.scalars(sa.select(Shop))}
    assert shops == {"a": ("A renamed", True), "b": ("B", False), "c": ("C", True)}


def test_upsert_skus_updates_only_the_given_columns(engine):
    repository.upsert_skus(engine, pd.DataFrame({"sku": ["SKU-A", "SKU-B"], "name": ["T恤", "帽子"],
                                                 "lead_time_days": [7, None], "unit_cost_minor": [1250, 800],
                                                 "currency": ["CNY", "CNY"]}))
    assert repository.upsert_skus(engine, pd.DataFrame({"sku": ["SKU-A"], "name": ["T恤 2026"]})) == 1
    with session_scope(engine) as session:
        skus = {s.sku: (s.name, s.lead_time_days, s.unit_cost_minor) for s in session.scalars(sa.select(Sku))}
    assert skus == {"SKU-A": ("T恤 2026", 7, 1250), "SKU-B": ("帽子", None, 800)}


def test_table_counts_cover_every_table(engine):
    repository.upsert_orders(engine, batch(order("80", T0, lines=(("SKU-A", 1), ("SKU-B", 1)))))
    counts = repository.table_counts(engine)
    assert set(counts) == set(Base.metadata.tables)
    assert (counts["orders"], counts["order_lines"], counts["settlements"]) == (1, 2, 0)
