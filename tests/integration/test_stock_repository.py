"""The stock section of the warehouse repository on SQLite and PostgreSQL: idempotent ledger
posts, stocktake import, open order lines and purchase orders for positions, listings with
their sales since the last push, discrepancies, pushes, the positions snapshot, daily sales
by shop-local day, alerts and cooldowns."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames
from domain.stock import positions
from warehouse import migrate, repository
from warehouse.db import make_engine
from warehouse.models import PurchaseOrder, PurchaseOrderLine, UTCDateTime

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)


def moves(*rows):
    """rows: (sku, warehouse, moved_at, kind, quantity, reference)"""
    return pd.DataFrame(rows, columns=list(repository.LEDGER_COLUMNS))


def order(order_id, shop, status, paid_at, lines, currency="CNY"):
    """lines: (sku, quantity, line_total_minor, item_id, sku_id)"""
    head = dict.fromkeys(ORDER_COLUMNS)
    head.update(platform="taobao", shop_id=shop, order_id=order_id, status=status, currency=currency,
                total_minor=sum(l[2] for l in lines), post_fee_minor=0, discount_minor=0, created_at=paid_at,
                paid_at=paid_at, modified_at=paid_at, line_count=len(lines))
    rows = []
    for n, (sku, qty, total, item, variant) in enumerate(lines, start=1):
        line = dict.fromkeys(LINE_COLUMNS)
        line.update(platform="taobao", shop_id=shop, order_id=order_id, line_no=n, line_id=f"{order_id}-{n}",
                    sku=sku, quantity=qty, line_total_minor=total, unit_price_minor=total // qty, currency=currency,
                    is_gift=False, marketplace_item_id=item, marketplace_sku_id=variant)
        rows.append(line)
    return head, rows


def store_orders(engine, *orders):
    repository.upsert_orders(engine, CanonicalFrames(
        orders=pd.DataFrame([o[0] for o in orders], columns=list(ORDER_COLUMNS)),
        lines=pd.DataFrame([l for o in orders for l in o[1]], columns=list(LINE_COLUMNS)),
        refunds=pd.DataFrame(columns=list(REFUND_COLUMNS))))


def test_ledger_posts_are_idempotent_and_read_back_aware(engine):
    entries = moves(("A", "W1", T0, "opening", 100, "opening:2026"),
                    ("A", "W1", T0 + timedelta(hours=1), "shipment", -3, "order:o1"),
                    ("A", "W1", T0 + timedelta(hours=2), "receipt", 20, "po:PO1:A"))

    assert repository.post_ledger(engine, entries) == 3
    assert repository.post_ledger(engine, entries) == 0           # a rerun: nothing new
    assert repository.post_ledger(engine, pd.concat([entries, moves(
        ("A", "W1", T0 + timedelta(hours=3), "shipment", -2, "order:o2"))])) == 1

    ledger = repository.read_ledger(engine)
    assert list(ledger["quantity"]) == [100, -3, 20, -2]
    assert str(ledger["moved_at"].dt.tz) == "UTC" and ledger["moved_at"].iloc[1] == pd.Timestamp(T0 + timedelta(hours=1))
    assert len(repository.read_ledger(engine, until=T0 + timedelta(hours=1))) == 2
    with pytest.raises(ValueError, match="reference"):
        repository.post_ledger(engine, moves(("A", "W1", T0, "receipt", 1, None)))


def test_stocktake_import_sets_on_hand_and_a_reimport_posts_nothing(engine):
    repository.post_ledger(engine, moves(("A", "W1", T0, "opening", 100, "opening"),
                                         ("B", "W2", T0, "opening", 5, "opening")))
    counts = pd.DataFrame([("A", "W1", 95), ("B", "W2", 7)], columns=["sku", "warehouse", "counted_qty"])
    at = T0 + timedelta(days=1)

    first = repository.import_stocktake(engine, counts, counted_at=at, source="count.csv")
    again = repository.import_stocktake(engine, counts, counted_at=at, source="count.csv")

    assert first.ledger_posted == 2 and again.ledger_posted == 0
    assert first.stocktake_ids == again.stocktake_ids and set(first.stocktake_ids) == {"W1", "W2"}
    with engine.connect() as conn:
        assert conn.scalar(sa.text("select count(*) from stocktake_lines")) == 2
    ledger = repository.read_ledger(engine)
    empty_lines = pd.DataFrame(columns=["sku", "warehouse", "quantity", "status"])
    empty_pos = pd.DataFrame(columns=["sku", "warehouse", "status", "expected_at", "qty_ordered", "qty_received"])
    found = positions(ledger, empty_lines, empty_pos)
    assert dict(zip(found["sku"], found["on_hand"])) == {"A": 95, "B": 7}
    assert set(ledger[ledger["kind"] == "stocktake"]["reference"]) == {f"stocktake:{i}" for i in first.stocktake_ids.values()}


def test_open_order_lines_and_po_lines_feed_positions(engine):
    repository.upsert_skus(engine, pd.DataFrame([{"sku": "A", "name": "a", "default_warehouse": "W1"},
                                                 {"sku": "B", "name": "b"}]))
    store_orders(engine,
                 order("o1", "s1", "paid", T0, [("A", 2, 200, "i1", "v1"), ("B", 1, 100, "i2", "")]),
                 order("o2", "s1", "shipped", T0, [("A", 5, 500, "i1", "v1")]))
    with engine.begin() as conn:
        conn.execute(sa.insert(PurchaseOrder), [
            {"po_no": "PO1", "supplier": "hz", "warehouse": "W1", "status": "open", "ordered_at": T0,
             "expected_at": T0 + timedelta(days=5)},
            {"po_no": "PO2", "supplier": "hz", "warehouse": "W1", "status": "received", "ordered_at": T0,
             "expected_at": T0}])
        conn.execute(sa.insert(PurchaseOrderLine), [
            {"po_no": "PO1", "sku": "A", "qty_ordered": 50, "qty_received": 10},
            {"po_no": "PO2", "sku": "A", "qty_ordered": 9, "qty_received": 9}])

    lines = repository.open_order_lines(engine, ["paid"], fallback_warehouse="MAIN")
    assert sorted(zip(lines["sku"], lines["warehouse"], lines["quantity"])) == [("A", "W1", 2), ("B", "MAIN", 1)]
    pos = repository.open_po_lines(engine)
    assert list(pos["po_no"]) == ["PO1"] and pos["expected_at"].iloc[0] == pd.Timestamp(T0 + timedelta(days=5))
    found = positions(repository.read_ledger(engine), lines, pos)
    assert dict(zip(found["sku"], found["in_transit"])) == {"A": 40, "B": 0}


def test_listings_upsert_read_with_sales_since_push_and_reads(engine):
    pushed_at = T0 + timedelta(hours=1)
    repository.upsert_listings(engine, pd.DataFrame([
        {"shop_id": "s1", "marketplace_item_id": "i1", "marketplace_sku_id": "v1", "sku": "A",
         "allocation_share": 0.3, "buffer": 2, "last_pushed_qty": 30, "last_pushed_at": pushed_at},
        {"shop_id": "s1", "marketplace_item_id": "i2", "marketplace_sku_id": None, "sku": "B",
         "allocation_share": 1.0, "buffer": 0}]))
    store_orders(engine,
                 order("before", "s1", "paid", T0, [("A", 4, 400, "i1", "v1")]),             # before the push
                 order("after", "s1", "paid", pushed_at + timedelta(minutes=5), [("A", 3, 300, "i1", "v1")]),
                 order("other", "s2", "paid", pushed_at + timedelta(minutes=5), [("A", 9, 900, "i1", "v1")]),
                 order("gone", "s1", "cancelled", pushed_at + timedelta(minutes=5), [("A", 7, 700, "i1", "v1")]))
    repository.upsert_listings(engine, pd.DataFrame([  # update: only the share changes
        {"shop_id": "s1", "marketplace_item_id": "i1", "marketplace_sku_id": "v1", "sku": "A", "allocation_share": 0.25}]))
    repository.record_listing_reads(engine, pd.DataFrame([("s1", "i1", "v1", 27), ("s1", "i2", "", 4)],
                                                         columns=["shop_id", "marketplace_item_id",
                                                                  "marketplace_sku_id", "qty"]))

    listings = repository.read_listings(engine).set_index("marketplace_item_id")
    assert listings.loc["i1", "allocation_share"] == 0.25 and listings.loc["i1", "buffer"] == 2
    assert listings.loc["i1", "sold_since_push"] == 3                    # only s1's paid order after the push
    assert pd.isna(listings.loc["i2", "sold_since_push"])                # never pushed
    assert (listings.loc["i1", "last_read_qty"], listings.loc["i2", "last_read_qty"]) == (27, 4)
    assert listings.loc["i2", "marketplace_sku_id"] == ""


def test_discrepancies_stored_once_while_open(engine):
    records = pd.DataFrame([
        {"kind": "count_vs_ledger", "sku": "A", "warehouse": "W1", "shop_id": None, "marketplace_item_id": None,
         "marketplace_sku_id": None, "warehouse_count": 95, "ledger_qty": 100, "listing_qty": pd.NA,
         "planned_qty": pd.NA, "difference": -5, "cause": "unrecorded_shipment", "suggested_cause": "counted 95"},
        {"kind": "oversell_risk", "sku": "A", "warehouse": "*", "shop_id": "s1", "marketplace_item_id": "i1",
         "marketplace_sku_id": "v1", "warehouse_count": 95, "ledger_qty": 100, "listing_qty": 40,
         "planned_qty": 30, "difference": 10, "cause": "listing_drift", "suggested_cause": "shows 40"}])

    first = repository.record_discrepancies(engine, records, flow_run_id="run-1")
    again = repository.record_discrepancies(engine, records, flow_run_id="run-2")

    assert (first.new, first.already_open, again.new, again.already_open) == (2, 0, 0, 2)
    stored = repository.read_discrepancies(engine)
    row = stored[stored["shop_id"].isna()].iloc[0]
    assert (row["warehouse_count"], row["ledger_qty"], row["difference"]) == (95, 100, -5)
    assert pd.isna(row["listing_qty"])
    assert (row["kind"], row["cause"], row["suggested_cause"]) == ("count_vs_ledger", "unrecorded_shipment", "counted 95")
    listing_row = stored[stored["shop_id"] == "s1"].iloc[0]
    assert (listing_row["marketplace_item_id"], listing_row["planned_qty"], listing_row["cause"]) == ("i1", 30,
                                                                                                       "listing_drift")
    # the same disagreement with other numbers is the same record, its numbers updated
    moved = repository.record_discrepancies(engine, records.assign(ledger_qty=[101, 101], difference=[-6, 10]))
    assert (moved.new, moved.already_open) == (0, 2)
    assert len(repository.read_discrepancies(engine)) == 2


def _record(kind, shop=None, *, count=None, ledger=100, listing=None, planned=None, difference, cause):
    listing_row = shop is not None
    return {"kind": kind, "sku": "A", "warehouse": "*" if listing_row else "W1", "shop_id": shop,
            "marketplace_item_id": f"{shop}-item" if listing_row else None,
            "marketplace_sku_id": f"{shop}-variant" if listing_row else None,
            "warehouse_count": pd.NA if count is None else count, "ledger_qty": ledger,
            "listing_qty": pd.NA if listing is None else listing, "planned_qty": pd.NA if planned is None else planned,
            "difference": difference, "cause": cause, "suggested_cause": f"{kind} {difference}"}


def test_an_open_discrepancy_is_one_record_per_key_updated_by_later_runs(engine):
    """Issue 17 #2: the hourly run without a count file must not file the same oversell risk
    again; a run with other numbers updates the open record instead of adding one."""
    hour = timedelta(hours=1)
    with_count = pd.DataFrame([
        _record("count_vs_ledger", count=95, difference=-5, cause="unrecorded_shipment"),
        _record("oversell_risk", "s1", count=95, listing=40, planned=30, difference=10, cause="listing_drift"),
        _record("undersell", "s2", count=95, listing=5, planned=20, difference=-15, cause="listing_drift")])
    first = repository.record_discrepancies(engine, with_count, flow_run_id="run-1", now=T0)
    # an hour later, no count file: the listings' records come back without a warehouse count
    hourly = pd.DataFrame([
        _record("oversell_risk", "s1", listing=40, planned=30, difference=10, cause="listing_drift"),
        _record("undersell", "s2", listing=5, planned=20, difference=-15, cause="listing_drift")])
    second = repository.record_discrepancies(engine, hourly, flow_run_id="run-2", now=T0 + hour)
    # two hours later the stock moved: other numbers, and the listing was edited meanwhile
    changed = pd.DataFrame([
        _record("oversell_risk", "s1", ledger=90, listing=45, planned=27, difference=18, cause="listing_edited")])
    third = repository.record_discrepancies(engine, changed, flow_run_id="run-3", now=T0 + 2 * hour)

    assert (first.new, first.already_open) == (3, 0)
    assert (second.new, second.already_open) == (0, 2)
    assert (third.new, third.already_open) == (0, 1)
    stored = repository.read_discrepancies(engine)
    assert len(stored) == 3
    assert not stored.duplicated(["kind", "sku", "warehouse", "shop_id"]).any()
    by_kind = stored.set_index("kind")
    over = by_kind.loc["oversell_risk"]
    assert (over["ledger_qty"], over["listing_qty"], over["planned_qty"], over["difference"], over["cause"]) == (
        90, 45, 27, 18, "listing_edited")                     # the latest numbers
    assert pd.isna(over["warehouse_count"]) and over["suggested_cause"] == "oversell_risk 18"
    assert (over["created_at"], over["last_seen_at"]) == (T0, T0 + 2 * hour)   # open since, last seen
    under = by_kind.loc["undersell"]
    assert (under["difference"], under["created_at"], under["last_seen_at"]) == (-15, T0, T0 + hour)
    count = by_kind.loc["count_vs_ledger"]                  # not seen again (no count): left as it was
    assert (count["warehouse_count"], count["difference"], count["last_seen_at"]) == (95, -5, T0)

    # resolved by a person: the next run that finds it again files a new record
    with engine.begin() as conn:
        conn.execute(sa.text("update stock_discrepancies set status = 'resolved', resolved_at = :at "
                             "where kind = 'oversell_risk'"), {"at": T0 + 3 * hour})
    again = repository.record_discrepancies(engine, changed, flow_run_id="run-4", now=T0 + 4 * hour)
    assert (again.new, again.already_open) == (1, 0)
    assert len(repository.read_discrepancies(engine)) == 3
    assert len(repository.read_discrepancies(engine, None)) == 4


def test_the_warehouse_refuses_a_second_open_record_of_a_key(engine):
    """The uniqueness holds in the database too, for count and listing records alike (their
    shop and listing columns are NULL for a count record); resolved ones may repeat."""
    rows = pd.DataFrame([_record("count_vs_ledger", count=95, difference=-5, cause="unrecorded_shipment"),
                         _record("oversell_risk", "s1", listing=40, planned=30, difference=10, cause="listing_drift")])
    repository.record_discrepancies(engine, rows, now=T0)
    insert = ("insert into stock_discrepancies (kind, cause, sku, warehouse, shop_id, marketplace_item_id, "
              "marketplace_sku_id, difference, status, created_at) values (:kind, :cause, 'A', :w, :shop, :item, "
              ":variant, 1, :status, :at)")
    count_key = {"kind": "count_vs_ledger", "cause": "unrecorded_receipt", "w": "W1", "shop": None, "item": None,
                 "variant": None, "at": T0}
    listing_key = {"kind": "oversell_risk", "cause": "listing_drift", "w": "*", "shop": "s1", "item": "s1-item",
                   "variant": "s1-variant", "at": T0}
    for key in (count_key, listing_key):
        with pytest.raises(sa.exc.IntegrityError):
            with engine.begin() as conn:
                conn.execute(sa.text(insert), key | {"status": "open"})
        with engine.begin() as conn:
            conn.execute(sa.text(insert), key | {"status": "resolved"})
    assert len(repository.read_discrepancies(engine, None)) == 4


def test_positions_snapshot_and_pushes(engine):
    snapshot = pd.DataFrame([("A", "W1", 10, 2, 8, 5, None)], columns=list(
        ("sku", "warehouse", "on_hand", "reserved", "available", "in_transit", "next_expected_at")))
    repository.write_positions(engine, snapshot)
    repository.write_positions(engine, snapshot.assign(on_hand=12))     # replaced, not added
    stored = repository.read_positions(engine)
    assert list(zip(stored["on_hand"], stored["available"], stored["in_transit"])) == [(12, 10, 5)]
    assert repository.available_by_sku(engine).to_dict() == {"A": 10}

    repository.upsert_listings(engine, pd.DataFrame([{"shop_id": "s1", "marketplace_item_id": "i1",
                                                      "marketplace_sku_id": "", "sku": "A", "allocation_share": 1}]))
    push = pd.DataFrame([{"shop_id": "s1", "marketplace_item_id": "i1", "marketplace_sku_id": "", "sku": "A",
                          "before_qty": 3, "planned_qty": 8, "after_qty": 3, "outcome": "dry_run"}])
    assert repository.record_stock_pushes(engine, push, flow_run_id="r") == 1
    with engine.connect() as conn:
        row = conn.execute(sa.text("select before_qty, planned_qty, after_qty, dry_run, outcome from stock_pushes")).one()
    assert (row[0], row[1], row[2], bool(row[3]), row[4]) == (3, 8, 3, True, "dry_run")
    assert pd.isna(repository.read_listings(engine)["last_pushed_qty"].iloc[0])   # a dry run changes no listing

    # a live push the marketplace took: the listing remembers what we pushed and what it read back
    live = push.assign(after_qty=7, outcome="mismatch", reply=[{"status": "ACCEPTED"}])
    repository.record_stock_pushes(engine, pd.concat([live, push.assign(outcome="failed", after_qty=None)]),
                                   flow_run_id="r2")
    listing = repository.read_listings(engine).iloc[0]
    assert (listing["last_pushed_qty"], listing["last_read_qty"]) == (8, 7)
    logged = repository.read_stock_pushes(engine, flow_run_id="r2")
    assert list(logged["outcome"]) == ["mismatch", "failed"] and logged["reply"].iloc[0] == {"status": "ACCEPTED"}
    with pytest.raises(sa.exc.IntegrityError):      # the outcome is one of four
        repository.record_stock_pushes(engine, push.assign(outcome="maybe"))


def test_shares_above_one_per_sku_are_refused_and_nothing_is_saved(engine):
    def listing(shop, sku, share, enabled=True):
        return {"shop_id": shop, "marketplace_item_id": f"{shop}-{sku}", "marketplace_sku_id": "", "sku": sku,
                "allocation_share": share, "enabled": enabled}

    repository.upsert_listings(engine, pd.DataFrame([listing("s1", "A", 0.6), listing("s2", "A", 0.4),
                                                     listing("s3", "A", 0.5, enabled=False)]))   # disabled: not counted
    with pytest.raises(repository.ListingShareError) as refused:
        repository.upsert_listings(engine, pd.DataFrame([listing("s2", "A", 0.45), listing("s1", "B", 0.2)]))
    assert "A (1.0500)" in str(refused.value) and "nothing was saved" in str(refused.value)
    stored = repository.read_listings(engine, enabled_only=False).set_index("shop_id")
    assert stored.loc["s2", "allocation_share"] == 0.4 and "B" not in set(stored["sku"])   # rolled back whole
    with pytest.raises(repository.ListingShareError):      # enabling the third listing would make 1.5
        repository.upsert_listings(engine, pd.DataFrame([listing("s3", "A", 0.5)]))


def test_daily_sales_by_shop_local_day(engine):
    repository.sync_shops(engine, [
        type("S", (), dict(id="cn", platform="taobao", name="cn", timezone="Asia/Shanghai", enabled=True,
                           credentials_block=None))(),
        type("S", (), dict(id="us", platform="shopify", name="us", timezone="America/Los_Angeles", enabled=True,
                           credentials_block=None))()])
    late_evening_utc = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)   # Nov 21 01:00 in Shanghai
    store_orders(engine,
                 order("c1", "cn", "paid", late_evening_utc, [("A", 2, 2000, "i", "v")]),
                 order("c2", "cn", "completed", late_evening_utc + timedelta(hours=1), [("A", 1, 1000, "i", "v")]),
                 order("c3", "cn", "refunded", late_evening_utc, [("A", 9, 9000, "i", "v")]),   # not a sale
                 order("u1", "us", "shipped", late_evening_utc, [("A", 4, 400, "i", "v")], currency="USD"))

    sales = repository.daily_sales(engine, T0 - timedelta(days=1), T0 + timedelta(days=3))

    rows = {(r.sku, r.day, r.currency): (r.units, r.revenue_minor) for r in sales.itertuples()}
    assert rows == {("A", date(2026, 11, 21), "CNY"): (3, 3000),      # Shanghai day
                    ("A", date(2026, 11, 20), "USD"): (4, 400)}       # 09:00 in Los Angeles, Nov 20


def test_alerts_and_cooldowns(engine):
    now = T0 + timedelta(days=3)
    judged = pd.DataFrame([
        {"sku": "A", "level": "critical", "send": True, "send_reason": "first alert for this SKU", "suggested_qty": 40,
         "cover_days": 2.5},
        {"sku": "B", "level": "warning", "send": False, "send_reason": "held back", "suggested_qty": 10,
         "cover_days": float("nan")}])

    assert repository.record_alerts(engine, judged, flow_run_id="r1", now=now) == 2
    cooldowns = repository.last_sent_alerts(engine)
    assert list(zip(cooldowns["sku"], cooldowns["level"])) == [("A", "critical")]
    assert cooldowns["last_sent_at"].iloc[0] == pd.Timestamp(now)

    later = now + timedelta(days=1)
    repository.record_alerts(engine, judged.assign(level=["warning", "warning"], send=[True, True]), now=later)
    cooldowns = repository.last_sent_alerts(engine).set_index("sku")
    assert cooldowns.loc["A", "level"] == "warning" and cooldowns.loc["B", "last_sent_at"] == pd.Timestamp(later)
    alerts = repository.read_alerts(engine)
    assert len(alerts) == 4 and list(alerts["suppressed"].astype(bool)) == [False, True, False, False]
    assert alerts["details"].iloc[0]["suggested_qty"] == 40 and alerts["details"].iloc[1]["send_reason"] == "held back"


def test_migration_0002_moves_kind_and_cause_out_of_the_text_and_back(database_url):
    # a warehouse at 0001 holding discrepancies and a push the way 0001's code stored them
    migrate.upgrade(database_url, "0001_initial")
    engine = make_engine(database_url)
    old_rows = [
        ("A", "W1", None, -5, "count_vs_ledger (unrecorded_shipment): counted 95, the ledger has 100"),
        ("B", "W1", None, 4, "count_vs_ledger (unrecorded_receipt): counted 34, the ledger has 30"),
        ("A", "*", "tmall", 10, "oversell_risk (listing_drift): tmall/1 shows 70: edited on the marketplace since our "
                                "last push of 60"),
        ("B", "*", "jd", -10, "undersell (listing_drift): jd/2 shows 20: still our last push of 20"),
    ]
    with engine.begin() as conn:
        for sku, warehouse, shop, difference, text in old_rows:
            conn.execute(sa.text(
                "insert into stock_discrepancies (sku, warehouse, shop_id, difference, suggested_cause, status, "
                "created_at) values (:sku, :w, :shop, :d, :text, 'open', :at)"),
                {"sku": sku, "w": warehouse, "shop": shop, "d": difference, "text": text, "at": T0})
        conn.execute(sa.text(
            "insert into stock_pushes (shop_id, marketplace_item_id, marketplace_sku_id, sku, planned_qty, dry_run, "
            "confirmed, pushed_at) values ('tmall', '1', '', 'A', 8, :dry, :confirmed, :at)"),
            [{"dry": True, "confirmed": False, "at": T0}, {"dry": False, "confirmed": True, "at": T0}])
    engine.dispose()

    migrate.upgrade(database_url, "0002_stock_discrepancy_kinds")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        upgraded = conn.execute(sa.text("select kind, cause, suggested_cause from stock_discrepancies order by id")).all()
        outcomes = conn.execute(sa.text("select outcome from stock_pushes order by id")).scalars().all()
    assert [tuple(r) for r in upgraded] == [
        ("count_vs_ledger", "unrecorded_shipment", "counted 95, the ledger has 100"),
        ("count_vs_ledger", "unrecorded_receipt", "counted 34, the ledger has 30"),
        ("oversell_risk", "listing_edited", "tmall/1 shows 70: edited on the marketplace since our last push of 60"),
        ("undersell", "listing_drift", "jd/2 shows 20: still our last push of 20")]
    assert outcomes == ["dry_run", "confirmed"]
    engine.dispose()

    migrate.downgrade(database_url, "0001_initial")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        restored = conn.execute(sa.text("select suggested_cause from stock_discrepancies order by id")).scalars().all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("stock_discrepancies")}
    assert restored == [r[4] for r in old_rows] and "kind" not in columns
    engine.dispose()


def test_migration_0006_keeps_one_open_record_per_key_with_the_latest_numbers(database_url):
    """A warehouse that filed the same oversell risk every hour (issue 17 #2) comes out of the
    migration with one open record per key: the latest numbers, open since the first filing."""
    migrate.upgrade(database_url, "0005_settlement")
    engine = make_engine(database_url)
    # the table as 0005 has it (no last_seen_at), times stored as the warehouse stores them
    old_table = sa.table("stock_discrepancies", *[sa.column(c) for c in (
        "kind", "cause", "sku", "warehouse", "shop_id", "marketplace_item_id", "marketplace_sku_id",
        "warehouse_count", "ledger_qty", "listing_qty", "difference", "status")],
        sa.column("created_at", UTCDateTime()))
    listing = {"kind": "oversell_risk", "cause": "listing_drift", "warehouse": "*", "shop_id": "s1",
               "marketplace_item_id": "i1", "marketplace_sku_id": "v1", "warehouse_count": None, "ledger_qty": 100}
    counted = {"kind": "count_vs_ledger", "cause": "unrecorded_shipment", "warehouse": "W1", "shop_id": None,
               "marketplace_item_id": None, "marketplace_sku_id": None, "listing_qty": None, "ledger_qty": 100}
    rows = [
        listing | {"sku": "A", "warehouse_count": 95, "listing_qty": 40, "difference": 10, "status": "open",
                   "created_at": T0},
        listing | {"sku": "A", "listing_qty": 40, "difference": 10, "status": "open",
                   "created_at": T0 + timedelta(hours=1)},
        listing | {"sku": "A", "listing_qty": 44, "difference": 14, "status": "open",
                   "created_at": T0 + timedelta(hours=2)},
        listing | {"sku": "A", "listing_qty": 30, "difference": 3, "status": "resolved",
                   "created_at": T0 - timedelta(days=1)},
        listing | {"sku": "B", "listing_qty": 9, "difference": 2, "status": "open", "created_at": T0},  # another SKU
        counted | {"sku": "A", "warehouse_count": 95, "difference": -5, "status": "open", "created_at": T0},
        counted | {"sku": "A", "warehouse_count": 94, "difference": -6, "status": "open",
                   "created_at": T0 + timedelta(hours=3)},
    ]
    with engine.begin() as conn:
        for row in rows:
            conn.execute(sa.insert(old_table).values(**row))
    engine.dispose()

    migrate.upgrade(database_url, "0006_open_discrepancy_key")
    engine = make_engine(database_url)
    stored = repository.read_discrepancies(engine)
    assert len(stored) == 3 and len(repository.read_discrepancies(engine, None)) == 4
    by_key = {(r.kind, r.sku): r for r in stored.itertuples()}
    a = by_key[("oversell_risk", "A")]
    assert (a.listing_qty, a.difference, a.created_at, a.last_seen_at) == (44, 14, T0, T0 + timedelta(hours=2))
    b = by_key[("oversell_risk", "B")]
    assert (b.difference, b.created_at, b.last_seen_at) == (2, T0, T0)
    c = by_key[("count_vs_ledger", "A")]
    assert (c.warehouse_count, c.difference, c.created_at, c.last_seen_at) == (94, -6, T0, T0 + timedelta(hours=3))
    # and the stored record is updated, not repeated, from now on
    found = pd.DataFrame([{"kind": "oversell_risk", "sku": "A", "warehouse": "*", "shop_id": "s1",
                           "marketplace_item_id": "i1", "marketplace_sku_id": "v1", "warehouse_count": pd.NA,
                           "ledger_qty": 100, "listing_qty": 45, "planned_qty": 30, "difference": 15,
                           "cause": "listing_drift", "suggested_cause": "shows 45"}])
    assert repository.record_discrepancies(engine, found).already_open == 1
    engine.dispose()

    migrate.downgrade(database_url, "0005_settlement")
    engine = make_engine(database_url)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("stock_discrepancies")}
    assert "last_seen_at" not in columns
    engine.dispose()


def test_discrepancies_are_stored_although_another_process_commits_after_their_transaction_began(tmp_path):
    """SQLite: the hourly reconcile's transaction began with a read of the open records; a pull in
    another process committed before its first write, and the write failed at once with
    "database is locked" (a stale read snapshot cannot become the writer; found by test_demo at the
    top of an hour). Now the transaction is the writer from its first statement: the other
    process's commit waits for it instead, and both land."""
    import threading

    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    migrate.upgrade(url)
    ours, theirs = make_engine(url), make_engine(url)
    other_done = threading.Event()

    def other_process_commits() -> None:
        with theirs.begin() as conn:   # another writer (a pull): one committed write
            conn.execute(sa.text("INSERT INTO stock_movements_seen_by_test VALUES (1)"))
        other_done.set()

    with theirs.begin() as conn:
        conn.execute(sa.text("CREATE TABLE stock_movements_seen_by_test (x INTEGER)"))
    fired = []

    @sa.event.listens_for(ours, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany):
        if "FROM stock_discrepancies" in statement and not fired:   # our transaction has read
            fired.append(statement)
            threading.Thread(target=other_process_commits, daemon=True).start()
            other_done.wait(2)   # the old code: the other commit lands here, before our first write

    try:
        stored = repository.record_discrepancies(ours, pd.DataFrame([
            _record("oversell_risk", "s1", listing=40, planned=30, difference=10, cause="listing_drift")]),
            flow_run_id="hourly", now=T0)
        assert other_done.wait(60), "the other process's write never landed"
        assert fired and stored.new == 1
        with theirs.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM stock_movements_seen_by_test")).scalar() == 1
    finally:
        ours.dispose()
        theirs.dispose()
