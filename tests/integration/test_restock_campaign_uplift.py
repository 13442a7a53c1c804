"""Issue 17 #5 through the task layer (``tasks.stock.load_restock_inputs`` + ``judge_restock``)
on a real SQLite warehouse with the shipped config: Double 11's uplift (8, config/promotions/
double11-2026.yaml) brings back to a normal day only what its promoted SKUs (DJ-BLK-L,
DJ-BLK-M) sold in its shops (the five Chinese shops) on 11 November — not another SKU, not
amazon-us. The numbers are worked out in the comments.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from config.schema import load_config
from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames
from tasks.stock import campaign_uplift, judge_restock, load_restock_inputs
from warehouse import migrate, repository
from warehouse.db import make_engine

TODAY = date(2026, 11, 23)                 # history 26 Oct … 22 Nov (28 days)
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
DOUBLE11 = date(2026, 11, 11)


def sold(specs) -> CanonicalFrames:
    """specs: (order_id, shop_id, currency, paid_at, sku, quantity) — completed orders"""
    heads, lines = [], []
    for order_id, shop_id, currency, paid_at, sku, qty in specs:
        platform = "amazon" if shop_id == "amazon-us" else "taobao"
        head = dict.fromkeys(ORDER_COLUMNS)
        head.update(platform=platform, shop_id=shop_id, order_id=order_id, status="completed", currency=currency,
                    total_minor=1000 * qty, post_fee_minor=0, discount_minor=0, created_at=paid_at, paid_at=paid_at,
                    modified_at=paid_at, line_count=1)
        heads.append(head)
        line = dict.fromkeys(LINE_COLUMNS)
        line.update(platform=platform, shop_id=shop_id, order_id=order_id, line_no=1, line_id=f"{order_id}-1", sku=sku,
                    quantity=qty, line_total_minor=1000 * qty, unit_price_minor=1000, currency=currency, is_gift=False)
        lines.append(line)
    return CanonicalFrames(orders=pd.DataFrame(heads, columns=list(ORDER_COLUMNS)),
                           lines=pd.DataFrame(lines, columns=list(LINE_COLUMNS)),
                           refunds=pd.DataFrame(columns=list(REFUND_COLUMNS)))


@pytest.fixture
def warehouse(tmp_path):
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


def test_double11_uplift_applies_to_its_promoted_skus_in_its_shops_only(warehouse):
    url, engine = warehouse
    config = load_config()
    repository.sync_shops(engine, config.shops)
    repository.upsert_skus(engine, pd.DataFrame([{"sku": sku, "name": sku, "supplier": "hz-apparel",
                                                  "default_warehouse": "HZ01"} for sku in ("DJ-BLK-M", "TS-WHT-M")]))
    specs = []
    for n in range(1, 29):
        day = TODAY - timedelta(days=n)
        paid = datetime(day.year, day.month, day.day, 4, 0, tzinfo=timezone.utc)     # 12:00 Shanghai
        # DJ-BLK-M (promoted) in tmall-flagship (a Double 11 shop): 2 a day, 16 on Double 11
        specs.append((f"dj-tmall-{day}", "tmall-flagship", "CNY", paid, "DJ-BLK-M", 16 if day == DOUBLE11 else 2))
        # DJ-BLK-M in amazon-us (not a Double 11 shop): 1 a day, Double 11 too
        specs.append((f"dj-amazon-{day}", "amazon-us", "USD", paid, "DJ-BLK-M", 1))
        # TS-WHT-M (not promoted) in tmall-flagship: 2 a day, Double 11 too
        specs.append((f"ts-tmall-{day}", "tmall-flagship", "CNY", paid, "TS-WHT-M", 2))
    repository.upsert_orders(engine, sold(specs))
    # nothing in stock: both SKUs alert (critical), each row carrying its d and σ

    judged = judge_restock(load_restock_inputs(url, config, TODAY), config, TODAY, NOW).set_index("sku")

    # DJ-BLK-M: 16 / 8 = 2 in tmall-flagship + 1 in amazon-us = 3 every day → d = 3, σ = 0.
    #   Dividing every sale of 11 November by 8: (16 + 1) / 8 = 2.125 → d = (27 × 3 + 2.125) / 28 = 2.96875
    assert (judged.loc["DJ-BLK-M", "daily_demand"], judged.loc["DJ-BLK-M", "demand_sigma"]) == (3, 0)
    # TS-WHT-M: 2 every day → d = 2, σ = 0 (divided: 2 / 8 = 0.25 → d = (27 × 2 + 0.25) / 28 = 1.9375)
    assert (judged.loc["TS-WHT-M", "daily_demand"], judged.loc["TS-WHT-M", "demand_sigma"]) == (2, 0)
    # hz-apparel: L 10, R 7 → DJ-BLK-M S = 3 × 17 = 51 → MOQ 50 → 60 in cases of 10; TS-WHT-M S = 34 → 50
    assert (judged.loc["DJ-BLK-M", "suggested_qty"], judged.loc["TS-WHT-M", "suggested_qty"]) == (60, 50)

    uplift = campaign_uplift(config)
    double11 = uplift[uplift["day"] == DOUBLE11]
    assert set(double11["sku"]) == {"DJ-BLK-L", "DJ-BLK-M"} and "amazon-us" not in set(double11["shop_id"])
    assert len(double11) == 2 * 5 and set(double11["uplift_factor"]) == {8.0}
