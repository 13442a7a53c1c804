"""The restock formula of §3 on SKUs whose numbers are worked out by hand in the comments."""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from domain.restock import RestockRules, apply_cooldown, classify_abc, round_to_order, suggest_restock

TODAY = date(2026, 11, 23)     # the 28-day history is Oct 26 … Nov 22; today is not over yet
HISTORY = [TODAY - timedelta(days=n) for n in range(1, 29)]
#: §3 as written (mean and sample σ): the hand-worked figures below use it
RULES = RestockRules(demand_history_days=28, abc_window_days=90, abc_thresholds={"A": 0.80, "B": 0.95},
                     service_level_z={"A": 1.96, "B": 1.65, "C": 1.28}, review_days=7, default_lead_time_days=7,
                     overstock_cover_days=90, demand_method="mean", demand_trim_share=0.10, demand_sigma="std")
RULES_YAML = Path(__file__).resolve().parents[2] / "config" / "rules.yaml"


def sales(*rows):
    """rows: (sku, day, units, revenue_minor)"""
    return pd.DataFrame(rows, columns=["sku", "day", "units", "revenue_minor"])


def every_day(sku, units, revenue_minor=0):
    return [(sku, day, units, revenue_minor) for day in HISTORY]


def terms(*rows):
    """rows: (sku, lead_time_days, case_pack, moq)"""
    return pd.DataFrame(rows, columns=["sku", "lead_time_days", "case_pack", "moq"])


def stock(*rows):
    """rows: (sku, available, in_transit)"""
    return pd.DataFrame(rows, columns=["sku", "available", "in_transit"])


#: what rules.yaml ships: the robust estimate (issue 23 #11)
ROBUST = replace(RULES, demand_method="winsorised", demand_trim_share=0.10, demand_sigma="std")


def test_rules_come_from_the_restock_block_of_rules_yaml():
    block = yaml.safe_load(RULES_YAML.read_text(encoding="utf-8"))["restock"]
    assert RestockRules.from_config(block) == ROBUST


# One spike day (a wholesale order, a promotion nobody entered) in a steady history: 27 days of
# 28 to 32 units (30 on average) and one day of 2 100. §3's plain mean gives d 104 and σ 391,
# and with a 14-day lead time SS = 1.96 × 391 × √14 ≈ 2 870 and S ≈ 104 × 21 + 2 870 ≈ 5 040:
# an order of 5–6k units for a SKU that sells 30 a day (the demo's σ 400 against d 103).
SPIKE_DAY = HISTORY[5]
STEADY = [28, 29, 30, 31, 32] * 6


def spike_history(sku="SPIKE"):
    return sales(*[(sku, day, 2100 if day == SPIKE_DAY else STEADY[n], 3000) for n, day in enumerate(HISTORY)])


def test_one_spike_day_does_not_blow_up_the_suggestion():
    held, catalogue = stock(("SPIKE", 0, 0)), terms(("SPIKE", 14, 10, 10))

    row = suggest_restock(spike_history(), held, catalogue, ROBUST, TODAY).iloc[0]

    # winsorised: sold on all 28 days → k = ⌊28 × 0.10⌋ = 2 highest days set to the third highest
    # (32), so d is the steady days' level and σ their own spread
    assert row["demand_method"] == "winsorised 10%/std"
    assert 29 <= row["daily_demand"] <= 31 and row["demand_sigma"] < 2
    # S = d × (14 + 7) + SS ≈ 30 × 21 + 1.96 × 1.4 × √14 ≈ 640; nothing held → about 640
    assert row["level"] == "critical" and 600 <= row["suggested_qty"] <= 700


def test_the_plain_mean_switch_reproduces_the_old_figure():
    held, catalogue = stock(("SPIKE", 0, 0)), terms(("SPIKE", 14, 10, 10))

    row = suggest_restock(spike_history(), held, catalogue, RULES, TODAY).iloc[0]

    steady = [STEADY[n] for n, day in enumerate(HISTORY) if day != SPIKE_DAY]
    plain = pd.Series(steady + [2100])
    assert row["demand_method"] == "mean/std"
    assert row["daily_demand"] == pytest.approx(plain.mean(), abs=1e-6)      # 104.0
    assert row["demand_sigma"] == pytest.approx(plain.std(ddof=1), abs=1e-6)  # 391.2
    # SS = 1.96 × 391.2 × √14, S = 104 × 21 + SS ≈ 5 053 → 506 cases of 10: the 5–6k
    ss = 1.96 * plain.std(ddof=1) * 14 ** 0.5
    assert row["suggested_qty"] == math.ceil((plain.mean() * 21 + ss) / 10) * 10 == 5060


@pytest.mark.parametrize("method, share, sigma, d, spread", [
    # days 1 … 9 and a spike of 100 (n 10, k = ⌊10 × 0.2⌋ = 2)
    ("mean", 0.2, "std", 14.5, None),
    ("median", 0.2, "mad", 5.5, 1.4826 * 2.5),          # |x − 5.5| = 4.5 3.5 2.5 1.5 .5 .5 1.5 2.5 3.5 94.5 → median 2.5
    ("trimmed_mean", 0.2, "std", 5.5, None),            # kept 3 … 8
    ("winsorised", 0.2, "std", 5.2, None),              # 10 selling days → the 2 highest set to 8: 52 / 10
])
def test_each_demand_method_by_hand(method, share, sigma, d, spread):
    from domain.restock import demand_estimate

    days = np.array([[1], [2], [3], [4], [5], [6], [7], [8], [9], [100]], dtype=float)
    got_d, got_sigma = demand_estimate(days, method, share, sigma)
    assert got_d[0] == pytest.approx(d)
    if spread is not None:
        assert got_sigma[0] == pytest.approx(spread)
    if method == "winsorised":
        assert got_sigma[0] == pytest.approx(pd.Series([1, 2, 3, 4, 5, 6, 7, 8, 8, 8]).std(ddof=1))


@pytest.mark.parametrize("selling, d", [
    ([5, 5], 10 / 28),          # a slow mover sold on 2 days of 28: the highest set to the next highest, 5
    ([7], 7 / 28),              # sold on one day: nothing to compare it with, left as it is
    ([3, 2100], 6 / 28),        # two days, one a spike: clipped to 3
    ([2] * 19 + [90], 40 / 28),  # 20 selling days → the 2 highest set to the third highest
])
def test_winsorising_clips_only_the_top_so_slow_movers_keep_their_demand(selling, d):
    from domain.restock import demand_estimate

    days = np.array([[0.0]] * (28 - len(selling)) + [[float(u)] for u in selling])
    got_d, _ = demand_estimate(days, "winsorised", 0.10, "std")
    assert got_d[0] == pytest.approx(d)
    # the symmetric methods give such a SKU no demand at all (documented in rules.yaml)
    if len(selling) <= 2:
        assert demand_estimate(days, "median", 0.10, "mad")[0][0] == 0


def test_a_bad_demand_method_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="median, trimmed_mean, winsorised"):
        replace(RULES, demand_method="average")


def test_a_sku_computed_by_hand():
    # 6 units every other day (14 days), nothing sold on the other 14 — missing days are zeros:
    #   d = 14 × 6 / 28 = 3
    #   σ (n − 1) = √((14 × (6 − 3)² + 14 × (0 − 3)²) / 27) = √(252 / 27) = √9.3333 = 3.055050
    # the only SKU, so class A: z = 1.96; L = 4 → √L = 2; R = 7
    #   SS  = 1.96 × 3.055050 × 2 = 11.975796
    #   ROP = 3 × 4 + 11.975796 = 23.975796
    #   S   = 3 × (4 + 7) + 11.975796 = 44.975796
    # position = 15 available + 5 in transit = 20 <= ROP → alert; cover 20 / 3 = 6.67 days >= L → warning
    #   raw = 44.975796 − 20 = 24.975796 → whole cases of 12: ceil(2.08) = 3 cases = 36 (>= MOQ 30)
    history = sales(*[("HAND", day, 6, 1800) for day in HISTORY[::2]],
                    ("HAND", TODAY, 100, 30000),                       # today: not in the history
                    ("HAND", TODAY - timedelta(days=29), 100, 30000))  # 29 days ago: outside the 28

    rows = suggest_restock(history, stock(("HAND", 15, 5)), terms(("HAND", 4, 12, 30)), RULES, TODAY)

    row = rows.iloc[0]
    assert len(rows) == 1 and row["level"] == "warning" and row["abc_class"] == "A" and row["z"] == 1.96
    assert row["daily_demand"] == 3
    assert row["demand_sigma"] == pytest.approx(3.055050, abs=1e-6)
    assert row["safety_stock"] == pytest.approx(11.975796, abs=1e-5)
    assert row["reorder_point"] == pytest.approx(23.975796, abs=1e-5)
    assert row["order_up_to"] == pytest.approx(44.975796, abs=1e-5)
    terms_used = ("lead_time_days", "review_days", "available", "in_transit", "position", "case_pack", "moq")
    assert tuple(row[term] for term in terms_used) == (4, 7, 15, 5, 20, 12, 30)
    assert row["cover_days"] == pytest.approx(20 / 3, abs=1e-6)
    assert row["raw_qty"] == pytest.approx(24.975796, abs=1e-5)
    assert row["suggested_qty"] == 36
    assert row["reason"] == ("warning: 15 available + 5 in transit at or below the reorder point 23.9758; "
                             "order 36 (S 44.9758 − 20 = 24.9758, whole cases of 12, MOQ 30)")

    # the same SKU with an MOQ of 48: 36 would be under it → 48 (4 cases of 12)
    with_big_moq = suggest_restock(history, stock(("HAND", 15, 5)), terms(("HAND", 4, 12, 48)), RULES, TODAY)
    assert with_big_moq.iloc[0]["suggested_qty"] == 48


@pytest.mark.parametrize("raw, case_pack, moq, ordered", [
    (24.975796, 12, 30, 36),   # ceil(24.98 / 12) = 3 cases = 36, above the MOQ
    (24.975796, 12, 48, 48),   # MOQ 48 wins: 4 cases
    (40.0, 10, 1, 40),         # exactly 4 cases stays 40
    (0.0, 10, 25, 30),         # MOQ 25 is not whole cases: 3 cases of 10
    (1.0, 1, 1, 1),
])
def test_rounding_to_case_packs_and_moq(raw, case_pack, moq, ordered):
    assert round_to_order(raw, case_pack, moq) == ordered


def test_each_level():
    # 2 units every day: d = 2, σ = 0 → SS = 0 whatever the class; L = 10, R = 7
    #   ROP = 2 × 10 = 20; S = 2 × 17 = 34; cover = position / 2; overstock above 90 days (180 units)
    selling = ["CRIT", "OVERSOLD", "WARN", "FINE", "OVER", "EDGE90"]
    history = sales(*[row for sku in selling for row in every_day(sku, 2)])
    held = stock(
        ("CRIT", 15, 0),       # cover 7.5 < L 10 → critical; order 34 − 15 = 19
        ("OVERSOLD", -4, 0),   # cover −2 < 10 → critical; order 34 + 4 = 38
        ("WARN", 12, 8),       # position 20: cover 10 is not < 10, but 20 <= ROP 20 → warning; order 14
        ("FINE", 21, 0),       # 21 > ROP, cover 10.5 <= 90 → nothing
        ("OVER", 182, 0),      # cover 91 > 90 → overstock, order nothing
        ("EDGE90", 180, 0),    # cover 90 is not above 90 → nothing
        ("DEAD", 5, 0),        # no sales at all, stock left → overstock (滞销)
        ("GONE", 0, 0),        # no sales, no stock → nothing to say
    )
    catalogue = terms(*[(sku, 10, 1, 1) for sku in [*selling, "DEAD", "GONE"]])

    rows = suggest_restock(history, held, catalogue, RULES, TODAY)

    assert list(zip(rows["sku"], rows["level"], rows["suggested_qty"])) == [   # worst first
        ("CRIT", "critical", 19), ("OVERSOLD", "critical", 38), ("WARN", "warning", 14),
        ("DEAD", "overstock", 0), ("OVER", "overstock", 0)]
    reasons = dict(zip(rows["sku"], rows["reason"]))
    assert "covers 7.5 days, less than the 10-day lead time" in reasons["CRIT"]
    assert reasons["DEAD"].startswith("overstock (滞销): 5 available + 0 in transit, no sales")
    assert "91.0 days of cover at 2/day, above 90 days" in reasons["OVER"]


def test_a_blank_lead_time_takes_the_default():
    # d = 2, L = default 7: ROP = 14; position 13 → cover 6.5 < 7 → critical
    rows = suggest_restock(sales(*every_day("X", 2)), stock(("X", 13, 0)), terms(("X", None, 1, 1)), RULES, TODAY)
    assert (rows.iloc[0]["lead_time_days"], rows.iloc[0]["reorder_point"], rows.iloc[0]["level"]) == (7, 14, "critical")


def test_campaign_days_are_brought_back_to_a_normal_day_by_their_uplift():
    # 2 units a day, and 16 on Double 11 (uplift 8)
    history = sales(*[("X", day, 16 if day == date(2026, 11, 11) else 2, 0) for day in HISTORY])
    uplift = pd.Series({date(2026, 11, 11): 8.0})

    # with the uplift: 16 / 8 = 2 → every day 2: d = 2, σ = 0 → ROP = 2 × 10 = 20; position 20 → warning
    rows = suggest_restock(history, stock(("X", 20, 0)), terms(("X", 10, 1, 1)), RULES, TODAY, uplift)
    assert (rows.iloc[0]["daily_demand"], rows.iloc[0]["demand_sigma"], rows.iloc[0]["reorder_point"]) == (2, 0, 20)

    # without it: d = (27 × 2 + 16) / 28 = 70 / 28 = 2.5 — the spike would inflate every order after it
    rows = suggest_restock(history, stock(("X", 20, 0)), terms(("X", 10, 1, 1)), RULES, TODAY)
    assert rows.iloc[0]["daily_demand"] == 2.5


def test_a_campaign_uplift_applies_to_its_skus_in_its_shops_only():
    # issue 17 #5 — Double 11 (uplift 8) promoted X in tmall only:
    #   X in tmall: 2 a day, 16 on 11-11 → 16 / 8 = 2; X in amazon (not a campaign shop): 3 every day, 11-11 too;
    #   Y (not promoted) in tmall: 2 every day, 11-11 too. Both left as sold.
    double11 = date(2026, 11, 11)
    rows = []
    for day in HISTORY:
        rows += [("X", "tmall", day, 16 if day == double11 else 2), ("X", "amazon", day, 3), ("Y", "tmall", day, 2)]
    history = pd.DataFrame(rows, columns=["sku", "shop_id", "day", "units"]).assign(revenue_minor=0)
    uplift = pd.DataFrame({"day": [double11], "sku": ["X"], "shop_id": ["tmall"], "uplift_factor": [8.0]})
    held = stock(("X", 0, 0), ("Y", 0, 0))                     # nothing in stock: both alert, with their d
    rows = suggest_restock(history, held, terms(("X", 10, 1, 1), ("Y", 10, 1, 1)), RULES, TODAY, uplift).set_index("sku")
    # X: 2 + 3 = 5 every day → d = 5, σ = 0. Dividing the whole day by 8 gave 11-11 (16 + 3) / 8 = 2.375:
    #    d = (27 × 5 + 2.375) / 28 = 4.90625
    assert (rows.loc["X", "daily_demand"], rows.loc["X", "demand_sigma"]) == (5, 0)
    # Y: 2 every day → d = 2, σ = 0 (divided, 11-11 would be 0.25: d = (27 × 2 + 0.25) / 28 = 1.9375)
    assert (rows.loc["Y", "daily_demand"], rows.loc["Y", "demand_sigma"]) == (2, 0)


def test_abc_boundaries():
    # revenue 50, 30, 10, 5, 5 of 100; share of the SKUs ranked above each: 0, .50, .80, .90, .95
    #   A while that share < .80; B while < .95; C from .95 — exactly .80 is B, exactly .95 is C;
    #   d and e tie at 5: ranked by SKU, so d is B and e is C
    classes = classify_abc(pd.Series({"e": 5, "c": 10, "a": 50, "d": 5, "b": 30}), RULES.abc_thresholds)
    assert classes["abc_class"].to_dict() == {"e": "C", "c": "B", "a": "A", "d": "B", "b": "A"}
    assert classes.loc["c", "revenue_share_before"] == 0.80

    # one SKU with 85 % of the revenue is still A (nothing above it), the next is B
    assert classify_abc(pd.Series({"big": 85, "small": 15}), RULES.abc_thresholds)["abc_class"].tolist() == ["A", "B"]
    # no revenue at all: all C
    assert set(classify_abc(pd.Series({"x": 0, "y": 0}), RULES.abc_thresholds)["abc_class"]) == {"C"}


def test_abc_counts_the_last_90_days_only():
    # OLD earned more, but 91 days ago (outside Aug 25 … Nov 22); NEW earned a little on Aug 25 (inside)
    history = sales(("OLD", TODAY - timedelta(days=91), 1, 1_000_000), ("NEW", TODAY - timedelta(days=90), 1, 100))
    # neither sold in the last 28 days and both hold stock → overstock rows, which carry the class
    rows = suggest_restock(history, stock(("OLD", 5, 0), ("NEW", 5, 0)), terms(("OLD", 7, 1, 1), ("NEW", 7, 1, 1)),
                           RULES, TODAY)
    assert dict(zip(rows["sku"], rows["abc_class"])) == {"NEW": "A", "OLD": "C"}


NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def test_cooldown_holds_back_repeats_and_lets_worse_levels_through():
    alerts = pd.DataFrame([
        ("SAME", "warning"),         # warning 2 h ago → held back
        ("WORSE", "critical"),       # warning 2 h ago, now critical → sent
        ("BETTER", "warning"),       # critical 1 h ago, now only warning → held back
        ("OVERSTOCK", "overstock"),  # warning 1 h ago: overstock is milder → held back
        ("COOLED", "warning"),       # warning 25 h ago: cooldown of 24 h over → sent
        ("EXACT", "warning"),        # warning exactly 24 h ago: over → sent
        ("NEW", "warning"),          # never alerted → sent
    ], columns=["sku", "level"])
    last_sent = pd.DataFrame([
        ("SAME", "warning", NOW - timedelta(hours=2)),
        ("WORSE", "warning", NOW - timedelta(hours=2)),
        ("BETTER", "critical", NOW - timedelta(hours=1)),
        ("OVERSTOCK", "warning", NOW - timedelta(hours=1)),
        ("COOLED", "warning", NOW - timedelta(hours=25)),
        ("EXACT", "warning", NOW - timedelta(hours=24)),
    ], columns=["sku", "level", "last_sent_at"])

    judged = apply_cooldown(alerts, last_sent, NOW, timedelta(hours=24))

    assert dict(zip(judged["sku"], judged["send"])) == {
        "SAME": False, "WORSE": True, "BETTER": False, "OVERSTOCK": False, "COOLED": True, "EXACT": True, "NEW": True}
    reasons = dict(zip(judged["sku"], judged["send_reason"]))
    assert reasons["WORSE"] == "worse than the last alert: warning → critical"
    assert reasons["SAME"] == "held back: warning already sent at 2026-11-23 16:00, within the cooldown"
    assert reasons["NEW"] == "first alert for this SKU"
    assert reasons["COOLED"].startswith("cooldown over")


def alternating(sku, high, low, revenue_minor):
    """high units on the even days of the history, low on the odd ones (14 days each):
    d = (high + low) / 2; σ (n − 1) = |high − low| / 2 × √(28 / 27) = |high − low| / 2 × 1.0183502"""
    return [(sku, day, high if n % 2 == 0 else low, revenue_minor) for n, day in enumerate(HISTORY)]


def test_ten_skus_worked_by_hand():
    # Revenue per day over the 28 days (the 90-day window holds only these): 10 000 in all.
    #   rank  SKU  revenue/day  share  share of the SKUs above → class (A < 0.80 ≤ B < 0.95 ≤ C)
    #    1    S01     5000      0.50          0.00  → A  z 1.96
    #    2    S02     2500      0.25          0.50  → A
    #    3    S03     1000      0.10          0.75  → A  (75 % above it: still under 80 %)
    #    4    S04      500      0.05          0.85  → B  z 1.65
    #    5    S05      400      0.04          0.90  → B
    #    6    S06      300      0.03          0.94  → B
    #    7    S07      150      0.015         0.97  → C  z 1.28
    #    8    S08      100      0.01          0.985 → C
    #    9    S09       50      0.005         0.995 → C
    #   10    S10        0      0             1.00  → C  (no sales)
    history = sales(*alternating("S01", 12, 8, 5000), *every_day("S02", 5, 2500), *every_day("S03", 2, 1000),
                    *alternating("S04", 6, 2, 500), *every_day("S05", 1, 400), *every_day("S06", 1, 300),
                    *alternating("S07", 3, 1, 150), *alternating("S08", 1, 0, 100), *every_day("S09", 1, 50))
    catalogue = terms(("S01", 9, 10, 50), ("S02", 4, 6, 10), ("S03", 10, 1, 1), ("S04", 4, 12, 24),
                      ("S05", 7, 5, 1), ("S06", 7, 1, 1), ("S07", 16, 1, 40), ("S08", 7, 4, 1),
                      ("S09", 7, 1, 1), ("S10", 7, 1, 1))
    held = stock(("S01", 60, 30), ("S02", 12, 0), ("S03", 100, 0), ("S04", 20, 0), ("S05", 3, 4), ("S06", 95, 0),
                 ("S07", 30, 0), ("S08", 0, 0), ("S09", 20, 0), ("S10", 30, 0))
    # R = 7 for every SKU. SS = z σ √L, ROP = d L + SS, S = d (L + R) + SS, position = available + in transit.
    # S01 A: d 10, σ 2 × 1.0183502 = 2.036700, L 9 → SS 1.96 × 2.0367 × 3 = 11.975798
    #        ROP 90 + 11.975798 = 101.975798; S 160 + 11.975798 = 171.975798; position 60 + 30 = 90,
    #        cover 9.0 is not < L 9, but 90 <= ROP → warning; 171.975798 − 90 = 81.975798 → 9 cases of 10 = 90
    # S02 A: d 5, σ 0, L 4 → SS 0, ROP 20, S 55; position 12, cover 2.4 < 4 → critical;
    #        55 − 12 = 43 → ceil(43 / 6) = 8 cases of 6 = 48 (>= MOQ 10)
    # S03 A: d 2, L 10 → ROP 20; position 100, cover 50 ≤ 90 → nothing to say
    # S04 B: d 4, σ 2.036700, L 4 → SS 1.65 × 2.0367 × 2 = 6.721111; ROP 16 + 6.721111 = 22.721111;
    #        S 44 + 6.721111 = 50.721111; position 20, cover 5 ≥ 4, 20 <= ROP → warning;
    #        50.721111 − 20 = 30.721111 → ceil(2.56) = 3 cases of 12 = 36 (>= MOQ 24)
    # S05 B: d 1, L 7 → ROP 7, S 14; position 3 + 4 = 7, cover 7 = L, 7 <= 7 → warning; 14 − 7 = 7 → 2 cases of 5 = 10
    # S06 B: d 1; position 95 → cover 95 > 90 → overstock, order nothing
    # S07 C: d 2, σ 1 × 1.0183502 = 1.018350, L 16 → SS 1.28 × 1.01835 × 4 = 5.213953; ROP 32 + 5.213953 =
    #        37.213953; S 46 + 5.213953 = 51.213953; position 30, cover 15 < 16 → critical;
    #        51.213953 − 30 = 21.213953 → MOQ 40 wins → 40
    # S08 C: d 0.5, σ 0.5 × 1.0183502 = 0.509175, L 7 → SS 1.28 × 0.509175 × √7 (2.645751) = 1.724353;
    #        ROP 3.5 + 1.724353 = 5.224353; S 7 + 1.724353 = 8.724353; position 0, cover 0 < 7 → critical;
    #        8.724353 → ceil(2.18) = 3 cases of 4 = 12
    # S09 C: d 1, L 7 → ROP 7; position 20, cover 20 → nothing
    # S10 C: no sales, 30 units → overstock (滞销), order nothing

    rows = suggest_restock(history, held, catalogue, RULES, TODAY).set_index("sku")

    assert list(rows.index) == ["S02", "S07", "S08", "S01", "S04", "S05", "S06", "S10"]   # worst level first
    expected = {   # sku: (level, ABC, z, d, σ, SS, ROP, S, suggested)
        "S01": ("warning", "A", 1.96, 10, 2.036700, 11.975798, 101.975798, 171.975798, 90),
        "S02": ("critical", "A", 1.96, 5, 0, 0, 20, 55, 48),
        "S04": ("warning", "B", 1.65, 4, 2.036700, 6.721111, 22.721111, 50.721111, 36),
        "S05": ("warning", "B", 1.65, 1, 0, 0, 7, 14, 10),
        "S06": ("overstock", "B", 1.65, 1, 0, 0, 7, 14, 0),
        "S07": ("critical", "C", 1.28, 2, 1.018350, 5.213953, 37.213953, 51.213953, 40),
        "S08": ("critical", "C", 1.28, 0.5, 0.509175, 1.724353, 5.224353, 8.724353, 12),
        "S10": ("overstock", "C", 1.28, 0, 0, 0, 0, 0, 0),
    }
    for sku, (level, abc, z, d, sigma, ss, rop, s, qty) in expected.items():
        row = rows.loc[sku]
        assert (row["level"], row["abc_class"], row["z"], row["suggested_qty"]) == (level, abc, z, qty), sku
        assert row[["daily_demand", "demand_sigma", "safety_stock", "reorder_point", "order_up_to"]].tolist() == \
            pytest.approx([d, sigma, ss, rop, s], abs=2e-6), sku
    # the classes of the two SKUs with nothing to say, from the same ranking
    abc = classify_abc(pd.Series({"S01": 5000, "S02": 2500, "S03": 1000, "S04": 500, "S05": 400, "S06": 300,
                                  "S07": 150, "S08": 100, "S09": 50, "S10": 0}), RULES.abc_thresholds)
    assert abc["abc_class"].tolist() == ["A", "A", "A", "B", "B", "B", "C", "C", "C", "C"]


def test_alert_message_in_each_webhook_format_carries_the_alert_and_nothing_else(english):
    from shopops.notifications import webhook_body
    from tasks.stock import ALERT_MESSAGE_MAX_LINES, alert_message_lines

    sent = pd.DataFrame([{"sku": "S02", "name": "羽绒服", "supplier": "hz-apparel", "level": "critical",
                          "reason": "critical: 12 available + 0 in transit covers 2.4 days; order 48"}])
    text = "\n".join(alert_message_lines(sent, "en"))
    assert text == "- **critical** S02 羽绒服 (hz-apparel): critical: 12 available + 0 in transit covers 2.4 days; order 48"

    assert webhook_body("generic", "Restock", text) == {"source": "shopops", "title": "Restock", "text": text}
    assert webhook_body("dingtalk", "Restock", text) == {
        "msgtype": "markdown", "markdown": {"title": "Restock", "text": "### Restock\n\n" + text}}
    assert webhook_body("wecom", "Restock", text) == {"msgtype": "markdown",
                                                      "markdown": {"content": "**Restock**\n\n" + text}}
    with pytest.raises(ValueError, match="slack"):
        webhook_body("slack", "Restock", text)

    many = pd.concat([sent] * (ALERT_MESSAGE_MAX_LINES + 5), ignore_index=True)
    lines = alert_message_lines(many, "en")
    assert len(lines) == ALERT_MESSAGE_MAX_LINES + 1 and lines[-1] == "- … 5 more in the run's report"
    assert alert_message_lines(sent, "zh_CN")[0].startswith("- **紧急** S02 羽绒服")


def test_first_day_overstock_comes_as_one_line_naming_the_skus():
    # the demo's first day: every slow mover is a first alert at once — 95 overstock, 2 critical
    from tasks.stock import alert_message_lines

    critical = [{"sku": f"C{n}", "name": "", "supplier": "s", "level": "critical", "reason": "covers 1.0 days"}
                for n in (1, 2)]
    slow = [{"sku": f"OV{n:03d}", "name": "滞销品", "supplier": "s", "level": "overstock",
             "reason": f"overstock (滞销): {n} available"} for n in range(95)]
    sent = pd.DataFrame(critical + slow)

    lines = alert_message_lines(sent, "zh_CN")

    assert len(lines) == 3                                     # 2 critical + 1 overstock summary, not 97
    assert lines[:2] == ["- **紧急** C1  (s): covers 1.0 days", "- **紧急** C2  (s): covers 1.0 days"]
    summary = lines[2]
    assert summary.startswith("- **滞销**：95 个 SKU") and "OV000, OV001" in summary and summary.endswith("OV094")
    assert all(f"OV{n:03d}" in summary for n in range(95)) and "available" not in summary
    # more than a message can name: the rest are counted and left to the report
    many = pd.DataFrame([{**slow[0], "sku": f"X{n:03d}"} for n in range(130)])
    assert alert_message_lines(many, "en") == [
        "- **overstock (滞销)**: 130 SKU(s) with more than the overstock cover, nothing to order — consider a "
        "promotion or stopping purchases: " + ", ".join(f"X{n:03d}" for n in range(100)) + " … and 30 more (see the report)"]
