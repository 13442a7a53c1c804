"""warehouse/promotions.py on SQLite and PostgreSQL: the price history derived from order lines
(one row per shop, SKU and UTC day, idempotent), campaign state, listing buffers, promoted lines."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames
from warehouse import promotions, repository

DAY1 = datetime(2026, 10, 20, 3, tzinfo=timezone.utc)


def frames(*specs) -> CanonicalFrames:
    """specs: (order_id, status, paid_at, [(sku, qty, unit_price, is_gift)])"""
    heads, lines = [], []
    for order_id, status, paid_at, items in specs:
        head = dict.fromkeys(ORDER_COLUMNS)
        head.update(platform="taobao", shop_id="tmall-flagship", order_id=order_id, status=status, currency="CNY",
                    total_minor=sum(q * p for _, q, p, _ in items), created_at=paid_at, paid_at=paid_at,
                    modified_at=paid_at, line_count=len(items))
        heads.append(head)
        for n, (sku, qty, price, gift) in enumerate(items, start=1):
            line = dict.fromkeys(LINE_COLUMNS)
            line.update(platform="taobao", shop_id="tmall-flagship", order_id=order_id, line_no=n, sku=sku,
                        quantity=qty, unit_price_minor=price, line_total_minor=qty * price, currency="CNY", is_gift=gift)
            lines.append(line)
    return CanonicalFrames(orders=pd.DataFrame(heads, columns=list(ORDER_COLUMNS)),
                           lines=pd.DataFrame(lines, columns=list(LINE_COLUMNS)),
                           refunds=pd.DataFrame(columns=list(REFUND_COLUMNS)))


def test_price_history_is_the_daily_low_per_shop_and_idempotent(engine):
    repository.upsert_orders(engine, frames(
        ("1", "paid", DAY1, [("A", 1, 59900, False), ("G", 1, 0, True)]),
        ("2", "completed", DAY1 + timedelta(hours=5), [("A", 2, 49900, False)]),   # same UTC day: the low
        ("3", "cancelled", DAY1 + timedelta(hours=6), [("A", 1, 100, False)]),     # never a sale
        ("4", "shipped", DAY1 + timedelta(days=1), [("A", 1, 59900, False), ("B", 1, 9900, False)])))
    start, end = DAY1 - timedelta(days=30), DAY1 + timedelta(days=2)
    promotions.refresh_price_history(engine, ["A", "B", "G"], start, end)
    promotions.refresh_price_history(engine, ["A", "B", "G"], start, end)   # again: the same rows
    history = promotions.read_price_history(engine, ["A", "B", "G"], start, end, "CNY")
    day = pd.Timestamp("2026-10-20T00:00:00Z")
    assert list(history.itertuples(index=False, name=None)) == [
        ("tmall-flagship", "A", day, 49900, "order_lines"),
        ("tmall-flagship", "A", day + pd.Timedelta(days=1), 59900, "order_lines"),
        ("tmall-flagship", "B", day + pd.Timedelta(days=1), 9900, "order_lines")]

    repository.upsert_listings(engine, pd.DataFrame([{
        "shop_id": "jd-pop", "marketplace_item_id": "1", "marketplace_sku_id": "", "sku": "A",
        "allocation_share": 0.5, "buffer": 0, "price_minor": 45900, "currency": "CNY"}]))
    seen = DAY1 + timedelta(days=1, hours=1)
    promotions.refresh_price_history(engine, ["A"], start, end, now=seen)
    listed = promotions.read_price_history(engine, ["A"], start, end, "CNY")
    assert listed[listed["source"] == "listing"][["shop_id", "price_minor"]].values.tolist() == [["jd-pop", 45900]]

    buffers = promotions.listing_buffers(engine, ["jd-pop"], ["A"])
    assert promotions.set_listing_buffers(engine, buffers.assign(buffer=2)) == 1
    assert promotions.listing_buffers(engine, ["jd-pop"], ["A"])["buffer"].tolist() == [2]

    lines = promotions.promoted_lines(engine, ["tmall-flagship"], ["A"], DAY1, end)
    assert sorted(lines["order_id"]) == ["1", "2", "4"] and not lines["has_refund"].any()
    assert len(promotions.orders_of(lines)) == 3


def test_campaign_state_is_one_row_per_name(engine):
    args = dict(name="d11", definition={"skus": ["A"]}, prep_date=DAY1.date(), window_start=DAY1,
                window_end=DAY1 + timedelta(days=1))
    promotions.write_promotion(engine, status="prepared", state={"prepare": {"ok": True}}, **args)
    promotions.write_promotion(engine, status="running", state={"prepare": {"ok": True}, "started_at": "x"}, **args)
    row = promotions.read_promotion(engine, "d11")
    assert row["status"] == "running" and row["state"]["started_at"] == "x"
    assert promotions.read_promotion(engine, "other") is None
