"""The morning follow-up lists, on hand-made orders with known answers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS
from domain.followup import FollowupRules, find_followups

# 2026-11-23 10:00 in Shanghai: "yesterday" is 2026-11-22 00:00–24:00 +08:00
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
RULES = FollowupRules(ship_deadline_hours={"default": 48, "shopify": 72}, near_deadline_hours=6,
                      abnormal_logistics_days=7)


def order(order_id, status, paid_at, platform="taobao", ship_by_at=None, shipped_at=None, tracking_no=None):
    row = dict.fromkeys(ORDER_COLUMNS)
    row.update(platform=platform, shop_id=f"{platform}-shop", order_id=order_id, status=status, paid_at=paid_at,
               ship_by_at=ship_by_at, shipped_at=shipped_at, tracking_no=tracking_no)
    return row


def line(order_id, sku, quantity, platform="taobao", is_gift=False):
    row = dict.fromkeys(LINE_COLUMNS)
    row.update(platform=platform, shop_id=f"{platform}-shop", order_id=order_id, line_no=1, sku=sku,
               quantity=quantity, is_gift=is_gift)
    return row


def frames(orders, lines):
    o = pd.DataFrame(orders, columns=ORDER_COLUMNS)
    for c in ("paid_at", "ship_by_at", "shipped_at"):
        o[c] = pd.to_datetime(o[c], utc=True)
    return o, pd.DataFrame(lines, columns=LINE_COLUMNS)


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
    available = pd.Series({"A": 5, "B": 1, "GIFT": 0})

    found = find_followups(orders, lines, available, NOW, RULES)

    assert list(found.unshipped_from_yesterday["order_id"]) == ["Y1"]
    assert list(found.deadline["order_id"]) == ["SB", "OLD"]          # most urgent first
    assert set(found.out_of_stock["order_id"]) == {"OLD", "SB", "SH"}  # 3 units of B wanted, 1 available
    assert dict(zip(found.abnormal_logistics["order_id"], found.abnormal_logistics["problem"])) == {
        "LOST": "shipped long ago, not delivered", "NOTRK": "no tracking number"}


def test_without_stock_data_nothing_is_called_out_of_stock():
    orders, lines = frames([order("Y1", "paid", NOW - timedelta(hours=20))], [line("Y1", "A", 3)])
    found = find_followups(orders, lines, pd.Series(dtype="int64"), NOW, RULES)
    assert found.out_of_stock.empty and found.counts()["out_of_stock"] == 0
