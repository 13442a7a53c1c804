"""Stock positions, the push plan and the three-way reconciliation, on hand-made data with
answers worked out in the comments."""
from __future__ import annotations

import pandas as pd
import pytest

from domain.stock import ALL_WAREHOUSES, LISTING_KEY, positions, push_plan, reconcile

DEC_1 = pd.Timestamp("2026-12-01", tz="UTC")
DEC_5 = pd.Timestamp("2026-12-05", tz="UTC")


def ledger(*entries):
    """entries: (sku, warehouse, moved_at, kind, quantity)"""
    return pd.DataFrame(entries, columns=["sku", "warehouse", "moved_at", "kind", "quantity"])


def order_lines(*lines):
    """lines: (sku, warehouse, quantity, status, is_gift)"""
    return pd.DataFrame(lines, columns=["sku", "warehouse", "quantity", "status", "is_gift"])


def po_lines(*lines):
    """lines: (po_no, sku, warehouse, status, expected_at, qty_ordered, qty_received)"""
    return pd.DataFrame(lines, columns=["po_no", "sku", "warehouse", "status", "expected_at", "qty_ordered",
                                        "qty_received"])


def listing(sku, shop, share, buffer=0, pushed=None, read=None, sold=0, item=None):
    return dict(shop_id=shop, marketplace_item_id=item or f"{shop}-{sku}", marketplace_sku_id="", sku=sku,
                allocation_share=share, buffer=buffer, last_pushed_qty=pushed, last_read_qty=read,
                sold_since_push=sold)


def position_rows(frame):
    return {(r.sku, r.warehouse): (r.on_hand, r.reserved, r.available, r.in_transit) for r in frame.itertuples()}


def test_positions_from_ledger_orders_and_purchase_orders():
    moves = ledger(
        # A in W1, never counted: 100 − 10 + 30 − 2 = 118
        ("A", "W1", "2026-11-01T00:00Z", "opening", 100),
        ("A", "W1", "2026-11-02T00:00Z", "shipment", -10),
        ("A", "W1", "2026-11-03T00:00Z", "receipt", 30),
        ("A", "W1", "2026-11-04T00:00Z", "adjustment", -2),
        # B in W1: the latest count (40 at Nov 3 12:00) replaces everything up to and including
        # its moment (the opening, the earlier count, both shipments); then +10 → 50
        ("B", "W1", "2026-11-01T00:00Z", "opening", 50),
        ("B", "W1", "2026-11-01T12:00Z", "stocktake", 60),
        ("B", "W1", "2026-11-02T00:00Z", "shipment", -5),
        ("B", "W1", "2026-11-03T12:00Z", "shipment", -4),
        ("B", "W1", "2026-11-03T12:00Z", "stocktake", 40),
        ("B", "W1", "2026-11-04T00:00Z", "receipt", 10),
        # A in W2: 7 on hand
        ("A", "W2", "2026-11-01T00:00Z", "opening", 7),
    )
    orders = order_lines(
        # A/W1 reserved: 3 (paid) + 2 (presale deposit paid) + 1 (paid gift) = 6
        ("A", "W1", 3, "paid", False), ("A", "W1", 2, "presale_deposit_paid", False), ("A", "W1", 1, "paid", True),
        # not holding stock: shipped (already in the ledger), cancelled, not paid yet
        ("A", "W1", 4, "shipped", False), ("A", "W1", 5, "cancelled", False), ("A", "W1", 7, "pending_payment", False),
        # A/W2: 9 reserved against 7 on hand → available −2, shown, not hidden
        ("A", "W2", 9, "paid", False),
    )
    purchases = po_lines(
        # A/W1 in transit: 50 (open) + (40 − 25) (partially received) = 65, earliest Dec 1
        ("PO1", "A", "W1", "open", DEC_5, 50, 0),
        ("PO2", "A", "W1", "partially_received", DEC_1, 40, 25),
        # not in transit: fully received, cancelled, open but without an expected date
        ("PO3", "A", "W1", "received", DEC_1, 10, 10),
        ("PO4", "A", "W1", "cancelled", DEC_1, 10, 0),
        ("PO5", "A", "W1", "open", None, 10, 0),
        # C only on order: a position with nothing on hand
        ("PO6", "C", "W1", "open", DEC_5, 20, 0),
    )

    found = positions(moves, orders, purchases)

    assert position_rows(found) == {
        #             on_hand reserved available in_transit
        ("A", "W1"): (118, 6, 112, 65),
        ("A", "W2"): (7, 9, -2, 0),
        ("B", "W1"): (50, 0, 50, 0),
        ("C", "W1"): (0, 0, 0, 20),
    }
    expected = dict(zip(zip(found["sku"], found["warehouse"]), found["next_expected_at"]))
    assert expected[("A", "W1")] == DEC_1 and expected[("C", "W1")] == DEC_5
    assert pd.isna(expected[("B", "W1")])


def test_positions_of_nothing_is_an_empty_frame_with_the_columns():
    found = positions(ledger(), order_lines(), po_lines())
    assert found.empty and "available" in found.columns


@pytest.mark.parametrize("entry, message", [
    (("A", "W1", "2026-11-02T00:00Z", "shipment", 5), "shipment of 5 for A in W1 has the wrong sign"),
    (("A", "W1", "2026-11-02T00:00Z", "receipt", -5), "receipt of -5 for A in W1 has the wrong sign"),
    (("A", "W1", "2026-11-02T00:00Z", "gift", 1), "'gift' is not a ledger kind"),
    (("A", "W1", "2026-11-01T00:00Z", "stocktake", 9), "two different stocktake counts of A in W1"),
])
def test_a_ledger_that_cannot_be_summed_is_refused_with_the_entry_named(entry, message):
    moves = ledger(("A", "W1", "2026-11-01T00:00Z", "stocktake", 10), entry)
    with pytest.raises(ValueError, match=message):
        positions(moves, order_lines(), po_lines())


def test_push_plan_floors_the_share_takes_the_buffer_and_never_goes_below_zero():
    available = pd.Series({"A": 100, "B": 7, "C": -3})
    listings = pd.DataFrame([
        # A: shares 0.29 + 0.50 + 0.21 = 1.00, allowed
        listing("A", "tmall", 0.29, buffer=2),     # floor(100 × 0.29) − 2 = 27 (a float product 28.999… would give 26)
        listing("A", "jd", 0.50),                  # floor(50.0) − 0 = 50
        listing("A", "pdd", 0.21, buffer=1),       # floor(21.0) − 1 = 20
        listing("B", "tmall", 0.30, buffer=2),     # floor(2.1) − 2 = 0
        listing("B", "jd", 0.10, buffer=1),        # floor(0.7) − 1 = −1 → 0
        listing("C", "tmall", 1.0),                # floor(−3) = −3 → 0: an oversold SKU offers nothing
        listing("D", "tmall", 0.5),                # not in available at all: 0
    ])

    plan = push_plan(available, listings)

    assert plan.errors == []
    assert dict(zip(plan.plan["marketplace_item_id"], plan.plan["planned_qty"])) == {
        "tmall-A": 27, "jd-A": 50, "pdd-A": 20, "tmall-B": 0, "jd-B": 0, "tmall-C": 0, "tmall-D": 0}
    assert set(plan.plan["action"]) == {"push"}    # nothing read or pushed before: push everything


def test_shares_above_one_are_an_error_naming_the_sku_and_its_listings_are_not_planned():
    listings = pd.DataFrame([listing("E", "tmall", 0.6), listing("E", "jd", 0.5), listing("A", "tmall", 1.0)])

    plan = push_plan(pd.Series({"A": 10, "E": 10}), listings)

    assert len(plan.errors) == 1
    assert plan.errors[0].startswith("SKU E: allocation shares of its listings sum to 1.1000, more than 1")
    assert "tmall/tmall-E 0.6000" in plan.errors[0] and "jd/jd-E 0.5000" in plan.errors[0]
    assert list(plan.plan["sku"]) == ["A"]         # E is not scaled down, it is left out


def test_a_listing_edited_on_the_marketplace_is_reported_not_overwritten():
    listings = pd.DataFrame([
        listing("A", "tmall", 0.5, pushed=30, read=28, sold=2),   # 30 − 2 sold = 28: only sales, plan 50 → push
        listing("A", "jd", 0.3, pushed=20, read=35),              # 35 ≠ 20 − 0: edited by a person → report
        listing("A", "pdd", 0.2, pushed=20, read=20),             # shows floor(100 × 0.2) = 20 already → unchanged
    ])

    plan = push_plan(pd.Series({"A": 100}), listings).plan

    assert dict(zip(plan["shop_id"], plan["edited_since_push"])) == {"tmall": False, "jd": True, "pdd": False}
    assert dict(zip(plan["shop_id"], plan["action"])) == {"tmall": "push", "jd": "report_edited", "pdd": "unchanged"}


def reconcile_inputs():
    ledger_positions = pd.DataFrame([
        # sku, warehouse, on_hand, reserved, available
        ("A", "W1", 100, 0, 100),
        ("A", "W2", 20, 0, 20),      # A available over both warehouses: 120
        ("B", "W1", 30, 0, 30),
        ("C", "W1", 10, 0, 10),
    ], columns=["sku", "warehouse", "on_hand", "reserved", "available"])
    counts = pd.DataFrame([
        ("A", "W1", 95),    # 95 − 100 = −5: unrecorded shipment
        ("B", "W1", 34),    # 34 − 30 = +4: unrecorded receipt
        ("C", "W1", 11),    # +1: within a tolerance of 1
        # A/W2 not counted (a cycle count): not judged
    ], columns=["sku", "warehouse", "counted_qty"])
    listings = pd.DataFrame([
        listing("A", "tmall", 0.5, pushed=60, read=70),   # plan floor(120 × 0.5) = 60; shows 70 ≠ 60 pushed: edited
        listing("A", "jd", 0.25, pushed=40, read=40),     # plan 30; still shows our older push of 40
        listing("B", "tmall", 1.0, pushed=20, read=20),   # plan 30; shows 20: 10 under
        listing("C", "tmall", 1.0, pushed=10, read=8, sold=2),  # plan 10; shows 8 after 2 sales: 2 under
        listing("C", "jd", 0.0, pushed=None, read=None),  # never read: cannot be judged
    ])
    return counts, ledger_positions, listings


def test_reconcile_names_each_cause_with_the_three_numbers():
    counts, ledger_positions, listings = reconcile_inputs()

    found = reconcile(counts, ledger_positions, listings, tolerance=1, undersell_tolerance=5)

    assert found.plan_errors == []
    records = {(r.kind, r.sku, r.shop_id if pd.notna(r.shop_id) else None): r for r in found.discrepancies.itertuples()}
    assert set(records) == {("count_vs_ledger", "A", None), ("count_vs_ledger", "B", None),
                            ("oversell_risk", "A", "tmall"), ("oversell_risk", "A", "jd"), ("undersell", "B", "tmall")}

    shipment = records[("count_vs_ledger", "A", None)]
    # listing_qty: 70 + 40 on A's two listings
    assert (shipment.warehouse, shipment.warehouse_count, shipment.ledger_qty, shipment.listing_qty) == ("W1", 95, 100, 110)
    assert (shipment.difference, shipment.cause) == (-5, "unrecorded_shipment")
    assert "5 unit(s) left W1 without a posted shipment" in shipment.suggested_cause

    receipt = records[("count_vs_ledger", "B", None)]
    assert (receipt.warehouse_count, receipt.ledger_qty, receipt.difference) == (34, 30, 4)
    assert receipt.cause == "unrecorded_receipt"

    edited = records[("oversell_risk", "A", "tmall")]
    # the three numbers for a listing: A counted 95 (W1 only), ledger 100 + 20, listing 70; plan 60
    assert (edited.warehouse, edited.warehouse_count, edited.ledger_qty, edited.listing_qty) == (ALL_WAREHOUSES, 95, 120, 70)
    assert (edited.planned_qty, edited.difference, edited.cause) == (60, 10, "listing_edited")
    assert "edited on the marketplace since our last push of 60" in edited.suggested_cause

    stale = records[("oversell_risk", "A", "jd")]
    assert (stale.planned_qty, stale.difference, stale.cause) == (30, 10, "listing_drift")
    assert "still our last push of 40" in stale.suggested_cause

    under = records[("undersell", "B", "tmall")]
    assert (under.listing_qty, under.planned_qty, under.difference) == (20, 30, -10)


def test_undersell_has_its_own_margin():
    counts, ledger_positions, listings = reconcile_inputs()

    found = reconcile(counts, ledger_positions, listings, tolerance=1, undersell_tolerance=1).discrepancies

    # C on tmall is 2 under its plan: quiet with a margin of 5 (test above), reported with 1
    assert ("undersell", "C") in set(zip(found["kind"], found["sku"]))


def test_agreeing_views_give_no_records():
    ledger_positions = pd.DataFrame([("A", "W1", 10, 2, 8)],
                                    columns=["sku", "warehouse", "on_hand", "reserved", "available"])
    counts = pd.DataFrame([("A", "W1", 10)], columns=["sku", "warehouse", "counted_qty"])
    listings = pd.DataFrame([listing("A", "tmall", 1.0, pushed=8, read=8)])

    found = reconcile(counts, ledger_positions, listings, tolerance=0, undersell_tolerance=0)

    assert found.discrepancies.empty and "suggested_cause" in found.discrepancies.columns


def test_sales_explain_a_listing_between_our_push_less_sales_and_our_push():
    listings = pd.DataFrame([
        listing("A", "tmall", 0.25, pushed=30, read=30, sold=4),   # marketplace not yet taking the sales off
        listing("A", "jd", 0.25, pushed=30, read=27, sold=4),      # took 3 of the 4 off so far: explained
        listing("A", "pdd", 0.25, pushed=30, read=25, sold=4),     # 25 < 30 − 4: someone lowered it
        listing("A", "dy", 0.25, pushed=30, read=31, sold=0),      # above our push: someone raised it
    ])

    plan = push_plan(pd.Series({"A": 100}), listings).plan

    assert dict(zip(plan["shop_id"], plan["edited_since_push"])) == {"tmall": False, "jd": False, "pdd": True,
                                                                      "dy": True}


@pytest.mark.parametrize("requested, enabled, dry, mode", [
    (None, False, True, "none"), (None, True, True, "dry_run"), (None, True, False, "live"),
    ("dry_run", False, True, "dry_run"),     # a dry run writes nothing: always allowed
    ("live", True, True, "live"),            # asked for explicitly (shopops stock sync --live)
])
def test_sync_mode_follows_the_switch(requested, enabled, dry, mode):
    from tasks.stock import sync_mode

    assert sync_mode(requested, enabled, dry) == mode


def test_a_live_push_while_switched_off_is_refused_saying_what_to_set():
    from tasks.stock import PushSwitchedOff, sync_mode

    with pytest.raises(PushSwitchedOff, match="stock.push_enabled: true"):
        sync_mode("live", False, False)


def test_only_listings_read_this_run_are_pushed_and_edited_ones_only_when_asked():
    from tasks.stock import pushes_to_make

    listings = pd.DataFrame([listing("A", "tmall", 0.5, pushed=10, read=10), listing("A", "jd", 0.3, pushed=5, read=9),
                             listing("B", "tmall", 0.5), listing("B", "pdd", 0.5)])
    plan = push_plan(pd.Series({"A": 100, "B": 10}), listings).plan
    read_ok = plan[plan["shop_id"] != "pdd"][LISTING_KEY]     # pdd could not be read this run

    assert list(pushes_to_make(plan, read_ok)["marketplace_item_id"]) == ["tmall-A", "tmall-B"]
    assert list(pushes_to_make(plan, read_ok, overwrite_edited=True)["marketplace_item_id"]) == [
        "tmall-A", "jd-A", "tmall-B"]


# --- what the reconcile-stock report says (tasks/stock.py; issue 17 #9) -------------------------

def test_each_kind_of_discrepancy_gets_advice_that_fits_it_in_both_languages():
    from tasks.stock import discrepancy_advice

    counts, ledger_positions, listings = reconcile_inputs()
    ledger_positions = pd.concat([ledger_positions, pd.DataFrame(
        [("D", "W1", 50, 0, 50), ("E", "W1", 40, 0, 40)], columns=ledger_positions.columns)], ignore_index=True)
    listings = pd.concat([listings[listings["shop_id"].ne("jd") | listings["sku"].ne("C")], pd.DataFrame([
        listing("C", "jd", 0.0, pushed=None, read=6),     # plan 0; shows 6, never pushed by us: oversell
        listing("D", "tmall", 1.0, pushed=50, read=30),   # plan 50; someone lowered it to 30: undersell, edited
        listing("E", "jd", 0.5, pushed=None, read=5),     # plan 20; shows 5, never pushed: undersell
    ])], ignore_index=True)
    found = reconcile(counts, ledger_positions, listings, tolerance=1, undersell_tolerance=5).discrepancies

    advice = {locale: dict(zip(zip(found["kind"], found["sku"], found["shop_id"].fillna("-")),
                               discrepancy_advice(found, listings, locale=locale))) for locale in ("en", "zh_CN")}

    en, zh = advice["en"], advice["zh_CN"]
    assert len(en) == len(found) == 8
    assert "5 unit(s) left W1 without a posted shipment" in en[("count_vs_ledger", "A", "-")]
    assert "import-count" in en[("count_vs_ledger", "A", "-")] and "出库未入账" in zh[("count_vs_ledger", "A", "-")]
    assert "4 unit(s) arrived in W1 without a posted receipt" in en[("count_vs_ledger", "B", "-")]
    assert "入库未入账" in zh[("count_vs_ledger", "B", "-")]
    # oversell: the listing sells stock we cannot ship; lower it — never the count's advice, and
    # never "the next push corrects it" (pushing is off unless someone switches it on)
    oversell = {k: v for k, v in en.items() if k[0] == "oversell_risk"}
    assert len(oversell) == 3
    for key, text in oversell.items():
        assert "more than" in text and "cannot ship" in text, text
        assert "unposted" not in text and "import-count" not in text and "next push" not in text, text
        assert "超卖" in zh[key] and "未入账" not in zh[key], zh[key]
    assert "Lower it to 30" in en[("oversell_risk", "A", "jd")] and "still shows our last push of 40" in en[
        ("oversell_risk", "A", "jd")]
    assert "after our push of 60" in en[("oversell_risk", "A", "tmall")]
    assert "--overwrite-edited" in en[("oversell_risk", "A", "tmall")]
    assert "never pushed" in en[("oversell_risk", "C", "jd")] and "Lower it to 0" in en[("oversell_risk", "C", "jd")]
    # undersell: sales are lost; raise it
    undersell = {k: v for k, v in en.items() if k[0] == "undersell"}
    assert len(undersell) == 3
    for key, text in undersell.items():
        assert "fewer than" in text and "cannot ship" not in text and "import-count" not in text, text
        assert "少卖" in zh[key] and "超卖" not in zh[key], zh[key]
    assert "Raise it to 30" in en[("undersell", "B", "tmall")]
    assert "lowered it on the marketplace after our push of 50" in en[("undersell", "D", "tmall")]
    assert "never pushed" in en[("undersell", "E", "jd")] and "Raise it to 20" in en[("undersell", "E", "jd")]
    assert not any("{" in text for texts in advice.values() for text in texts.values())


def test_the_reconcile_headline_says_what_was_found():
    from tasks.stock import reconcile_headline

    found = {"count_vs_ledger": 2, "oversell_risk": 901, "undersell": 0, "shops_failed": 0}
    assert reconcile_headline(found, counted=True, locale="en") == (
        "Stock reconciliation: 2 count-vs-ledger differences, 901 listing oversell risks, 0 undersold listings")
    zh = reconcile_headline(found, counted=True, locale="zh_CN")
    assert "账实相符" not in zh and "2" in zh and "901" in zh and "超卖风险" in zh
    clean = dict.fromkeys(found, 0)
    assert "账实相符" in reconcile_headline(clean, counted=True, locale="zh_CN")
    assert "books match" in reconcile_headline(clean, counted=True, locale="en")
    # without a count nothing says the books match the warehouse: only the listings were judged
    assert "账实相符" not in reconcile_headline(clean, counted=False, locale="zh_CN")
    assert reconcile_headline(clean, counted=False, locale="en") == (
        "Stock reconciliation: the listings agree with the ledger (no warehouse count compared)")
    assert "1 shop(s)" in reconcile_headline(clean | {"shops_failed": 1}, counted=False, locale="en")
