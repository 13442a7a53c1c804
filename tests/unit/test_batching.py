"""Shipping batches (domain-rules.md §4) on a hand-checked day of 50 orders.

The day: 2026-11-23 10:00 in Shanghai. Two warehouses (HZ is preferred, GZ second), a cap of
10 orders per batch so the cap is visible, a promotion giving a STICKER with each TEE-RED-M.
Every order below carries a comment with its expected fate; the tests check those fates.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from domain.batching import (Allocation, AuditOutcome, BatchError, BatchingRules, HoldReason, IllegalTransition,
                             PromotionGift, allocate, assemble_batches, audit, manifest, merge, packing_slips,
                             pick_list, pull_out, waiting_for_companion)
from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, empty_frame

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
RULES = BatchingRules(
    ship_deadline_hours={"default": 48, "shopify": 72}, near_deadline_hours=6, max_orders_per_batch=10,
    merge_buffer_minutes=30, split_policy="no_split",
    remark_keywords_needing_person=("改地址", "换", "退", "急", "备注", "不要", "发票", "change", "address", "urgent"),
    promotion_gifts=(PromotionGift(buy_sku="TEE-RED-M", gift_sku="STICKER"),))

CATALOGUE = pd.DataFrame([
    ("TEE-BLU-L", "T-shirt", "blue / L", "A-01-01"), ("TEE-RED-M", "T-shirt", "red / M", "A-01-03"),
    ("STICKER", "Sticker", None, "A-00-01"), ("MUG", "Mug", "white", "B-02-01"), ("CAP", "Cap", "black", "A-02-05"),
    ("SOCKS", "Socks", "grey", "C-01-01"), ("LAMP", "Desk lamp", None, "B-01-01"), ("POSTER", "Poster", "A2", None),
], columns=["sku", "name", "variant", "bin_location"])

STOCK = pd.Series({
    ("TEE-BLU-L", "HZ"): 100, ("TEE-RED-M", "HZ"): 10, ("STICKER", "HZ"): 1, ("MUG", "HZ"): 50, ("CAP", "HZ"): 20,
    ("LAMP", "HZ"): 3, ("POSTER", "HZ"): 5, ("MUG", "GZ"): 5, ("SOCKS", "GZ"): 10,
})


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def line(sku, quantity=1, **extra):
    return dict(sku=sku, quantity=quantity, **extra)


def make_order(order_id, *lines, platform="taobao", paid_at=None, carrier="SF", **fields):
    """An order awaiting shipment, complete and unremarkable unless ``fields`` says otherwise."""
    shop = f"{platform}-shop"
    row = dict.fromkeys(ORDER_COLUMNS)
    row.update(platform=platform, shop_id=shop, order_id=order_id, status="paid", currency="CNY",
               paid_at=paid_at or hours_ago(10), carrier=carrier, buyer_key=f"buyer-{order_id}",
               address_hash=f"addr-{order_id}", receiver_name_masked="张*", receiver_phone_masked="138****0000",
               province="浙江省", city="杭州市", district="西湖区", address_masked="浙江省杭州市西湖区****",
               is_presale=False, line_count=len(lines))
    row.update(fields)
    rows = []
    for number, spec in enumerate(lines, start=1):
        line_row = dict.fromkeys(LINE_COLUMNS)
        line_row.update(platform=platform, shop_id=shop, order_id=order_id, line_no=number, currency="CNY",
                        title=spec["sku"].title(), is_gift=False, refund_status=None)
        line_row.update(spec)
        rows.append(line_row)
    return row, rows


def fillers(count):
    """One blue T-shirt each, SF, paid 10 h ago one minute apart: the bulk of the day."""
    return [make_order(f"F{i:02d}", line("TEE-BLU-L"), paid_at=hours_ago(10) + timedelta(minutes=i))
            for i in range(1, count + 1)]


def the_day():
    made = [
        # --- audit: held, with every reason --------------------------------------------
        make_order("H01", line("TEE-BLU-L"), buyer_remark="请改地址到公司"),           # remark (改地址)
        make_order("H02", line("TEE-BLU-L"), seller_remark="客户要发票"),              # remark (发票, seller side)
        make_order("H03", line("TEE-BLU-L"), buyer_remark="Please ship URGENT", city=None),  # remark + address
        make_order("H04", line("TEE-BLU-L"), province=None),                          # address
        make_order("H05", line("TEE-BLU-L"), address_masked="  "),                    # address (blank street)
        make_order("H06", line("TEE-BLU-L"), status="presale_deposit_paid", is_presale=True),  # presale
        make_order("H07", line("TEE-BLU-L"), is_presale=True, presale_balance_paid=False),     # presale
        make_order("H08", line("TEE-BLU-L"), status="refunding"),                     # refund (order)
        make_order("H09", line("TEE-BLU-L", refund_status="WAIT_SELLER_AGREE")),      # refund (line)
        make_order("H10", line("GHOST-1"), line("TEE-BLU-L", refund_status="WAIT_BUYER_RETURN_GOODS"),
                   buyer_remark="急!", city="", is_presale=True, presale_balance_paid=False),  # all five reasons
        # --- not awaiting shipment: in neither list -------------------------------------
        make_order("X01", line("TEE-BLU-L"), status="shipped"),
        make_order("X02", line("TEE-BLU-L"), status="cancelled"),
        # --- a keyword remark a person already read: passes ------------------------------
        make_order("READ1", line("TEE-BLU-L"), buyer_remark="急", paid_at=hours_ago(12)),
        # --- merges (MUG, ZTO) ------------------------------------------------------------
        # M1 + M2 + M3: same shop, buyer, address, waiting together (paid 20 and 40 min after M1)
        # → one parcel of 3 units (multi): how far apart they were paid does not matter
        # M4: same buyer, other address; M5: same buyer and address, other shop → alone
        make_order("M1", line("MUG"), carrier="ZTO", buyer_key="bm", address_hash="a1", paid_at=hours_ago(9)),
        make_order("M2", line("MUG"), carrier="ZTO", buyer_key="bm", address_hash="a1",
                   paid_at=hours_ago(9) + timedelta(minutes=20)),
        make_order("M3", line("MUG"), carrier="ZTO", buyer_key="bm", address_hash="a1",
                   paid_at=hours_ago(9) + timedelta(minutes=40)),
        make_order("M4", line("MUG"), carrier="ZTO", buyer_key="bm", address_hash="a2",
                   paid_at=hours_ago(9) + timedelta(minutes=5)),
        make_order("M5", line("MUG"), platform="jd", carrier="ZTO", buyer_key="bm", address_hash="a1",
                   paid_at=hours_ago(9) + timedelta(minutes=10)),
        # NB1, NB2: same address but no buyer key → cannot be proven the same buyer: not merged
        make_order("NB1", line("TEE-BLU-L"), buyer_key=None, address_hash="a9", paid_at=hours_ago(12)),
        make_order("NB2", line("TEE-BLU-L"), buyer_key=None, address_hash="a9",
                   paid_at=hours_ago(12) + timedelta(minutes=1)),
        # --- scarce stock: 3 LAMPs for 5 orders ------------------------------------------
        # L4: own marketplace deadline in 2 h → near → 1st; L2: 44 h of 48 gone (4 h left) → near → 2nd;
        # L3: shopify (72 h), paid 50 h ago, 22 h left → not near, oldest payment → 3rd, the last lamp;
        # L1: 8 h left, paid 40 h ago → held (a pure deadline sort would have served it before L3);
        # L5: LAMP + MUG, paid 30 h ago → held whole; its MUG stays in stock (no split)
        make_order("L1", line("LAMP"), paid_at=hours_ago(40)),
        make_order("L2", line("LAMP"), paid_at=hours_ago(44)),
        make_order("L3", line("LAMP"), platform="shopify", paid_at=hours_ago(50)),
        make_order("L4", line("LAMP"), paid_at=hours_ago(1), ship_by_at=NOW + timedelta(hours=2)),
        make_order("L5", line("LAMP"), line("MUG"), paid_at=hours_ago(30)),
        # --- gifts need stock too ---------------------------------------------------------
        # G1: TEE-RED-M earns the promotion STICKER (the only one) → 2 units, multi;
        # G2: the same, paid later, the sticker gone → ships its tee, the missing gift flagged;
        # G3: Douyin order with its own gift line (CAP), no carrier yet → HZ/unassigned/multi
        make_order("G1", line("TEE-RED-M"), paid_at=hours_ago(20)),
        make_order("G2", line("TEE-RED-M"), paid_at=hours_ago(19)),
        make_order("G3", line("MUG"), line("CAP", is_gift=True), platform="douyin", carrier=None),
        # --- warehouses: SOCKS exist only in GZ --------------------------------------------
        make_order("W1", line("SOCKS"), carrier="ZTO"),                               # GZ single
        make_order("W2", line("SOCKS"), line("MUG"), carrier="ZTO"),                  # GZ multi (HZ lacks socks)
        # --- a line already refunded is not shipped: PR1 ships its tee only → single ---------
        make_order("PR1", line("TEE-BLU-L"), line("MUG", refund_status="SUCCESS"), paid_at=hours_ago(12)),
        # --- a remark without keyword rides on the slip; clear phones get masked ----------
        make_order("RM1", line("TEE-BLU-L"), buyer_remark="谢谢，到了打13812345678", paid_at=hours_ago(12),
                   receiver_phone_masked="13987654321"),
        # --- a SKU without bin location: last on the pick list ----------------------------
        make_order("PO1", line("POSTER"), line("TEE-BLU-L"), paid_at=hours_ago(11)),
        *fillers(17),
    ]
    orders = pd.DataFrame([o for o, _ in made], columns=list(ORDER_COLUMNS))
    for column in ("paid_at", "ship_by_at"):
        orders[column] = pd.to_datetime(orders[column], utc=True)
    lines = pd.DataFrame([r for _, rows in made for r in rows], columns=list(LINE_COLUMNS))
    assert len(orders) == 50
    return orders, lines


@dataclass
class Day:
    orders: pd.DataFrame
    lines: pd.DataFrame
    audited: AuditOutcome
    groups: pd.DataFrame
    allocation: Allocation

    def batches(self, rules=RULES):
        """Fresh batches each call: the lifecycle tests change them."""
        return assemble_batches(self.allocation, rules)


def run_the_day(rules=RULES):
    orders, lines = the_day()
    audited = audit(orders, lines, set(CATALOGUE["sku"]), rules, remarks_read={("taobao", "taobao-shop", "READ1")})
    groups = merge(audited.passed, rules)
    return Day(orders, lines, audited, groups, allocate(groups, lines, STOCK, rules, NOW))


@pytest.fixture(scope="module")
def day():
    """The pipeline up to allocation, run once: the steps never change their inputs."""
    return run_the_day()


def by_id(frame):
    return frame.set_index("order_id")


def batch_named(batches, warehouse, carrier, kind):
    return [b for b in batches if (b.warehouse, b.carrier, b.kind) == (warehouse, carrier, kind)]


# --- audit ------------------------------------------------------------------------------------

def test_audit_holds_each_order_with_every_reason(day):
    audited = day.audited
    held = by_id(audited.held)["reasons"].map(list).to_dict()
    R = HoldReason
    assert held == {
        "H01": [R.REMARK_NEEDS_PERSON], "H02": [R.REMARK_NEEDS_PERSON],
        "H03": [R.REMARK_NEEDS_PERSON, R.ADDRESS_INCOMPLETE],
        "H04": [R.ADDRESS_INCOMPLETE], "H05": [R.ADDRESS_INCOMPLETE],
        "H06": [R.PRESALE_BALANCE_UNPAID], "H07": [R.PRESALE_BALANCE_UNPAID],
        "H08": [R.REFUND_IN_PROGRESS], "H09": [R.REFUND_IN_PROGRESS],
        "H10": [R.REMARK_NEEDS_PERSON, R.ADDRESS_INCOMPLETE, R.PRESALE_BALANCE_UNPAID, R.REFUND_IN_PROGRESS,
                R.UNKNOWN_SKU],
    }
    details = by_id(audited.held)["reason_details"]
    assert details["H01"] == ["buyer remark mentions '改地址': read it before shipping"]
    assert details["H03"][0] == "buyer remark mentions 'urgent': read it before shipping"  # case-insensitive
    assert details["H03"][1] == "city missing"
    assert details["H05"] == ["street address missing"]
    assert details["H09"] == ["line 1 (TEE-BLU-L): refund WAIT_SELLER_AGREE"]
    assert details["H10"][3] == "line 2 (TEE-BLU-L): refund WAIT_BUYER_RETURN_GOODS"
    assert details["H10"][4] == "line 1: SKU 'GHOST-1' is not in the catalogue"
    # 50 = 10 held + 38 passed + 2 not awaiting shipment (shipped X01, cancelled X02)
    assert len(audited.passed) == 38 and not {"X01", "X02", "H01"} & set(audited.passed["order_id"])
    assert "READ1" in set(audited.passed["order_id"])          # its keyword remark was read already


def test_without_the_read_mark_a_keyword_remark_holds(day):
    audited = audit(day.orders, day.lines, set(CATALOGUE["sku"]), RULES)
    assert list(by_id(audited.held).loc["READ1", "reasons"]) == [HoldReason.REMARK_NEEDS_PERSON]


def test_a_day_without_orders_gives_no_batches():
    orders, lines = empty_frame(ORDER_COLUMNS), empty_frame(LINE_COLUMNS)
    audited = audit(orders, lines, set(CATALOGUE["sku"]), RULES)
    allocation = allocate(merge(audited.passed, RULES), lines, STOCK, RULES, NOW)
    assert audited.held.empty and allocation.orders.empty and allocation.held.empty
    assert allocation.remaining.equals(STOCK.rename_axis(["sku", "warehouse"]))
    assert assemble_batches(allocation, RULES) == []


# --- merge ------------------------------------------------------------------------------------

def test_merge_groups_one_buyer_at_one_address_waiting_together(day):
    groups = day.groups
    key = by_id(groups)["merge_key"]
    assert key["M1"] == key["M2"] == key["M3"]
    others = ["M1", "M4", "M5", "NB1", "NB2"]
    assert len({key[o] for o in others}) == len(others)
    assert groups["merge_key"].nunique() == len(groups) - 2     # M1+M2+M3 is the only merge of the day
    rerun = merge(groups.drop(columns="merge_key"), RULES)
    assert rerun["merge_key"].tolist() == groups["merge_key"].tolist()   # a rerun gives the same keys
    shuffled = merge(groups.drop(columns="merge_key").iloc[::-1], RULES)   # nor on the order of the rows
    assert by_id(shuffled)["merge_key"].to_dict() == key.to_dict()


def frames_of(*made):
    orders = pd.DataFrame([o for o, _ in made], columns=list(ORDER_COLUMNS))
    for column in ("paid_at", "ship_by_at"):
        orders[column] = pd.to_datetime(orders[column], utc=True)
    return orders, pd.DataFrame([r for _, rows in made for r in rows], columns=list(LINE_COLUMNS))


def test_two_waiting_orders_paid_hours_apart_merge():
    # issue 17: a buyer's two orders paid 4.5 h apart, both waiting at the run, were two parcels
    orders, lines = frames_of(
        make_order("T1", line("MUG"), buyer_key="bt", address_hash="at", paid_at=hours_ago(6)),
        make_order("T2", line("CAP"), buyer_key="bt", address_hash="at", paid_at=hours_ago(1.5)))
    groups = merge(orders, RULES)
    assert groups["merge_key"].nunique() == 1
    assert not waiting_for_companion(groups, RULES, NOW).any()
    batches = assemble_batches(allocate(groups, lines, STOCK, RULES, NOW), RULES)
    assert [(b.kind, b.order_count, b.unit_count) for b in batches] == [("multi", 2, 2)]   # one parcel


def test_a_fresh_order_waits_the_buffer_for_a_companion_then_ships_alone():
    """``merge_buffer_minutes`` is how long a fresh order waits for a companion before it is
    batched: a group whose orders were all paid within it waits for the next run, unless one
    of them is near its deadline; a fresh order whose companion is already waiting goes now."""
    orders, _ = frames_of(
        make_order("N1", line("MUG"), buyer_key="bn", address_hash="an", paid_at=NOW - timedelta(minutes=10)),
        make_order("N2", line("MUG"), buyer_key="bc", address_hash="ac", paid_at=hours_ago(3)),
        make_order("N3", line("MUG"), buyer_key="bc", address_hash="ac", paid_at=NOW - timedelta(minutes=5)),
        make_order("N4", line("MUG"), paid_at=NOW - timedelta(minutes=5), ship_by_at=NOW + timedelta(hours=1)),
        make_order("N5", line("MUG"), paid_at=NOW - timedelta(minutes=30)))   # exactly the buffer: waited enough
    groups = merge(orders, RULES)
    waits = waiting_for_companion(groups, RULES, NOW)
    assert list(groups.loc[waits, "order_id"]) == ["N1"]
    assert by_id(groups).loc["N2", "merge_key"] == by_id(groups).loc["N3", "merge_key"]
    assert not waiting_for_companion(groups, RULES, NOW + timedelta(minutes=20)).any()   # N1's buffer is over
    none = BatchingRules(**{**vars(RULES), "merge_buffer_minutes": 0})
    assert not waiting_for_companion(groups, none, NOW).any()


# --- allocate ---------------------------------------------------------------------------------

def test_scarce_stock_goes_to_near_deadlines_then_oldest_payment(day):
    allocation = day.allocation
    served = by_id(allocation.orders)
    lamp_order = allocation.orders[allocation.orders["order_id"].isin(["L1", "L2", "L3", "L4", "L5"])]
    assert list(lamp_order["order_id"]) == ["L4", "L2", "L3"]
    assert served.loc["L4", "near_deadline"] and served.loc["L2", "near_deadline"]
    assert not served.loc["L3", "near_deadline"]
    assert served.loc["L4", "ship_deadline"] == pd.Timestamp(NOW + timedelta(hours=2))  # its own ship_by_at
    held = by_id(allocation.held)
    assert set(held.index) == {"L1", "L5"}                              # G2 is short of its gift only: ships
    assert all(list(r) == [HoldReason.OUT_OF_STOCK] for r in held["reasons"])
    assert held.loc["L1", "short"] == {"LAMP": 1}
    assert held.loc["L5", "short"] == {"LAMP": 1}                       # MUG was there: no split, held whole
    assert held.loc["L5", "reason_details"] == ["cannot ship it whole: SKU LAMP: needs 1, none left in any warehouse"]


def test_a_hold_names_only_warehouses_that_have_the_sku(day):
    # issue 17: "SKU SOCKS … short in HZ, the warehouse that has most of it" — HZ has no socks.
    # 6 mugs and a pair of socks: HZ has the mugs but no socks, GZ the socks but 5 mugs
    orders, lines = frames_of(make_order("S1", line("MUG", 6), line("SOCKS")))
    allocation = allocate(merge(orders, RULES), lines, STOCK, RULES, NOW)
    assert allocation.orders.empty
    (detail,) = allocation.held["reason_details"].item()
    assert detail == "cannot ship it whole: SKU SOCKS: needs 1, 1 short in HZ; left: GZ 10"


def test_an_order_short_only_of_its_gift_ships_and_the_missing_gift_is_flagged(day):
    # issue 17: G2's tee is in stock, only the promotion sticker is gone (G1 took the last one)
    allocation = day.allocation
    served = by_id(allocation.orders)
    assert "G2" in served.index and not served.loc["G2", "partial"] and served.loc["G2", "units"] == 1
    assert allocation.missing_gifts[["order_id", "sku", "quantity"]].values.tolist() == [["G2", "STICKER", 1]]
    g2 = allocation.lines[allocation.lines["order_id"] == "G2"]
    assert list(zip(g2["sku"], g2["is_gift"], g2["quantity"])) == [("TEE-RED-M", False, 1), ("STICKER", True, 0)]
    batch = next(b for b in day.batches() if "G2" in set(b.orders["order_id"]))
    assert batch.kind == "single" and "STICKER" not in set(pick_list(batch, CATALOGUE)["sku"])
    slip = packing_slips(batch, day.orders).set_index("order_id").loc["G2"]
    assert slip["gifts"] == [] and slip["missing_gifts"] == [
        {"sku": "STICKER", "title": "promotion gift (赠品)", "variant": None}]
    # a bought item short still holds the order, gift or not
    orders, lines = frames_of(make_order("G9", line("TEE-RED-M", 11)))
    held = allocate(merge(orders, RULES), lines, STOCK, RULES, NOW).held
    assert held["short"].tolist() == [{"TEE-RED-M": 1, "STICKER": 10}]


def test_stock_is_consumed_as_orders_are_served(day):
    allocation = day.allocation
    left = allocation.remaining
    assert left[("LAMP", "HZ")] == 0 and left[("STICKER", "HZ")] == 0
    assert left[("MUG", "HZ")] == 50 - 5 - 1           # M1–M5 and G3; not L5 (held), not PR1's refunded line
    assert left[("MUG", "GZ")] == 5 - 1                # W2 ships from GZ, the only warehouse with its socks
    assert left[("TEE-BLU-L", "HZ")] == 100 - 23       # READ1, NB1, NB2, PR1, RM1, PO1, F01–F17
    assert left[("TEE-RED-M", "HZ")] == 10 - 2         # G1 and G2 (G2 without its sticker)
    assert left[("CAP", "HZ")] == 19
    served = by_id(allocation.orders)
    assert served.loc["W2", "warehouse"] == "GZ" and served.loc["G3", "warehouse"] == "HZ"
    g1 = allocation.lines[allocation.lines["order_id"] == "G1"]
    assert list(zip(g1["sku"], g1["is_gift"], g1["quantity"])) == [("TEE-RED-M", False, 1), ("STICKER", True, 1)]
    assert list(allocation.lines.loc[allocation.lines["order_id"] == "PR1", "sku"]) == ["TEE-BLU-L"]
    assert len(allocation.orders) == 36                # 38 passed − L1, L5


def test_a_promotion_gift_goes_only_to_orders_of_the_promotions_shops():
    # G1 (taobao-shop) bought TEE-RED-M; a promotion run in JD alone gives it no STICKER
    elsewhere = BatchingRules(**{**vars(RULES), "promotion_gifts": (
        PromotionGift(buy_sku="TEE-RED-M", gift_sku="STICKER", shops=frozenset({"jd-shop"})),)})
    lines = run_the_day(elsewhere).allocation.lines
    assert list(lines.loc[lines["order_id"] == "G1", "sku"]) == ["TEE-RED-M"]
    here = BatchingRules(**{**vars(RULES), "promotion_gifts": (
        PromotionGift(buy_sku="TEE-RED-M", gift_sku="STICKER", shops=frozenset({"taobao-shop", "jd-shop"})),)})
    lines = run_the_day(here).allocation.lines
    assert list(lines.loc[lines["order_id"] == "G1", "sku"]) == ["TEE-RED-M", "STICKER"]


def test_split_policy_ships_what_is_there_and_holds_the_rest():
    split = BatchingRules(**{**vars(RULES), "split_policy": "split"})
    allocation = run_the_day(split).allocation
    served, held = by_id(allocation.orders), by_id(allocation.held)
    assert served.loc["L5", "partial"] and served.loc["L5", "units"] == 1   # the MUG ships
    assert held.loc["L5", "short"] == {"LAMP": 1}
    assert not served.loc["G2", "partial"] and "G2" not in held.index   # short of its gift only: ships whole
    assert "L1" not in served.index and held.loc["L1", "short"] == {"LAMP": 1}  # nothing to ship at all
    assert held.loc["L5", "reason_details"][0].startswith("shipped in part, the rest held")
    assert allocation.remaining[("MUG", "HZ")] == 50 - 5 - 1 - 1


def test_a_split_line_ships_the_units_that_exist(day):
    one = day.orders[day.orders["order_id"] == "F01"]
    big = day.lines[day.lines["order_id"] == "F01"].assign(sku="LAMP", quantity=5)
    stock = pd.Series({("LAMP", "HZ"): 2, ("LAMP", "GZ"): 3})   # 5 in all, but a parcel leaves one warehouse
    for policy, shipped, short in (("no_split", None, {"LAMP": 2}), ("split", ("GZ", 3), {"LAMP": 2})):
        rules = BatchingRules(**{**vars(RULES), "split_policy": policy})
        allocation = allocate(merge(one, rules), big, stock, rules, NOW)
        assert allocation.held["short"].tolist() == [short]
        got = list(zip(allocation.lines["warehouse"], allocation.lines["quantity"]))
        assert got == ([shipped] if shipped else [])       # split: the warehouse that can give the most


# --- batches ----------------------------------------------------------------------------------

def test_batches_split_by_warehouse_carrier_kind_and_size_cap(day):
    batches = day.batches()
    shape = sorted((b.warehouse, b.carrier, b.kind, b.order_count) for b in batches)
    assert shape == [
        ("GZ", "ZTO", "multi", 1),                 # W2
        ("GZ", "ZTO", "single", 1),                # W1
        ("HZ", "SF", "multi", 2),                  # G1 (tee + sticker), PO1
        ("HZ", "SF", "single", 6),                 # 26 single-item SF orders (G2 too), cap 10: 10 + 10 + 6
        ("HZ", "SF", "single", 10),
        ("HZ", "SF", "single", 10),
        ("HZ", "ZTO", "multi", 3),                 # the merged parcel M1 + M2 + M3
        ("HZ", "ZTO", "single", 2),                # M4, M5
        ("HZ", "unassigned", "multi", 1),          # G3: no carrier yet
    ]
    first = batch_named(batches, "HZ", "SF", "single")[0]
    assert list(first.orders["order_id"][:3]) == ["L4", "L2", "L3"]     # most urgent in the first wave
    merged = batch_named(batches, "HZ", "ZTO", "multi")[0]
    assert merged.orders["merge_key"].nunique() == 1 and merged.unit_count == 3


def test_batch_ids_are_deterministic_and_unique(day):
    batches, again = day.batches(), day.batches()
    assert [b.batch_id for b in batches] == [b.batch_id for b in again]
    assert len({b.batch_id for b in batches}) == len(batches)
    assert all(b.batch_id.startswith(f"{b.warehouse}-{b.carrier}-{b.kind}-") for b in batches)


def test_a_parcel_is_never_split_across_batches(day):
    tiny = BatchingRules(**{**vars(RULES), "max_orders_per_batch": 1})
    merged = batch_named(day.batches(tiny), "HZ", "ZTO", "multi")
    assert [b.order_count for b in merged] == [3]      # larger than the cap, kept whole in one batch


# --- papers -----------------------------------------------------------------------------------

def test_pick_list_walks_the_bins_in_order(day):
    batch = batch_named(day.batches(), "HZ", "SF", "multi")[0]          # G1 and PO1
    picks = pick_list(batch, CATALOGUE)
    assert list(zip(picks["bin_location"].fillna("no bin"), picks["sku"], picks["units"])) == [
        ("A-00-01", "STICKER", 1), ("A-01-01", "TEE-BLU-L", 1), ("A-01-03", "TEE-RED-M", 1), ("no bin", "POSTER", 1)]
    assert picks.loc[picks["sku"] == "TEE-RED-M", "variant"].item() == "red / M"


def test_pick_lists_of_the_day_total_every_allocated_unit(day):
    """Summed over every batch, the pick lists give exactly what was allocated, by SKU (worked
    out from the day's orders): 23 blue tees (READ1, NB1, NB2, PR1, RM1, PO1, F01–F17), two red
    tees and one sticker (G1; G2 without), 7 mugs (M1–M5 and G3 in HZ, W2 in GZ), G3's cap, 2 pairs
    of socks (W1, W2), 3 lamps (L4, L2, L3), PO1's poster — 40 units."""
    batches = day.batches()
    picked = pd.concat([pick_list(b, CATALOGUE) for b in batches]).groupby("sku")["units"].sum().to_dict()
    assert picked == {"TEE-BLU-L": 23, "TEE-RED-M": 2, "STICKER": 1, "MUG": 7, "CAP": 1, "SOCKS": 2, "LAMP": 3,
                      "POSTER": 1}
    assert sum(b.unit_count for b in batches) == 40 and sum(b.order_count for b in batches) == 36
    gz = pd.concat([pick_list(b, CATALOGUE) for b in batches if b.warehouse == "GZ"])
    assert gz.groupby("sku")["units"].sum().to_dict() == {"MUG": 1, "SOCKS": 2}   # W2's mug comes from GZ


def test_packing_slips_show_remarks_gifts_and_only_masked_contacts(day):
    slips = pd.concat([packing_slips(b, day.orders) for b in day.batches()]).set_index("order_id")
    assert len(slips) == 36
    assert slips.loc["G1", "gifts"] == [{"sku": "STICKER", "title": "promotion gift (赠品)", "variant": None,
                                         "quantity": 1}]
    assert slips.loc["G1", "items"] == [{"sku": "TEE-RED-M", "title": "Tee-Red-M", "variant": None, "quantity": 1}]
    assert [g["sku"] for g in slips.loc["G3", "gifts"]] == ["CAP"]          # the marketplace's own gift line
    assert slips.loc["RM1", "buyer_remark"] == "谢谢，到了打138****5678"
    assert slips.loc["RM1", "receiver_phone_masked"] == "139****4321"
    assert slips.loc["READ1", "buyer_remark"] == "急"
    assert slips.loc["F01", "ship_to"] == "浙江省杭州市西湖区****"
    assert "13812345678" not in slips.to_string() and "13987654321" not in slips.to_string()


def test_manifest_lists_one_row_per_parcel(day):
    rows = manifest(batch_named(day.batches(), "HZ", "ZTO", "multi")[0], day.orders)
    assert rows[["order_ids", "units", "carrier", "shop_id"]].to_dict("records") == [
        {"order_ids": "M1,M2,M3", "units": 3, "carrier": "ZTO", "shop_id": "taobao-shop"}]


# --- lifecycle and pull-out -------------------------------------------------------------------

def test_batch_moves_created_picked_packed_handed_over(day):
    batch = day.batches()[0]
    with pytest.raises(IllegalTransition,
                       match="is 'created', so it cannot become 'packed': its next step is 'picked'"):
        batch.pack(NOW)
    batch.pick(NOW)
    with pytest.raises(IllegalTransition, match="is 'picked', so it cannot become 'picked'"):
        batch.pick(NOW)
    batch.pack(NOW + timedelta(minutes=30))
    batch.hand_over(NOW + timedelta(hours=2))
    assert (batch.status, batch.handed_over_at) == ("handed_over", NOW + timedelta(hours=2))
    with pytest.raises(IllegalTransition, match="it is finished"):
        batch.pick(NOW)


def test_pull_out_releases_stock_and_leaves_the_order_reported(day):
    merged = batch_named(day.batches(), "HZ", "ZTO", "multi")[0]
    merged.pick(NOW)
    released = pull_out(merged, ("taobao", "taobao-shop", "M2"), "refunded after batching")
    assert released.to_dict() == {("MUG", "HZ"): 1}
    assert merged.order_count == 2 and merged.unit_count == 2
    assert by_id(merged.orders).loc["M2", ["status", "pulled_out_reason"]].tolist() == [
        "pulled_out", "refunded after batching"]
    with pytest.raises(BatchError, match="already pulled out"):
        pull_out(merged, ("taobao", "taobao-shop", "M2"), "again")
    with pytest.raises(BatchError, match="is not in batch"):
        pull_out(merged, ("taobao", "taobao-shop", "F01"), "wrong batch")
    pull_out(merged, ("taobao", "taobao-shop", "M1"), "cancelled by buyer")
    pull_out(merged, ("taobao", "taobao-shop", "M3"), "cancelled by buyer")
    assert merged.status == "cancelled"
    with pytest.raises(IllegalTransition, match="cancelled"):
        merged.pack(NOW)


def test_an_order_handed_over_cannot_be_pulled_out(day):
    batch = batch_named(day.batches(), "GZ", "ZTO", "single")[0]
    batch.pick(NOW), batch.pack(NOW), batch.hand_over(NOW)
    with pytest.raises(BatchError, match="carrier already has it"):
        pull_out(batch, ("taobao", "taobao-shop", "W1"), "cancelled")


def test_pulled_out_orders_leave_the_papers(day):
    orders = day.orders
    batch = batch_named(day.batches(), "HZ", "SF", "multi")[0]
    pull_out(batch, ("taobao", "taobao-shop", "PO1"), "cancelled by buyer")
    assert list(pick_list(batch, CATALOGUE)["sku"]) == ["STICKER", "TEE-RED-M"]
    assert list(packing_slips(batch, orders)["order_id"]) == ["G1"]
    assert list(manifest(batch, orders)["order_ids"]) == ["G1"]


def test_the_steps_leave_their_inputs_alone(day):
    batch = day.batches()[0]
    pick_list(batch, CATALOGUE), packing_slips(batch, day.orders), manifest(batch, day.orders)
    orders, lines = the_day()
    pd.testing.assert_frame_equal(day.orders, orders)
    pd.testing.assert_frame_equal(day.lines, lines)
