"""The hand-computed settlement month (issue #7, "Done when"): a manager, two operations staff,
two customer-service staff, one person leaving mid-month, two shops, refunds inside the month
and across months — from orders in a real warehouse (SQLite and PostgreSQL) through
``repository.monthly_sales`` and ``settlement_kpi_orders`` to ``domain.settlement``, every
coefficient and commission checked to the fen against the arithmetic in the comments.

Department (tests/data/settlement/two_shops/), November 2026, preset seed_commission:
    M1 manager                 every shop
    O1 operations              flagship (share 1) and dist (share 0.5)
    O2 operations              dist (share 0.5), left on 2026-11-18 → no commission
    C1 customer service        serves flagship; personal target 60,000; attributed sales 66,000
    C2 customer service        serves dist;     personal target 40,000; attributed sales 30,000
Shops: flagship (own) target 200,000, expenses 50,000 marketing + 10,000 packaging;
       dist (distribution) target 100,000, expenses 20,000. SKU A costs 60.00 a unit.
Orders (yuan; placed → Asia/Shanghai month):
    flagship F1 11-03 180,000 (1,200 × A → cost 72,000)
             F2 11-10  30,000 (200 × A → cost 12,000), refunded 10,000 on 11-20  (inside the month)
             F3 11-25  12,000 (80 × A → cost 4,800),   refunded 12,000 on 12-03  (December's late refund)
             F0 10-28   8,000 (October),               refunded  8,000 on 11-05  (November's late refund)
    dist     D1 11-08  90,000 (950 × A → cost 57,000)
             D2 11-15  15,000 (100 × A → cost 6,000),  refunded  5,000 on 11-22  (inside the month)
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from config.schema import load_config
from domain.settlement import (SettlementRules, customer_service_kpis, plan_from_config, settle_month, shown,
                               store_kpis)
from domain.settlement_inputs import load_inputs
from helpers.settlement_orders import canonical
from warehouse import migrate, repository
from warehouse.db import make_engine
from warehouse.models import Sku

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data" / "settlement" / "two_shops"
CONFIG = load_config(ROOT / "config").rules.settlement
RULES = SettlementRules.from_config(CONFIG)
SEED = plan_from_config("seed_commission", CONFIG.presets["seed_commission"])
ZONE = "Asia/Shanghai"
SALES_COLUMNS = ["month", "shop_id", "placed_minor", "refunded_minor", "late_refunded_minor", "cost_of_goods_minor"]


def shanghai(month: int, day: int) -> datetime:
    """Noon in Shanghai (04:00 UTC) of a 2026 day."""
    return datetime(2026, month, day, 4, tzinfo=timezone.utc)


def yuan(amount: int) -> int:
    return amount * 100


@pytest.fixture
def engine(database_url):
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.insert(Sku.__table__).values(sku="A", name="a", unit_cost_minor=6000, currency="CNY"))
    orders = [
        dict(shop="flagship", id="F1", created=shanghai(11, 3), total=yuan(180_000), lines=[("A", 1200, yuan(180_000))],
             buyer="b1", shipped=shanghai(11, 4), ship_by=shanghai(11, 5)),
        dict(shop="flagship", id="F2", created=shanghai(11, 10), total=yuan(30_000), lines=[("A", 200, yuan(30_000))],
             buyer="b1", shipped=shanghai(11, 14), ship_by=shanghai(11, 12)),
        dict(shop="flagship", id="F3", created=shanghai(11, 25), total=yuan(12_000), lines=[("A", 80, yuan(12_000))],
             buyer="b2"),
        dict(shop="flagship", id="F0", created=shanghai(10, 28), total=yuan(8_000), lines=[("A", 50, yuan(8_000))],
             buyer="b2", status="refunded"),
        dict(shop="dist", id="D1", created=shanghai(11, 8), total=yuan(90_000), lines=[("A", 950, yuan(90_000))],
             buyer="b3"),
        dict(shop="dist", id="D2", created=shanghai(11, 15), total=yuan(15_000), lines=[("A", 100, yuan(15_000))],
             buyer="b4"),
    ]
    refunds = [dict(shop="flagship", id="R2", order="F2", amount=yuan(10_000), at=shanghai(11, 20)),
               dict(shop="flagship", id="R3", order="F3", amount=yuan(12_000), at=shanghai(12, 3)),
               dict(shop="flagship", id="R0", order="F0", amount=yuan(8_000), at=shanghai(11, 5)),
               dict(shop="dist", id="RD2", order="D2", amount=yuan(5_000), at=shanghai(11, 22))]
    repository.upsert_orders(engine, canonical(orders, refunds))
    yield engine
    engine.dispose()


def test_hand_computed_month_to_the_fen(engine):
    sales = repository.monthly_sales(engine, ["2026-11", "2026-12"], ZONE)
    by_shop = sales.set_index(["month", "shop_id"])
    # flagship November: placed 180,000 + 30,000 + 12,000 = 222,000; refunded inside the month 10,000 (F2);
    # late 8,000 (F0 of October, recorded 11-05); F3's refund is December's
    assert by_shop.loc[("2026-11", "flagship"), ["placed_minor", "refunded_minor", "late_refunded_minor",
                                                 "cost_of_goods_minor"]].tolist() == [
        yuan(222_000), yuan(10_000), yuan(8_000), yuan(88_800)]        # cost 72,000 + 12,000 + 4,800
    assert by_shop.loc[("2026-12", "flagship"), "late_refunded_minor"] == yuan(12_000)
    # dist: placed 105,000, refunded 5,000, cost 57,000 + 6,000 = 63,000
    assert by_shop.loc[("2026-11", "dist"), ["placed_minor", "refunded_minor", "cost_of_goods_minor"]].tolist() == [
        yuan(105_000), yuan(5_000), yuan(63_000)]

    inputs = load_inputs(**{name: DATA / f"{name}.csv" for name in
                            ("roster", "targets", "expenses", "cs_stats", "shop_channels", "shop_stats")})
    november = settle_month("2026-11", inputs, sales[SALES_COLUMNS], RULES, SEED)
    shops = november.shops.set_index("shop_id")
    # revenue (clawback): flagship 222,000 − 10,000 − 8,000 = 204,000, gross profit 204,000 − 88,800 = 115,200
    #                     dist 105,000 − 5,000 = 100,000, gross profit 100,000 − 63,000 = 37,000
    assert shops["revenue_minor"].to_dict() == {"dist": yuan(100_000), "flagship": yuan(204_000)}
    assert shops["gross_profit_minor"].to_dict() == {"dist": yuan(37_000), "flagship": yuan(115_200)}
    lines = {line.person_id: line for line in november.lines}
    scores = {p: {c.name: c.score for c in line.components} for p, line in lines.items()}

    # M1: revenue 204,000 + 100,000 = 304,000
    #   distribution 100,000 / 100,000 = 1; own 204,000 / 200,000 = 1.02
    #   profitability (115,200 + 37,000) / (60,000 + 20,000) = 1.9025; / 1.5 = 1.268333…
    #   coefficient 0.3 × 1 + 0.5 × 1.02 + 0.2 × 1.268333… = 0.3 + 0.51 + 0.253666… = 1.063666…
    #   commission 30,400,000 fen × 1 % × 1.063666… = 323,354.67 → 323,355 fen
    assert {name: shown(score) for name, score in scores["M1"].items()} == {
        "distribution_target": 1, "own_shops_target": Decimal("1.02"), "profitability": Decimal("1.2683")}
    assert (shown(lines["M1"].coefficient), lines["M1"].revenue_minor, lines["M1"].commission_minor) == (
        Decimal("1.0637"), yuan(304_000), 323355)

    # O1: revenue 1 × 204,000 + 0.5 × 100,000 = 254,000 (O2's half of dist is forfeited, not handed over)
    #   target 1 × 200,000 + 0.5 × 100,000 = 250,000 → 1.016; profitability over whole shops 1.268333…
    #   coefficient 0.6 × 1.016 + 0.4 × 1.268333… = 0.6096 + 0.507333… = 1.116933…
    #   commission 25,400,000 × 1.5 % × 1.116933… = 381,000 × 1.116933… = 425,551.6 → 425,552 fen
    assert scores["O1"]["target"] == Decimal("1.016")
    assert (shown(lines["O1"].coefficient), lines["O1"].revenue_minor, lines["O1"].commission_minor) == (
        Decimal("1.1169"), yuan(254_000), 425552)

    # O2 left on 2026-11-18: a line without scores and no pay, flagged
    assert (lines["O2"].coefficient, lines["O2"].commission_minor, [f.kind for f in lines["O2"].flags]) == (
        None, 0, ["left_within_period"])

    # C1: attributed 66,000 / 60,000 = 1.1; margin of flagship 115,200 / 204,000 = 0.5647 ≥ 40 % → 1
    #   coefficient 0.6 × 1.1 + 0.4 × 1 = 1.06; commission 6,600,000 × 5 % × 1.06 = 349,800 fen
    assert (lines["C1"].coefficient, lines["C1"].commission_minor) == (Decimal("1.06"), 349800)
    # C2: 30,000 / 40,000 = 0.75; margin of dist 37,000 / 100,000 = 0.37 < 40 % → 0.37 / 0.4 = 0.925
    #   coefficient 0.6 × 0.75 + 0.4 × 0.925 = 0.45 + 0.37 = 0.82; commission 3,000,000 × 5 % × 0.82 = 123,000 fen
    assert scores["C2"] == {"target": Decimal("0.75"), "gross_margin": Decimal("0.925")}
    assert (lines["C2"].coefficient, lines["C2"].commission_minor) == (Decimal("0.82"), 123000)
    assert [line.person_id for line in november.lines] == ["M1", "O1", "O2", "C1", "C2"]


def test_store_and_customer_service_kpis_of_the_month(engine):
    sales = repository.monthly_sales(engine, ["2026-11"], ZONE)
    inputs = load_inputs(**{name: DATA / f"{name}.csv" for name in
                            ("roster", "targets", "expenses", "cs_stats", "shop_channels", "shop_stats")})
    november = settle_month("2026-11", inputs, sales[SALES_COLUMNS], RULES, SEED)
    orders = repository.settlement_kpi_orders(engine, "2026-11", ZONE)
    kpis = store_kpis("2026-11", november.shops, orders, inputs.expenses, inputs.shop_stats).set_index("shop_id")
    flagship = kpis.loc["flagship"]
    # F1, F2, F3 placed in November (F0 is October's): AOV 222,000 / 3 = 74,000; conversion 3 / 20,000 visitors
    assert (flagship["orders"], flagship["average_order_value_minor"]) == (3, yuan(74_000))
    assert flagship["conversion_rate"] == Decimal("0.00015")
    # F2 and F3 have refunds (F3's is recorded in December but the order is November's): 2 of 3
    assert shown(flagship["refund_rate"]) == Decimal("0.6667")
    # buyers b1 (F1, F2) and b2 (F3): b1 repeats → 1 / 2; b2 bought in October (F0), so only b1 is new:
    # new-customer cost = marketing 50,000 / 1 new buyer
    assert (flagship["repeat_purchase_rate"], flagship["new_buyers"]) == (Decimal("0.5"), 1)
    assert flagship["new_customer_cost_minor"] == yuan(50_000)
    # F1 shipped before its deadline, F2 after it, F3 has none: 1 of 2 due
    assert flagship["on_time_shipment_share"] == Decimal("0.5")
    # gross margin 115,200 / 204,000; ROI 115,200 / marketing 50,000 = 2.304; DSR as exported
    assert (shown(flagship["gross_margin"]), flagship["roi"], flagship["dsr"]) == (
        Decimal("0.5647"), Decimal("2.304"), Decimal("4.8"))
    dist = kpis.loc["dist"]
    # dist has no marketing expense: no ROI, no new-customer cost; no DSR in the export
    assert (dist["orders"], dist["roi"], dist["new_customer_cost_minor"], dist["dsr"], dist["oversell_count"]) == (
        2, None, None, None, 0)

    service = customer_service_kpis("2026-11", inputs).set_index("person_id")
    assert service.loc["C1", ["conversations", "avg_response_s", "conversion_rate", "attributed_sales_minor"]].tolist() \
        == [1500, 15.5, Decimal("0.42"), yuan(66_000)]
    assert service.loc["C2", "achievement"] == Decimal("0.75")          # 30,000 / 40,000
