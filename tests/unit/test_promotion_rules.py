"""§6 campaign rules in domain/promotion.py: the planted-violations campaign file gets each
violation reported with its SKU and numbers; readiness, shortfalls, baseline and the state
machine on hand-checked numbers. Pure: no Prefect server, no database."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import yaml

from config.schema import PromotionConfig, load_config
from domain import promotion as campaign
from domain.promotion import PromotionRules

PLANTED = Path(__file__).resolve().parents[1] / "data" / "promotions" / "planted-violations.yaml"
RULES = PromotionRules.from_config(load_config().rules.promotions.model_dump())


def planted() -> PromotionConfig:
    return PromotionConfig.model_validate(yaml.safe_load(PLANTED.read_text(encoding="utf-8")))


def skus(promo: PromotionConfig) -> pd.DataFrame:
    return pd.DataFrame([item.model_dump() for item in promo.skus])


def history(promo: PromotionConfig, low: int = 20000) -> pd.DataFrame:
    """Each SKU seen at its list price 20 days before the window and at ``low`` 10 days before."""
    rows = []
    for item in promo.skus:
        rows.append((item.sku, promo.window_start - timedelta(days=20), item.list_price_minor))
        rows.append((item.sku, promo.window_start - timedelta(days=10), low))
    return pd.DataFrame(rows, columns=["sku", "observed_at", "price_minor"])


def test_each_planted_violation_is_reported_with_its_sku_and_numbers():
    promo = planted()
    found = campaign.price_violations(skus(promo), history(promo), RULES, promo.window_start)
    errors = found[found["rule"] != "other_discount_before"]   # every SKU was sold at 200 yuan: see below
    by_rule = {(r.sku, r.rule): r for r in errors.itertuples()}
    assert set(by_rule) == {
        ("TOO-DEAR", "price_above_list_share"), ("TOO-DEAR", "price_not_below_history_low"),
        ("NOT-BELOW-LOW", "price_not_below_history_low"),
        ("ODD-COUPON", "coupon_not_multiple"),
        ("BIG-COUPON", "coupon_above_max"), ("BIG-COUPON", "coupon_above_price_share"),
        ("COUPON-SHARE", "coupon_above_price_share"),
    }
    dear = by_rule[("TOO-DEAR", "price_above_list_share")]
    assert (dear.campaign_price_minor, dear.list_price_minor, dear.limit_minor) == (30000, 59900, 29950)
    low = by_rule[("NOT-BELOW-LOW", "price_not_below_history_low")]
    assert (low.campaign_price_minor, low.reference_minor, low.limit_minor) == (20000, 20000, 19999)
    assert low.reference_at == pd.Timestamp(promo.window_start - timedelta(days=10)).tz_convert("UTC")
    odd = by_rule[("ODD-COUPON", "coupon_not_multiple")]
    assert (odd.coupon_minor, odd.limit_minor, odd.severity) == (1200, 500, "error")
    big = by_rule[("BIG-COUPON", "coupon_above_max")]
    assert (big.coupon_minor, big.limit_minor, big.severity) == (25000, 20000, "error")
    share = by_rule[("COUPON-SHARE", "coupon_above_price_share")]
    assert (share.coupon_minor, share.limit_minor, share.severity) == (5000, 3980, "warning")
    # 200 yuan is below every list price: a discount in the month before, for a person to judge
    other = found[found["rule"] == "other_discount_before"]
    assert set(other["sku"]) == {item.sku for item in promo.skus} and set(other["reference_minor"]) == {20000}


def test_the_report_sentence_names_the_sku_and_the_numbers(monkeypatch):
    from config.settings import get_settings
    from flows.promotion import violation_text

    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    get_settings.cache_clear()
    promo = planted()
    found = campaign.price_violations(skus(promo), history(promo), RULES, promo.window_start)
    texts = {(r.sku, r.rule): violation_text(r) for r in found.itertuples()}
    get_settings.cache_clear()
    assert texts[("TOO-DEAR", "price_above_list_share")] == \
        "TOO-DEAR: campaign price 300.00 is above the allowed 299.50 (50 % of list price 599.00)."
    assert texts[("ODD-COUPON", "coupon_not_multiple")] == "ODD-COUPON: coupon 12.00 is not a multiple of 5.00."
    assert "(seen 2026-11-01 00:00)" in texts[("NOT-BELOW-LOW", "price_not_below_history_low")]


def test_history_outside_30_days_and_after_the_window_start_does_not_count():
    promo = planted()
    old = pd.DataFrame([("CLEAN", promo.window_start - timedelta(days=31), 5000),      # too old
                        ("CLEAN", promo.window_start + timedelta(hours=1), 5000),      # the campaign itself
                        ("CLEAN", promo.window_start - timedelta(days=3), 59900)],
                       columns=["sku", "observed_at", "price_minor"])
    found = campaign.price_violations(skus(promo).head(1), old, RULES, promo.window_start)
    assert found.empty, found
    none = campaign.price_violations(skus(promo).head(1), old.iloc[:0], RULES, promo.window_start)
    assert list(none["rule"]) == ["no_price_history"]


def test_readiness_counts_stock_by_the_prep_date_and_the_gift_stock():
    demand = campaign.expected_demand(
        pd.DataFrame({"sku": ["A", "B"], "expected_units": pd.array([1000, None], dtype="Int64")}),
        pd.Series({"B": 12.5}), uplift_factor=8.0, days=1.0)
    assert demand.set_index("sku")["expected_units"].to_dict() == {"A": 1000, "B": 100}   # 12.5 × 8 × 1
    gifts = pd.DataFrame({"buy_sku": ["A"], "gift_sku": ["G"], "gift_quantity": [2]})
    stock = pd.DataFrame({"sku": ["A", "B", "G"], "on_hand": [300, 80, 500], "reserved": [0, 0, 0],
                          "inbound_before_prep": [200, 0, 0], "inbound_after_prep": [900, 0, 0]})
    table = campaign.readiness(demand, gifts, stock, share=0.70).set_index("sku")
    # A: 70 % of 1000 = 700 needed, 300 + 200 ready, the late 900 does not count → 200 short
    assert table.loc["A", ["required_units", "ready_units", "shortfall_units"]].tolist() == [700, 500, 200]
    assert table.loc["B", "shortfall_units"] == 0                      # 70 needed, 80 on hand
    # G: 2 per A sold → 2000 expected, 1400 needed, 500 on hand → 900 short
    assert table.loc["G", ["kind", "required_units", "shortfall_units"]].tolist() == ["gift", 1400, 900]
    terms = pd.DataFrame({"sku": ["A", "G"], "lead_time_days": [10, 5], "case_pack": [10, 20], "moq": [50, 100]})
    short = campaign.shortfall_restock(table.reset_index(), terms, today=date(2026, 11, 5), prep_date=date(2026, 10, 20),
                                       window_start=date(2026, 11, 11), default_lead_time_days=7).set_index("sku")
    assert short.loc["A", ["suggested_qty", "level"]].tolist() == [200, "critical"]   # arrives 11-15, after 11-11
    assert short.loc["G", ["suggested_qty", "level"]].tolist() == [900, "warning"]    # arrives 11-10
    assert short.loc["A", "order_by"] == date(2026, 10, 10)


def test_readiness_counts_available_not_on_hand_stock_owed_to_paid_orders_first():
    # issue 17 #4: a SKU 1,160 units oversold was reported "gap 0, ready" because on hand was counted
    demand = pd.DataFrame({"sku": ["OWED", "PART"], "expected_units": [600, 100],
                           "demand_source": ["expected_units", "expected_units"]})
    stock = pd.DataFrame({"sku": ["OWED", "PART"], "on_hand": [2000, 90], "reserved": [3160, 30],
                          "inbound_before_prep": [100, 0], "inbound_after_prep": [5000, 0]})
    no_gifts = pd.DataFrame({"buy_sku": pd.Series(dtype=str), "gift_sku": pd.Series(dtype=str),
                             "gift_quantity": pd.Series(dtype="int64")})
    table = campaign.readiness(demand, no_gifts, stock, share=0.70).set_index("sku")
    # OWED: available = 2000 − 3160 = −1160; ready = −1160 + 100 due by the prep date = −1060
    #       (the 5000 due after it do not count); required = ceil(0.7 × 600) = 420;
    #       short = 420 − (−1060) = 1480 — on hand alone (2000 + 100 ≥ 420) said "ready"
    assert table.loc["OWED", ["shortfall_units", "ready"]].tolist() == [1480, False]
    assert table.loc["OWED", ["available", "ready_units", "required_units"]].tolist() == [-1160, -1060, 420]
    # PART: 90 − 30 = 60 available; required ceil(0.7 × 100) = 70 → 10 short (on hand 90 looked ready)
    assert table.loc["PART", "shortfall_units"] == 10 and table.loc["PART", "available"] == 60


def test_baseline_is_the_same_weekday_of_the_four_prior_weeks():
    start = datetime(2026, 11, 11, tzinfo=timezone(timedelta(hours=8)))
    periods = campaign.baseline_periods(start, start + timedelta(days=1), "Asia/Shanghai", 4)
    assert [p[0].date().isoformat() for p in periods] == ["2026-11-04", "2026-10-28", "2026-10-21", "2026-10-14"]
    assert all(p[0].weekday() == start.weekday() and p[1] - p[0] == timedelta(days=1) for p in periods)
    day = {"orders": 10, "units": 12, "revenue_minor": 100000, "aov_minor": 10000, "refund_rate": 0.1,
           "stock_outs": 0, "late_shipments": 1}
    days = [day, day, {**day, "orders": 30, "revenue_minor": 300000, "refund_rate": 0.0}, day]
    shop = {"orders": 120, "units": 150, "revenue_minor": 1500000, "aov_minor": 12500, "refund_rate": 0.2,
            "stock_outs": 1, "late_shipments": 3}
    table = campaign.compare_with_baseline(shop, days, days_per_week=1).set_index("metric")
    # baseline orders (10+10+30+10)/4 = 15 → uplift 8; revenue 600000/4 = 150000 → 10; AOV 150000/15
    assert table.loc["orders", ["baseline", "uplift"]].tolist() == [15, 8.0]
    assert table.loc["revenue_minor", "uplift"] == 10.0 and table.loc["aov_minor", "baseline"] == 10000
    assert table.loc["refund_rate", "baseline"] == pytest.approx(3 / 60)      # 3 refunded orders of 60
    assert pd.isna(table.loc["stock_outs", "uplift"])                         # baseline 0: no ratio


@pytest.mark.parametrize("status, phase, allowed, repeat, after", [
    ("defined", "prepare", True, False, "prepared"), ("prepared", "prepare", True, True, "prepared"),
    ("defined", "start", False, False, None), ("prepared", "start", True, False, "running"),
    ("running", "start", True, True, "running"), ("prepared", "report", False, False, None),
    ("running", "report", True, True, "running"), ("running", "prepare", False, False, None),
    ("running", "close", True, False, "closed"), ("closed", "close", True, True, "closed"),
    ("closed", "start", False, False, None), ("closed", "report", True, True, "closed"),
])
def test_phases_in_order_may_repeat_and_out_of_order_are_refused(status, phase, allowed, repeat, after):
    step = campaign.phase_step(status, phase)
    assert (step.allowed, step.repeat, step.status_after) == (allowed, repeat, after)
    if not allowed:
        from shopops.i18n import MESSAGES

        assert step.refusal == f"pr_refuse_{phase}_{status}" and step.refusal in MESSAGES
