"""The plain functions of tasks/shipping.py on hand-built frames: the stock a run may allocate,
planning on the 50-order day of test_batching (holds, rerun safety, tracking per parcel,
deadlines), what a later pull makes leave a batch, rules from config, the papers, the
outbound. No Prefect, no database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from config.schema import load_config
from domain.batching import HoldReason
from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, ORDER_KEY
from tasks.shipping import (ShippingInputs, allocatable_stock, batch_documents, batching_rules, carrier_code,
                            orders_to_pull_out, outbound, plan_batches, tracking_number)
from tests.unit.test_batching import CATALOGUE, NOW, RULES, STOCK, frames_of, line, make_order, the_day
from warehouse.repository import LEDGER_COLUMNS

CONFIG = load_config()


def ledger_of(stock: pd.Series) -> pd.DataFrame:
    return pd.DataFrame([(sku, wh, NOW - timedelta(days=30), "opening", units, "opening")
                         for (sku, wh), units in stock.items()], columns=list(LEDGER_COLUMNS))


NO_POS = pd.DataFrame(columns=["sku", "warehouse", "status", "expected_at", "qty_ordered", "qty_received"])


def reserving(*rows):
    return pd.DataFrame(rows, columns=["sku", "warehouse", "quantity", "status"])


# --- the stock a run may allocate ---------------------------------------------------------------

def test_allocatable_stock_is_on_hand_less_the_other_orders_reservations():
    ledger = ledger_of(pd.Series({("A", "HZ"): 10, ("A", "GZ"): 5, ("B", "HZ"): 2}))
    stock = allocatable_stock(ledger, reserving(("A", "HZ", 3, "paid"), ("A", "*", 4, "paid"),
                                                ("B", "HZ", 5, "paid"), ("A", "HZ", 9, "shipped")), NO_POS)
    # A: HZ 10 − 3 = 7, GZ 5; the 4 without a warehouse come off HZ (most stock) → 3.
    # B: 2 − 5 is oversold: nothing to give, not a negative. A shipped line reserves nothing.
    assert stock.to_dict() == {("A", "GZ"): 5, ("A", "HZ"): 3, ("B", "HZ"): 0}


def test_reservations_without_a_warehouse_spill_over_to_the_next_one():
    ledger = ledger_of(pd.Series({("A", "HZ"): 4, ("A", "GZ"): 3}))
    stock = allocatable_stock(ledger, reserving(("A", "*", 6, "paid")), NO_POS)
    assert stock.to_dict() == {("A", "GZ"): 1, ("A", "HZ"): 0}


# --- planning the 50-order day ----------------------------------------------------------------------

def day_inputs(batched=None, batch_lines=None,
               remarks_read=frozenset({("taobao", "taobao-shop", "READ1")})) -> ShippingInputs:
    orders, lines = the_day()
    awaiting = orders[orders["status"].isin(["paid", "presale_deposit_paid", "refunding"])].reset_index(drop=True)
    catalogue = CATALOGUE.assign(default_warehouse=["GZ" if s == "SOCKS" else "HZ" for s in CATALOGUE["sku"]])
    return ShippingInputs(orders=awaiting, lines=lines, ledger=ledger_of(STOCK), purchase_orders=NO_POS,
                          catalogue=catalogue, remarks_read=set(remarks_read),
                          batched=batched if batched is not None else pd.DataFrame(columns=["batch_id", *ORDER_KEY]),
                          batch_lines=batch_lines if batch_lines is not None else pd.DataFrame(
                              columns=[*ORDER_KEY, "sku", "warehouse", "quantity"]))


@pytest.fixture(scope="module")
def plan():
    return plan_batches(day_inputs(), RULES, CONFIG, NOW)


def test_the_plan_holds_audit_and_stock_shortages_together(plan):
    held = plan.held.set_index("order_id")["reasons"].map(list)
    assert set(held.index) == {f"H{i:02d}" for i in range(1, 11)} | {"L1", "L5"}   # G2 ships without its gift
    assert held["L1"] == [HoldReason.OUT_OF_STOCK] and HoldReason.UNKNOWN_SKU in held["H10"]
    # the held paid orders keep their tees reserved (9 of 100): the 23 served still fit
    assert sum(b.order_count for b in plan.batches) == 36 and plan.candidates == 48


def test_g3_without_a_carrier_gets_its_platforms_default(plan):
    g3 = next(b for b in plan.batches if "G3" in set(b.orders["order_id"]))
    assert g3.carrier == CONFIG.rules.shipping.default_carrier.get("douyin", CONFIG.rules.shipping.default_carrier["default"])


def test_one_tracking_number_per_parcel(plan):
    tracking = plan.tracking.set_index("order_id")["tracking_no"]
    assert tracking["M1"] == tracking["M2"] == tracking["M3"]     # merged: one parcel
    assert tracking.drop(["M2", "M3"]).is_unique
    assert tracking.str.match(r"^[A-Z]+\d{12}$").all()
    again = plan_batches(day_inputs(), RULES, CONFIG, NOW).tracking
    assert again["tracking_no"].tolist() == plan.tracking["tracking_no"].tolist()   # deterministic


def test_orders_already_batched_are_not_batched_again(plan):
    batched = plan.tracking[["batch_id", *ORDER_KEY]]
    lines = pd.concat([b.lines for b in plan.batches])[[*ORDER_KEY, "sku", "warehouse", "quantity"]]
    rerun = plan_batches(day_inputs(batched=batched, batch_lines=lines), RULES, CONFIG, NOW)
    assert rerun.batches == [] and rerun.candidates == 48 - 36
    # the out-of-stock orders are still short: the batched orders' stock stays theirs — G1's
    # promotion sticker too, which no order line reserves
    assert set(rerun.held["order_id"]) == set(plan.held["order_id"])


def test_the_deadline_list_says_where_each_urgent_order_is(plan):
    # L4 (2 h left) and L2 (4 h) are batched; L1 (8 h) is not within 6 h; none is past
    deadline = plan.deadline.set_index("order_id")
    assert list(deadline.index) == ["L4", "L2"]
    assert deadline["batch_id"].notna().all() and deadline["hours_left"].tolist() == [2.0, 4.0]


def inputs_of(*made, stock: pd.Series) -> ShippingInputs:
    orders, lines = frames_of(*made)
    return ShippingInputs(orders=orders, lines=lines, ledger=ledger_of(stock), purchase_orders=NO_POS,
                          catalogue=CATALOGUE.assign(default_warehouse="HZ"),
                          batched=pd.DataFrame(columns=["batch_id", *ORDER_KEY]),
                          batch_lines=pd.DataFrame(columns=[*ORDER_KEY, "sku", "warehouse", "quantity"]))


def test_a_fresh_order_waits_for_a_companion_neither_held_nor_reserving():
    # §4 merge: NEW (paid 10 min ago, alone) waits the 30-min buffer for a companion; the one
    # lamp goes to OLD, and NEW is not reported out of stock meanwhile — the next run judges it
    inputs = inputs_of(make_order("OLD", line("LAMP"), paid_at=NOW - timedelta(hours=5)),
                       make_order("NEW", line("LAMP"), paid_at=NOW - timedelta(minutes=10)),
                       stock=pd.Series({("LAMP", "HZ"): 1}))
    plan = plan_batches(inputs, RULES, CONFIG, NOW)
    assert [o for b in plan.batches for o in b.orders["order_id"]] == ["OLD"]
    assert plan.held.empty and plan.waiting["order_id"].tolist() == ["NEW"] and plan.candidates == 2
    later = plan_batches(inputs, RULES, CONFIG, NOW + timedelta(minutes=30))     # its buffer is over
    assert plan_ids(later) == {"OLD"} and later.held["order_id"].tolist() == ["NEW"] and later.waiting.empty


def plan_ids(plan) -> set[str]:
    return {o for b in plan.batches for o in b.orders["order_id"]}


# --- pull-out ------------------------------------------------------------------------------------

def test_a_later_cancel_refund_or_shipment_pulls_the_order_out():
    made = [make_order("C1", {"sku": "MUG", "quantity": 1}, status="cancelled"),
            make_order("R1", {"sku": "MUG", "quantity": 1}, status="refunded"),
            make_order("R2", {"sku": "MUG", "quantity": 1}, status="refunding"),
            make_order("R3", {"sku": "MUG", "quantity": 1}, {"sku": "CAP", "quantity": 1,
                                                             "refund_status": "WAIT_SELLER_AGREE"}),
            make_order("S1", {"sku": "MUG", "quantity": 1}, status="shipped"),
            make_order("OK", {"sku": "MUG", "quantity": 1}, buyer_remark="请改地址")]   # a remark is no reason
    members = pd.DataFrame([o for o, _ in made], columns=list(ORDER_COLUMNS)).assign(batch_id="B1")
    lines = pd.DataFrame([r for _, rows in made for r in rows], columns=list(LINE_COLUMNS))
    pulled = orders_to_pull_out(members, lines, RULES).set_index("order_id")["reason"].to_dict()
    assert pulled == {"C1": "cancelled after batching", "R1": "refunded after batching",
                      "R2": "refund requested after batching",
                      "R3": "refund requested after batching: line 2 (CAP): refund WAIT_SELLER_AGREE",
                      "S1": "shipped outside this batch (marketplace back office?)"}


def test_a_batched_line_refunded_since_pulls_the_order_out_once():
    # P1's second line was refunded at once after batching (Shopify refunds without an
    # in-progress state; a pull can also miss TOP's): the order is still paid, but its pick
    # list would send the CAP. P2's CAP was refunded before batching, so the batch never held
    # it: P2 stays. P3's refund is still in progress: one reason, the audit's.
    made = [make_order("P1", {"sku": "MUG", "quantity": 1}, {"sku": "CAP", "quantity": 1, "refund_status": "refunded"},
                       platform="shopify"),
            make_order("P2", {"sku": "MUG", "quantity": 1}, {"sku": "CAP", "quantity": 1, "refund_status": "refunded"},
                       platform="shopify"),
            make_order("P3", {"sku": "MUG", "quantity": 1}, {"sku": "CAP", "quantity": 1,
                                                             "refund_status": "refunding"}, platform="shopify")]
    members = pd.DataFrame([o for o, _ in made], columns=list(ORDER_COLUMNS)).assign(batch_id="B1")
    lines = pd.DataFrame([r for _, rows in made for r in rows], columns=list(LINE_COLUMNS))
    # the batch's pick list: P1's line 2 twice (a promotion gift keeps the line_no that earned it)
    batched = pd.DataFrame([("B1", "shopify", "shopify-shop", order_id, line_no)
                            for order_id, line_nos in {"P1": (1, 2, 2), "P2": (1,), "P3": (1, 2)}.items()
                            for line_no in line_nos], columns=["batch_id", *ORDER_KEY, "line_no"])
    pulled = orders_to_pull_out(members, lines, RULES, batched)
    assert pulled.set_index("order_id")["reason"].to_dict() == {
        "P1": "refunded after batching: line 2 (CAP)",
        "P3": "refund requested after batching: line 2 (CAP): refund refunding"}
    # without the batch's lines the paid-back line cannot be told from one refunded earlier
    assert set(orders_to_pull_out(members, lines, RULES)["order_id"]) == {"P3"}


# --- configuration -----------------------------------------------------------------------------------

def test_promotion_gifts_only_while_the_promotion_runs():
    promo = CONFIG.promotions[0]
    inside = batching_rules(CONFIG, promo.window_start + timedelta(hours=1))
    assert [(g.buy_sku, g.gift_sku, g.gift_quantity, g.shops) for g in inside.promotion_gifts] == [
        (g.buy_sku, g.gift_sku, g.gift_quantity, frozenset(promo.shops)) for g in promo.gifts]
    assert batching_rules(CONFIG, promo.window_end).promotion_gifts == ()
    assert batching_rules(CONFIG, NOW, max_orders_per_batch=7).max_orders_per_batch == 7
    assert batching_rules(CONFIG, NOW).max_orders_per_batch == CONFIG.rules.shipping.max_orders_per_batch


def test_carrier_codes_per_platform():
    assert carrier_code(CONFIG, "SF", "jd") == CONFIG.rules.shipping.carrier_codes["SF"]["jd"]
    assert carrier_code(CONFIG, "SF", "taobao") == "SF"                 # no code listed: the name
    assert tracking_number("SF", "B1", "M1") != tracking_number("SF", "B1", "M2")
    assert tracking_number("顺丰", "B1", "M1").startswith("P")            # never a non-ASCII tracking number


# --- papers and outbound --------------------------------------------------------------------------

def test_papers_are_headed_in_the_locale_and_show_only_masked_phones(plan, monkeypatch):
    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    from config.settings import get_settings
    get_settings.cache_clear()
    try:
        batch = next(b for b in plan.batches if "RM1" in set(b.orders["order_id"]))
        orders = plan.orders.merge(plan.tracking[[*ORDER_KEY, "tracking_no"]].rename(
            columns={"tracking_no": "parcel"}), on=list(ORDER_KEY)).drop(columns="tracking_no").rename(
            columns={"parcel": "tracking_no"})
        papers = batch_documents(batch, orders, CATALOGUE)
    finally:
        get_settings.cache_clear()
    assert set(papers) == {"pick-list", "packing-slips", "manifest"}
    slips = papers["packing-slips"].set_index("order")
    assert slips.loc["RM1", "phone"] == "139****4321" and slips.loc["RM1", "items"] == "TEE-BLU-L ×1"
    assert slips.loc["RM1", "tracking number"] == plan.tracking.set_index("order_id").loc["RM1", "tracking_no"]
    assert list(papers["pick-list"].columns)[:2] == ["bin", "SKU"]
    assert "13987654321" not in papers["packing-slips"].to_string()


def test_a_gift_out_of_stock_is_on_the_slip_and_not_in_the_outbound(plan, monkeypatch):
    # G2 ships its red tee without the promotion sticker (G1 had the last one)
    assert plan.allocation.missing_gifts[["order_id", "sku", "quantity"]].values.tolist() == [["G2", "STICKER", 1]]
    batch = next(b for b in plan.batches if "G2" in set(b.orders["order_id"]))
    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    from config.settings import get_settings
    get_settings.cache_clear()
    try:
        papers = batch_documents(batch, plan.orders, CATALOGUE)
    finally:
        get_settings.cache_clear()
    slip = papers["packing-slips"].set_index("order").loc["G2"]
    assert slip["gifts missing"] == "gift out of stock, not in the parcel: STICKER" and slip["gifts"] == ""
    assert "STICKER" not in set(papers["pick-list"]["SKU"])
    assert "STICKER" not in set(outbound(batch, NOW)["sku"])          # nothing leaves for it


def test_outbound_is_one_negative_shipment_per_sku_and_warehouse(plan):
    batch = next(b for b in plan.batches if b.warehouse == "GZ" and b.kind == "multi")   # W2: socks + mug
    at = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    rows = outbound(batch, at)
    assert sorted(zip(rows["sku"], rows["warehouse"], rows["quantity"])) == [("MUG", "GZ", -1), ("SOCKS", "GZ", -1)]
    assert set(rows["kind"]) == {"shipment"} and set(rows["reference"]) == {f"batch:{batch.batch_id}"}
