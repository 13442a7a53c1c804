"""The morning follow-up lists, on hand-made orders with known answers; the deadline and the
out-of-stock list shipping shares with them (domain.batching). The same on one stored
warehouse: tests/flows/test_followup_flow.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from config.schema import load_config
from domain.batching import HoldReason
from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, ORDER_KEY
from domain.followup import FollowupRules, find_followups, shipping_deadline
from tasks.shipping import plan_batches

# 2026-11-23 10:00 in Shanghai: "yesterday" is 2026-11-22 00:00–24:00 +08:00
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
RULES = FollowupRules(ship_deadline_hours={"default": 48, "shopify": 72}, near_deadline_hours=6,
                      abnormal_logistics_days=7)


NO_HOLDS = pd.DataFrame(columns=[*ORDER_KEY, "reasons"])
NO_BATCHES = pd.DataFrame(columns=["batch_id", *ORDER_KEY])


def order(order_id, status, paid_at, platform="taobao", ship_by_at=None, shipped_at=None, tracking_no=None,
          **fields):
    row = dict.fromkeys(ORDER_COLUMNS)
    row.update(platform=platform, shop_id=f"{platform}-shop", order_id=order_id, status=status, paid_at=paid_at,
               ship_by_at=ship_by_at, shipped_at=shipped_at, tracking_no=tracking_no, modified_at=paid_at,
               is_presale=False)
    row.update(fields)
    return row


def line(order_id, sku, quantity, platform="taobao", is_gift=False, refund_status=None):
    row = dict.fromkeys(LINE_COLUMNS)
    row.update(platform=platform, shop_id=f"{platform}-shop", order_id=order_id, line_no=1, sku=sku,
               quantity=quantity, is_gift=is_gift, refund_status=refund_status)
    return row


def frames(orders, lines):
    o = pd.DataFrame(orders, columns=ORDER_COLUMNS)
    for c in ("paid_at", "ship_by_at", "shipped_at", "modified_at"):
        o[c] = pd.to_datetime(o[c], utc=True)
    return o, pd.DataFrame(lines, columns=LINE_COLUMNS)


def holds(*rows):
    """Open holds as the shipping run stores them: (order_id, [reasons]) of the taobao shop."""
    return pd.DataFrame([("taobao", "taobao-shop", o, reasons) for o, reasons in rows], columns=[*ORDER_KEY, "reasons"])


def batched(*order_ids):
    return pd.DataFrame([("B1", "taobao", "taobao-shop", o) for o in order_ids], columns=["batch_id", *ORDER_KEY])


def test_each_list_holds_exactly_its_orders():
    y = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)           # 11:00 yesterday in Shanghai
    orders, lines = frames([
        order("Y1", "paid", y),                                           # paid yesterday, unshipped
        order("Y2", "shipped", y, shipped_at=y + timedelta(hours=5), tracking_no="SF1"),  # shipped: fine
        order("T1", "paid", NOW - timedelta(hours=1)),                    # paid today: not "yesterday"
        order("OLD", "paid", NOW - timedelta(hours=45)),                  # 3 h left of 48 h: near deadline
        order("SB", "paid", NOW - timedelta(hours=1), ship_by_at=NOW - timedelta(hours=1)),  # own deadline passed
        order("SH", "paid", NOW - timedelta(hours=45), platform="shopify"),  # 72 h platform: not near
        order("LOST", "shipped", NOW - timedelta(days=10), shipped_at=NOW - timedelta(days=9), tracking_no="YT9"),
        order("NOTRK", "shipped", NOW - timedelta(days=1), shipped_at=NOW - timedelta(hours=20)),
    ], [line("Y1", "A", 3), line("T1", "A", 1), line("OLD", "B", 1), line("OLD", "GIFT", 1, is_gift=True),
        line("SB", "B", 1), line("SH", "B", 1, platform="shopify")])
    # the shipping run held OLD for stock and T1 for a remark; SB's hold is stale: it is in a batch now
    stored = holds(("OLD", [HoldReason.OUT_OF_STOCK]), ("T1", [HoldReason.REMARK_NEEDS_PERSON]),
                   ("SB", [HoldReason.OUT_OF_STOCK]))

    found = find_followups(orders, lines, stored, batched("SB"), NOW, RULES)

    assert list(found.unshipped_from_yesterday["order_id"]) == ["Y1"]
    assert list(found.deadline["order_id"]) == ["SB", "OLD"]          # most urgent first
    assert list(found.out_of_stock["order_id"]) == ["OLD"]
    assert dict(zip(found.abnormal_logistics["order_id"], found.abnormal_logistics["problem"])) == {
        "LOST": "shipped long ago, not delivered", "NOTRK": "no tracking number"}


def test_before_any_shipping_run_nothing_is_called_out_of_stock():
    orders, lines = frames([order("Y1", "paid", NOW - timedelta(hours=20))], [line("Y1", "A", 3)])
    found = find_followups(orders, lines, NO_HOLDS, NO_BATCHES, NOW, RULES)
    assert found.out_of_stock.empty and found.counts()["out_of_stock"] == 0


# --- one deadline, one "ship first", one out-of-stock list for shipping and customer service -----

def test_a_deposit_only_presale_has_no_deadline_and_a_paid_balance_counts_from_its_payment():
    deposit = NOW - timedelta(days=5)
    orders, _ = frames([
        order("N", "paid", NOW - timedelta(hours=10)),                                   # paid + 48 h
        order("OWN", "paid", NOW - timedelta(hours=10), ship_by_at=NOW + timedelta(hours=3)),  # the platform's
        order("DEP", "presale_deposit_paid", deposit, is_presale=True, presale_balance_paid=False,
              ship_by_at=NOW + timedelta(days=2)),        # TOP timeout_action_time of an unpaid order: its close
        order("DEP2", "paid", deposit, is_presale=True, presale_balance_paid=False),     # not marked balance-paid
        order("BAL", "paid", deposit, is_presale=True, presale_balance_paid=True,
              modified_at=NOW - timedelta(hours=2)),                                     # balance paid 2 h ago
        order("BALOWN", "paid", deposit, is_presale=True, presale_balance_paid=True,
              modified_at=NOW - timedelta(hours=2), ship_by_at=NOW + timedelta(hours=30)),
    ], [])
    deadline = dict(zip(orders["order_id"], shipping_deadline(orders, RULES)))
    assert deadline["N"] == pd.Timestamp(NOW + timedelta(hours=38))
    assert deadline["OWN"] == pd.Timestamp(NOW + timedelta(hours=3))
    assert pd.isna(deadline["DEP"]) and pd.isna(deadline["DEP2"])
    assert deadline["BAL"] == pd.Timestamp(NOW + timedelta(hours=46))                  # not deposit + 48 h
    assert deadline["BALOWN"] == pd.Timestamp(NOW + timedelta(hours=30))


def _urgent_day():
    """Orders all past or near their deadline by paid time, only OK1 and OK2 fit to ship."""
    return frames([
        order("OK1", "paid", NOW - timedelta(hours=50)),                                 # 2 h past
        order("OK2", "paid", NOW - timedelta(hours=45)),                                 # 3 h left
        order("RF1", "refunding", NOW - timedelta(hours=50)),                            # refunding
        order("RF2", "paid", NOW - timedelta(hours=47)),                                 # line refund requested
        order("DEP", "presale_deposit_paid", NOW - timedelta(hours=50), is_presale=True,
              presale_balance_paid=False),                                                # deposit only
        order("BAL", "paid", NOW - timedelta(days=5), is_presale=True, presale_balance_paid=True,
              modified_at=NOW - timedelta(hours=2)),                                      # 46 h left
    ], [line("OK1", "A", 1), line("OK2", "A", 1), line("RF1", "A", 1),
        line("RF2", "A", 1, refund_status="WAIT_SELLER_AGREE"), line("DEP", "A", 1), line("BAL", "A", 1)])


def _plan(orders, lines, stock_units):
    from tests.unit.test_batching import RULES as BATCH_RULES
    from tests.unit.test_shipping_tasks import NO_POS, ShippingInputs, ledger_of

    orders = orders.assign(buyer_key=orders["order_id"], address_hash=orders["order_id"], province="浙江省",
                           city="杭州市", address_masked="浙江省杭州市****", carrier="SF")
    catalogue = pd.DataFrame([("A", "A", None, "A-01", "HZ")],
                             columns=["sku", "name", "variant", "bin_location", "default_warehouse"])
    inputs = ShippingInputs(
        orders=orders[orders["status"].isin(["paid", "presale_deposit_paid", "refunding"])].reset_index(drop=True),
        lines=lines, batched=NO_BATCHES, batch_lines=pd.DataFrame(columns=[*ORDER_KEY, "sku", "warehouse", "quantity"]),
        ledger=ledger_of(pd.Series({("A", "HZ"): stock_units})), purchase_orders=NO_POS, catalogue=catalogue)
    return plan_batches(inputs, BATCH_RULES, load_config(), NOW)


def test_refunding_and_deposit_only_orders_are_never_advised_to_ship_first():
    orders, lines = _urgent_day()
    plan = _plan(orders, lines, stock_units=10)
    assert list(plan.deadline["order_id"]) == ["OK1", "OK2"]
    found = find_followups(orders, lines, NO_HOLDS, NO_BATCHES, NOW, RULES)
    assert list(found.deadline["order_id"]) == ["OK1", "OK2"]      # the same list, the same count


def test_out_of_stock_is_exactly_what_the_shipping_plan_held_for_stock_and_never_a_batched_order():
    orders, lines = _urgent_day()
    plan = _plan(orders, lines, stock_units=3)   # RF2 and DEP (held) keep theirs: one unit for OK1, OK2, BAL
    held_for_stock = {o for o, r in zip(plan.held["order_id"], plan.held["reasons"]) if HoldReason.OUT_OF_STOCK in r}
    in_batches = set(plan.tracking["order_id"])
    assert in_batches == {"OK1"} and held_for_stock == {"OK2", "BAL"}

    found = find_followups(orders, lines, plan.held, plan.tracking[["batch_id", *ORDER_KEY]], NOW, RULES)
    assert set(found.out_of_stock["order_id"]) == held_for_stock
    assert not set(found.out_of_stock["order_id"]) & in_batches
