"""Monthly settlement (domain-rules.md §5) on a hand-checked department, and its input files.

The department (files in tests/data/settlement/, founded 2026-10-01):
    M1 王芳  manager            every shop
    O1 李雷  operations         tmall (share 0.6), taobao-c (alone, share 1)
    O2 赵敏  operations         tmall (share 0.4), left 2026-10-20
    C1 陈静  customer service   serves tmall and taobao-c; personal target 50,000
Shops (yuan; targets 100,000 / 50,000 / 20,000 every month; expenses 20,000 / 10,000 / 4,000):
    tmall     own           placed 100,000  refunds 5,000  cost of goods 55,800
    taobao-c  own           placed  40,000  refunds     0  cost of goods 28,000
    dist-1    distribution  placed  41,000  refunds 1,000  cost of goods 28,000
In October tmall also refunds 2,000 for a September order (September is final): a late
refund. Customer-service attributed sales: Oct 60,000, Nov 30,000, Dec 45,000.
Every expected figure below is worked out by hand in the comment beside it.
"""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from config.schema import load_config
from domain.settlement import (PerformancePayPlan, SettlementError, SettlementRules, closes_fiscal_year,
                               diff_versions, inputs_sha256, inputs_snapshot, line_figures, plan_from_config,
                               settle_month, shop_month_figures, shown, store_kpis, to_fen)
from domain.settlement_inputs import SettlementInputError, load_inputs

DATA = Path(__file__).parents[1] / "data" / "settlement"
FILES = dict(roster=DATA / "roster.csv", targets=DATA / "targets.csv", expenses=DATA / "expenses.csv",
             cs_stats=DATA / "cs_stats.csv", shop_channels=DATA / "shop_channels.csv")
CONFIG = load_config(Path(__file__).parents[2] / "config").rules.settlement
RULES = SettlementRules.from_config(CONFIG)                  # cap 1.5, margin 40 %, ratio 1.5, clawback
SEED = plan_from_config("seed_commission", CONFIG.presets["seed_commission"])
PAY = plan_from_config("plan_performance_pay", CONFIG.presets["plan_performance_pay"])


def yuan(amount: str | int) -> int:
    return int(Decimal(str(amount)) * 100)


def sales_frame() -> pd.DataFrame:
    """What the warehouse would give: per shop and month, in fen."""
    rows = []
    for month in ("2026-10", "2026-11", "2026-12"):
        late_tmall = 2000 if month == "2026-10" else 0
        for shop, placed, refunded, late, cost in (("tmall", 100000, 5000, late_tmall, 55800),
                                                   ("taobao-c", 40000, 0, 0, 28000),
                                                   ("dist-1", 41000, 1000, 0, 28000)):
            rows.append(dict(month=month, shop_id=shop, placed_minor=yuan(placed), refunded_minor=yuan(refunded),
                             late_refunded_minor=yuan(late), cost_of_goods_minor=yuan(cost)))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def inputs():
    return load_inputs(**FILES)


def with_cs_sales(inputs, month: str, amount: str):
    stats = inputs.cs_stats.copy()
    stats.loc[stats["month"] == month, "attributed_sales_minor"] = yuan(amount)
    return dataclasses.replace(inputs, cs_stats=stats)


def line_of(settlement, person_id):
    return next(line for line in settlement.lines if line.person_id == person_id)


def component(line, name):
    return next(c for c in line.components if c.name == name)


# --- the hand-checked month ------------------------------------------------------------------

def test_october_hand_checked(inputs):
    october = settle_month("2026-10", inputs, sales_frame(), RULES, SEED)
    shops = october.shops.set_index("shop_id")
    # clawback: tmall 100,000 − 5,000 − late 2,000 = 93,000, the late refund in its own column
    assert shops.loc["tmall", ["late_refunded_minor", "revenue_minor"]].tolist() == [yuan(2000), yuan(93000)]
    assert shops["revenue_minor"].to_dict() == {"dist-1": yuan(40000), "taobao-c": yuan(40000), "tmall": yuan(93000)}

    # M1 manager, revenue 93,000 + 40,000 + 40,000 = 173,000
    #   distribution: 40,000 / 20,000 = 2.0 → capped at 1.5
    #   own shops: 133,000 / 150,000 = 0.886666…
    #   profitability: gross profit (37,200 + 12,000 + 12,000) / expenses 34,000 = 1.8; / 1.5 = 1.2
    #   coefficient 0.3 × 1.5 + 0.5 × 0.886666… + 0.2 × 1.2 = 1.133333…
    #   commission 17,300,000 fen × 1 % × 1.133333… = 196,066.67 → 196,067 fen
    manager = line_of(october, "M1")
    cap = component(manager, "distribution_target")
    assert (cap.measure, cap.score) == (Decimal(2), Decimal("1.5"))
    assert component(manager, "profitability").score == Decimal("1.2")
    assert shown(manager.coefficient) == Decimal("1.1333")
    assert (manager.revenue_minor, manager.commission_minor) == (yuan(173000), 196067)
    # rounding the coefficient first would pay 173,000 × 1.1333 = 196,060.90 → 196,061: money is rounded once
    assert to_fen(Decimal(manager.revenue_minor) * Decimal("0.01") * shown(manager.coefficient)) == 196061

    # O1 operations, revenue 0.6 × 93,000 + 40,000 = 95,800 (O2's 0.4 of tmall is not handed over)
    #   target: 95,800 / (0.6 × 100,000 + 50,000) = 0.870909…
    #   profitability: (37,200 + 12,000) / 30,000 = 1.64; / 1.5 = 1.093333…
    #   coefficient 0.6 × 0.870909… + 0.4 × 1.093333… = 0.522545… + 0.437333… = 0.959878…
    #   commission 9,580,000 × 1.5 % × 0.959878… = 137,934.58 → 137,935 fen
    operations = line_of(october, "O1")
    assert shown(operations.coefficient) == Decimal("0.9599")
    assert (operations.revenue_minor, operations.commission_minor) == (yuan(95800), 137935)

    # O2 left on 2026-10-20: no commission, no scores, flagged
    leaver = line_of(october, "O2")
    assert (leaver.commission_minor, leaver.coefficient, leaver.components) == (0, None, ())
    assert [f.kind for f in leaver.flags] == ["left_within_period"]

    # C1 customer service, attributed 60,000 vs personal 50,000 = 1.2
    #   margin of tmall + taobao-c: 49,200 / 133,000 = 0.369925 < 40 % → score 0.369925 / 0.4 = 0.924812
    #   coefficient 0.6 × 1.2 + 0.4 × 0.924812… = 1.089925…
    #   commission 6,000,000 × 5 % × 1.089925… = 326,977.44 → 326,977 fen
    service = line_of(october, "C1")
    margin = component(service, "gross_margin")
    assert (shown(margin.measure), shown(margin.score)) == (Decimal("0.3699"), Decimal("0.9248"))
    assert shown(service.coefficient) == Decimal("1.0899")
    assert (service.revenue_minor, service.commission_minor) == (yuan(60000), 326977)

    assert [line.annual for line in october.lines] == [None] * 4     # October does not close the year
    assert service.components_record()["target"] == dict(
        actual_minor="6000000", target_minor="5000000", measure="1.2", measure_shown="1.2000", score="1.2",
        score_shown="1.2000", weight="0.6")


def with_cs_cost(inputs, month: str, amount: str | None):
    stats = inputs.cs_stats.copy()
    stats.loc[stats["month"] == month, "attributed_cost_minor"] = None if amount is None else yuan(amount)
    return dataclasses.replace(inputs, cs_stats=stats)


def test_customer_service_margin_is_on_their_attributed_sales(inputs):
    # issue 17 #7 (§5): C1's October attributed sales 60,000 with an attributed cost of 39,000:
    #   margin (60,000 − 39,000) / 60,000 = 0.35 < 40 % → score 0.35 / 0.4 = 0.875 (the shops' margin,
    #   49,200 / 133,000 = 0.3699, is not theirs); coefficient 0.6 × 1.2 + 0.4 × 0.875 = 1.07;
    #   commission 6,000,000 × 5 % × 1.07 = 321,000 fen
    october = settle_month("2026-10", with_cs_cost(inputs, "2026-10", "39000"), sales_frame(), RULES, SEED)
    service = line_of(october, "C1")
    margin = component(service, "gross_margin")
    assert (margin.actual, margin.target, margin.measure, margin.score) == (
        yuan(21000), yuan(60000), Decimal("0.35"), Decimal("0.875"))
    assert margin.basis == ("attributed_cost",) and service.components_record()["gross_margin"]["basis"] == \
        "attributed_cost"
    assert (service.coefficient, service.commission_minor) == (Decimal("1.07"), 321000)

    # without the cost column the margin is still on their sales, at the shops' margin, and says so:
    #   60,000 × 49,200 / 133,000 = 22,195.49 of 60,000 → 0.369925 → 0.924812 (as before)
    plain = component(line_of(settle_month("2026-10", inputs, sales_frame(), RULES, SEED), "C1"), "gross_margin")
    assert plain.basis == ("shop_margin",) and plain.target == yuan(60000)
    assert (to_fen(plain.actual), shown(plain.measure), shown(plain.score)) == (2219549, Decimal("0.3699"),
                                                                                Decimal("0.9248"))


def test_a_shop_profitability_target_ratio_overrides_the_default_for_each_person_over_their_shops(inputs):
    # issue 17 #7 (§5 "per shop"): tmall's target ratio 2.0, the others the default 1.5. A person's target
    # gross profit = Σ shop expenses × shop ratio (sum-based: the ratios weighted by expenses)
    rules = dataclasses.replace(RULES, profitability_target_ratio_by_shop={"tmall": Decimal("2.0")})
    october = settle_month("2026-10", inputs, sales_frame(), rules, SEED)
    # O1 (tmall, taobao-c): gross profit 37,200 + 12,000 = 49,200 on expenses 20,000 + 10,000 = 30,000 (1.64);
    #   target 20,000 × 2.0 + 10,000 × 1.5 = 55,000 → ratio 55,000 / 30,000 = 1.833333;
    #   score 49,200 / 55,000 = 0.894545 (1.093333 at 1.5 everywhere)
    #   coefficient 0.6 × 0.870909 + 0.4 × 0.894545 = 0.880364; commission 9,580,000 × 1.5 % × 0.880364
    #   = 126,508.25 → 126,508 fen
    operations = line_of(october, "O1")
    profit = component(operations, "profitability")
    assert (profit.measure, shown(profit.target_ratio), shown(profit.score)) == (
        Decimal("1.64"), Decimal("1.8333"), Decimal("0.8945"))
    assert (shown(operations.coefficient), operations.commission_minor) == (Decimal("0.8804"), 126508)
    # M1 (every shop): 61,200 on 34,000; target 20,000 × 2.0 + 10,000 × 1.5 + 4,000 × 1.5 = 61,000
    #   → score 61,200 / 61,000 = 1.003279 (1.2 before); coefficient 0.45 + 0.443333 + 0.200656 = 1.093989;
    #   commission 17,300,000 × 1 % × 1.093989 = 189,260.11 → 189,260 fen
    manager = line_of(october, "M1")
    assert shown(component(manager, "profitability").score) == Decimal("1.0033")
    assert manager.commission_minor == 189260
    # no override: every person's ratio is exactly the default, figures as in test_october_hand_checked
    assert component(line_of(settle_month("2026-10", inputs, sales_frame(), RULES, SEED), "O1"),
                     "profitability").target_ratio == Decimal("1.5")


def test_margin_at_forty_percent_scores_one(inputs):
    # tmall with cost 55,800 → 52,800: margin of tmall + taobao-c = (40,200 + 12,000) / 133,000 = 0.392 → 0.98;
    # with cost 51,800: (41,200 + 12,000) / 133,000 = 0.4 exactly → 1
    sales = sales_frame()
    sales.loc[(sales["month"] == "2026-10") & (sales["shop_id"] == "tmall"), "cost_of_goods_minor"] = yuan(51800)
    margin = component(line_of(settle_month("2026-10", inputs, sales, RULES, SEED), "C1"), "gross_margin")
    assert (margin.measure, margin.score) == (Decimal("0.4"), Decimal(1))


def test_restate_policy_leaves_late_refunds_to_the_earlier_month(inputs):
    restate = dataclasses.replace(RULES, late_refund_policy="restate")
    october = settle_month("2026-10", inputs, sales_frame(), restate, SEED)
    tmall = october.shops.set_index("shop_id").loc["tmall"]
    assert (tmall["late_refunded_minor"], tmall["revenue_minor"]) == (yuan(2000), yuan(95000))
    # M1: revenue 175,000; own 135,000 / 150,000 = 0.9; profitability 63,200 / 34,000 / 1.5 = 1.239216
    # coefficient 0.45 + 0.45 + 0.247843 = 1.147843; commission 175,000 × 1.147843 = 200,872.55 → 200,873
    assert line_of(october, "M1").commission_minor == 200873


def test_scores_floor_at_zero_and_a_negative_commission_is_flagged(inputs):
    # a 300,000 late refund on tmall: tmall revenue 100,000 − 5,000 − 300,000 = −205,000
    # M1: revenue −205,000 + 40,000 + 40,000 = −125,000; distribution 2.0 → 1.5; own −165,000 / 150,000 → 0;
    #     profitability (−260,800 + 24,000) / 34,000 → 0; coefficient 0.3 × 1.5 = 0.45
    #     commission −12,500,000 × 1 % × 0.45 = −56,250 fen: a deduction the approver must see
    sales = sales_frame()
    sales.loc[(sales["month"] == "2026-10") & (sales["shop_id"] == "tmall"), "late_refunded_minor"] = yuan(300000)
    manager = line_of(settle_month("2026-10", inputs, sales, RULES, SEED), "M1")
    assert [c.score for c in manager.components] == [Decimal("1.5"), 0, 0]
    assert (manager.coefficient, manager.commission_minor) == (Decimal("0.45"), -56250)
    assert [f.kind for f in manager.flags] == ["negative_commission"]


def test_annual_bonus_when_the_year_closes(inputs):
    sales = sales_frame()
    assert all(line.annual is None for line in settle_month("2026-11", inputs, sales, RULES, SEED).lines)
    december = settle_month("2026-12", inputs, sales, RULES, SEED)
    assert [line.person_id for line in december.lines] == ["M1", "O1", "C1"]   # O2 left in October
    # The year's months on the roster: 2026-10..12 (tmall 93,000 + 95,000 + 95,000; no late refund after Oct)
    # M1: revenue 283,000 + 120,000 + 120,000 = 523,000; distribution 120,000 / 60,000 = 2 → 1.5;
    #     own 403,000 / 450,000 = 0.895556; profitability 187,600 / 102,000 = 1.839216 / 1.5 = 1.226144
    #     coefficient 0.45 + 0.447778 + 0.245229 = 1.143007; bonus 52,300,000 × 0.5 % × 1.143007 = 298,896.2
    manager = line_of(december, "M1").annual
    assert manager.months == ("2026-10", "2026-11", "2026-12")
    assert (shown(manager.coefficient), manager.bonus_minor) == (Decimal("1.1430"), 298896)
    # O1: revenue 95,800 + 97,000 × 2 = 289,800 vs 330,000 = 0.878182; profitability 151,600 / 90,000 / 1.5
    #     = 1.122963; coefficient 0.526909 + 0.449185 = 0.976094; bonus 28,980,000 × 1 % × 0.976094 = 282,872.1
    assert (shown(line_of(december, "O1").annual.coefficient), line_of(december, "O1").annual.bonus_minor) == (
        Decimal("0.9761"), 282872)
    # C1: 135,000 vs 150,000 = 0.9; margin on their attributed sales (§5; no attributed cost in
    #     cs_stats.csv → each month at the margin of tmall + taobao-c): Oct 60,000 × 49,200 / 133,000
    #     = 22,195.49, Nov 30,000 × 51,200 / 135,000 = 11,377.78, Dec 45,000 × 51,200 / 135,000 = 17,066.67
    #     → 50,639.93 / 135,000 = 0.375111 → 0.937777 (the shops' year, 151,600 / 403,000, weighed
    #     their revenue, not the person's sales); coefficient 0.54 + 0.375111 = 0.915111;
    #     bonus 13,500,000 × 2 % × 0.915111 = 247,079.87
    annual = line_of(december, "C1").annual
    assert shown(component(annual, "gross_margin").measure) == Decimal("0.3751")
    assert annual.bonus_minor == 247080
    assert closes_fiscal_year("2027-03", 4) and not closes_fiscal_year("2026-12", 4)


def test_low_coefficient_flagged_after_three_and_six_months(inputs):
    # C1 (joined in March here) sells 15,000 in November: target 0.3; margin (39,200 + 12,000) / 135,000
    # = 0.379259 → 0.948148; coefficient 0.6 × 0.3 + 0.4 × 0.948148 = 0.559259 < 0.6
    staff = inputs.staff.copy()
    staff.loc[staff["person_id"] == "C1", "joined_on"] = pd.Timestamp("2026-03-02").date()
    low = dataclasses.replace(with_cs_sales(inputs, "2026-11", "15000"), staff=staff)

    def flags(history: dict[str, str]):
        earlier = pd.DataFrame([dict(month=m, person_id="C1", coefficient=Decimal(c)) for m, c in history.items()],
                               columns=["month", "person_id", "coefficient"])
        line = line_of(settle_month("2026-11", low, sales_frame(), RULES, SEED, earlier), "C1")
        assert shown(line.coefficient) == Decimal("0.5593")
        return [f.kind for f in line.flags]

    assert flags({"2026-10": "0.55"}) == []                                      # 2 months
    assert flags({"2026-09": "0.5", "2026-10": "0.55"}) == ["low_coefficient_3_months"]
    assert flags({"2026-09": "0.5", "2026-10": "0.6"}) == []                     # 0.6 is not below 0.6
    assert flags({"2026-08": "0.5", "2026-10": "0.55"}) == []                    # September missing: no run
    assert flags({m: "0.4" for m in ("2026-06", "2026-07", "2026-08", "2026-09", "2026-10")}) == [
        "low_coefficient_6_months"]


@pytest.mark.parametrize("attributed, pay_minor", [
    ("12500", 0),               # 25 % of the 50,000 plan: below 30 % pays nothing
    ("14999.99", 0),            # 29.99998 % of plan: below 30 % pays nothing
    ("15000", 15000),           # 30 % exactly: 0.3 × 500 = 150 yuan
    ("40000", 40000),           # 80 %: 0.8 × 500 = 400 yuan
    ("50000", 50000),           # 100 %: 500, no bonus (the plan is met, not exceeded)
    ("60000", 55000),           # 120 %: 500 + the lower staff bonus 50
    ("60000.01", 60000),        # above 120 %: 500 + the higher staff bonus 100
    ("65000", 60000),           # 130 %: min(1.3, 1) × 500 + the higher staff bonus 100 = 600 yuan
])
def test_performance_pay_thresholds(inputs, attributed, pay_minor):
    settlement = settle_month("2026-10", with_cs_sales(inputs, "2026-10", attributed), sales_frame(), RULES, PAY)
    assert line_of(settlement, "C1").commission_minor == pay_minor


@pytest.mark.parametrize("share_of_plan, pay_minor", [
    ("0.25", 0), ("0.30", 15000), ("0.80", 40000), ("1.00", 50000),
    ("1.30", 65000),            # 500 + the higher manager bonus 150
])
def test_performance_pay_of_the_manager_at_shares_of_plan(inputs, share_of_plan, pay_minor):
    # the manager's plan is every shop's target: 100,000 + 50,000 + 20,000 = 170,000; tmall's placed
    # amount is set so that the month's revenue (tmall − 5,000 − 2,000 late + 40,000 + 40,000) hits the share
    revenue = Decimal(170000) * Decimal(share_of_plan)
    sales = sales_frame()
    october_tmall = (sales["month"] == "2026-10") & (sales["shop_id"] == "tmall")
    sales.loc[october_tmall, "placed_minor"] = yuan(revenue - 80000 + 7000)
    manager = line_of(settle_month("2026-10", inputs, sales, RULES, PAY), "M1")
    assert (manager.revenue_minor, manager.commission_minor) == (yuan(revenue), pay_minor)


def test_performance_pay_for_manager_operations_and_leaver(inputs):
    assert isinstance(PAY, PerformancePayPlan)
    settlement = settle_month("2026-10", inputs, sales_frame(), RULES, PAY)
    pay = {line.person_id: line.commission_minor for line in settlement.lines}
    # M1: 173,000 / 170,000 = 101.8 % → 500 + manager's lower bonus 100 = 600 yuan
    # O1: 95,800 / 110,000 = 0.870909 × 500 = 435.4545 yuan → 43,545 fen; O2 left: nothing
    assert pay == {"M1": 60000, "O1": 43545, "O2": 0, "C1": 55000}


# --- whose revenue, missing inputs ---------------------------------------------------------------

def test_operations_staff_without_shares_split_a_shop_equally(inputs, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("person_id,name,role,shops,shares,joined,left\n"
                      "M1,王芳,manager,,,2026-10-01,\nO1,李雷,operations,tmall;taobao-c,,2026-10-01,\n"
                      "O2,赵敏,operations,tmall,,2026-10-01,\nC1,陈静,customer_service,,,2026-10-01,\n",
                      encoding="utf-8")
    october = settle_month("2026-10", load_inputs(**FILES | {"roster": roster}), sales_frame(), RULES, SEED)
    # tmall 93,000 halved: O1 46,500 + taobao-c 40,000 = 86,500; O2 46,500
    assert line_of(october, "O1").revenue_minor == yuan(86500)
    assert line_of(october, "O2").revenue_minor == yuan(46500)


def test_missing_inputs_are_listed_together(inputs):
    targets = inputs.targets[~((inputs.targets["month"] == "2026-10") & (inputs.targets["scope_id"] == "tmall"))]
    stats = inputs.cs_stats[inputs.cs_stats["month"] != "2026-10"]
    with pytest.raises(SettlementError) as error:
        settle_month("2026-10", dataclasses.replace(inputs, targets=targets, cs_stats=stats), sales_frame(), RULES,
                     SEED)
    assert error.value.problems == ["2026-10: shop tmall has no target (targets file, scope shop)",
                                        "2026-10: no customer-service stats for C1 (attributed sales)"]


# --- reproducibility ---------------------------------------------------------------------------

def test_same_inputs_same_figures_and_hash(inputs):
    first = settle_month("2026-10", inputs, sales_frame(), RULES, SEED)
    again = settle_month("2026-10", load_inputs(**FILES), sales_frame().iloc[::-1], RULES, SEED)
    assert first.lines == again.lines
    assert first.inputs_sha256 == again.inputs_sha256 == inputs_sha256("2026-10", inputs, sales_frame(), RULES, SEED)

    expenses = inputs.expenses.copy()
    expenses.loc[0, "amount_minor"] += 1                                          # one fen more
    changed = settle_month("2026-10", dataclasses.replace(inputs, expenses=expenses), sales_frame(), RULES, SEED)
    assert changed.inputs_sha256 != first.inputs_sha256
    assert settle_month("2026-10", inputs, sales_frame(), RULES, PAY).inputs_sha256 != first.inputs_sha256


def _side(month, inputs, sales, rules=RULES, preset=SEED) -> dict:
    settlement = settle_month(month, inputs, sales, rules, preset)
    return dict(inputs=inputs_snapshot(month, inputs, sales, rules, preset),
                lines={line.person_id: line_figures(line.revenue_minor, line.coefficient, line.commission_minor,
                                                    line.annual.bonus_minor if line.annual else None,
                                                    line.components_record()) for line in settlement.lines})


def test_diff_names_exactly_the_input_and_figures_that_changed(inputs):
    before = _side("2026-10", inputs, sales_frame())
    assert diff_versions(before, _side("2026-10", load_inputs(**FILES), sales_frame().iloc[::-1])) == []

    # tmall's October marketing 15,000 → 16,000: expenses of tmall + taobao-c 30,000 → 31,000, of all 34,000 → 35,000
    expenses = inputs.expenses.copy()
    expenses.loc[(expenses["month"] == "2026-10") & (expenses["shop_id"] == "tmall")
                 & (expenses["category"] == "marketing"), "amount_minor"] = yuan(16000)
    changes = diff_versions(before, _side("2026-10", dataclasses.replace(inputs, expenses=expenses), sales_frame()))
    assert [str(c) for c in changes] == [
        "expenses [2026-10 / tmall / marketing] amount_minor: 1500000 → 1600000",
        # M1 profitability 61,200 / 35,000 = 1.748571 / 1.5 = 1.165714; coefficient 0.45 + 0.443333 + 0.233143
        # = 1.126476; commission 1,730 × 1.126476 = 1,948.80 yuan
        "lines [M1] coefficient: 1.1333 → 1.1265",
        "lines [M1] commission_minor: 196067 → 194880",
        "lines [M1] profitability.score: 1.2000 → 1.1657",
        "lines [M1] profitability.target_minor: 3400000 → 3500000",
        # O1 profitability 49,200 / 31,000 = 1.587097 / 1.5 = 1.058065; coefficient 0.522545 + 0.423226
        # = 0.945771; commission 1,437 × 0.945771 = 1,359.07 yuan
        "lines [O1] coefficient: 0.9599 → 0.9458",
        "lines [O1] commission_minor: 137935 → 135907",
        "lines [O1] profitability.score: 1.0933 → 1.0581",
        "lines [O1] profitability.target_minor: 3000000 → 3100000",
    ]                                                                      # C1's margin ignores expenses

    # a rule and a roster row: named as such
    later = inputs.staff.copy()
    later.loc[later["person_id"] == "O2", "left_on"] = pd.Timestamp("2026-11-20").date()
    changed = _side("2026-10", dataclasses.replace(inputs, staff=later), sales_frame(),
                    rules=dataclasses.replace(RULES, score_cap=Decimal("1.2")))
    named = {(c.section, c.key, c.field) for c in diff_versions(before, changed)}
    assert {("staff", "O2", "left_on"), ("rules", "", "score_cap")} <= named
    assert ("lines", "O2", "(row)") not in named and ("lines", "O2", "commission_minor") in named


# --- store KPIs ---------------------------------------------------------------------------------

def test_store_kpis(inputs):
    figures = shop_month_figures("2026-10", sales_frame(), inputs.expenses, inputs.targets, "clawback")
    orders = pd.DataFrame([
        dict(shop_id="tmall", order_id="A", buyer_key="b1", total_minor=10000, refunded=False, shipped_on_time=True,
             oversold=False),
        dict(shop_id="tmall", order_id="B", buyer_key="b1", total_minor=20000, refunded=True, shipped_on_time=False,
             oversold=False),
        dict(shop_id="tmall", order_id="C", buyer_key="b2", total_minor=30000, refunded=False, shipped_on_time=None,
             oversold=True),
    ])
    kpis = store_kpis("2026-10", figures, orders, inputs.expenses).set_index("shop_id")
    tmall = kpis.loc["tmall"]
    assert tmall["orders"] == 3 and tmall["average_order_value_minor"] == 20000       # 60,000 / 3
    assert shown(tmall["refund_rate"]) == Decimal("0.3333")                            # 1 of 3 orders
    assert tmall["repeat_purchase_rate"] == Decimal("0.5")                             # b1 of {b1, b2}
    assert tmall["on_time_shipment_share"] == Decimal("0.5")                           # C not yet due
    assert tmall["oversell_count"] == 1
    assert tmall["gross_margin"] == Decimal("0.4")                                     # 37,200 / 93,000
    assert tmall["roi"] == Decimal("2.48")                                             # 37,200 / marketing 15,000
    assert kpis.loc["dist-1", "orders"] == 0 and kpis.loc["dist-1", "roi"] is None     # no marketing spend


# --- the input files --------------------------------------------------------------------------

def test_files_load_with_english_or_chinese_headers(inputs):
    assert inputs.staff.set_index("person_id").loc["O2", "left_on"].isoformat() == "2026-10-20"
    assert inputs.assignments[inputs.assignments["person_id"] == "O1"]["share"].tolist() == [Decimal("0.6"), 1]
    october = inputs.cs_stats.iloc[0]                  # cs_stats.csv has the platform's Chinese headers
    assert (october["conversion_rate"], october["avg_response_s"], october["attributed_sales_minor"]) == (
        Decimal("0.352"), 18.5, 6000000)


def test_xlsx_roster_reads_like_csv(inputs, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["工号", "姓名", "岗位", "负责店铺", "分成比例", "入职日期", "离职日期"])
    sheet.append(["M1", "王芳", "manager", None, None, pd.Timestamp("2026-10-01").to_pydatetime(), None])
    sheet.append(["O1", "李雷", "operations", "tmall;taobao-c", "0.6;1", "2026-10-01", None])
    sheet.append([])
    sheet.append(["O2", "赵敏", "operations", "tmall", 0.4, "2026-10-01", pd.Timestamp("2026-10-20").to_pydatetime()])
    sheet.append(["C1", "陈静", "customer_service", "tmall；taobao-c", None, "2026-10-01", None])
    book.save(tmp_path / "roster.xlsx")
    from_excel = load_inputs(**FILES | {"roster": tmp_path / "roster.xlsx"})
    pd.testing.assert_frame_equal(from_excel.staff, inputs.staff)
    pd.testing.assert_frame_equal(from_excel.assignments, inputs.assignments)


def test_files_kept_in_chinese_as_people_type_them_read_like_the_documented_ones(tmp_path):
    """Chinese role and scope names, 2026/10/01 dates, ¥ amounts with thousands separators, GBK
    (issue 23 #9): the same inputs as the English files."""
    roster = (DATA / "roster.csv").read_text(encoding="utf-8")
    for english, chinese in (("manager", "店长"), ("operations", "运营"), ("customer_service", "客服"),
                             ("2026-10-01", "2026/10/01"), ("2026-10-20", "2026年10月20日")):
        roster = roster.replace(english, chinese)
    (tmp_path / "roster.csv").write_bytes(roster.replace("person_id,name,role", "工号,姓名,岗位").encode("gbk"))
    targets = pd.read_csv(DATA / "targets.csv", dtype=str)
    targets["scope"] = targets["scope"].map({"shop": "店铺", "person": "个人"})
    targets["target"] = ["￥{:,.2f}".format(float(v)) for v in targets["target"]]
    targets.to_csv(tmp_path / "targets.csv", index=False, encoding="utf-8-sig")
    kept = load_inputs(**FILES | {"roster": tmp_path / "roster.csv", "targets": tmp_path / "targets.csv"})
    documented = load_inputs(**FILES)
    pd.testing.assert_frame_equal(kept.staff, documented.staff)
    pd.testing.assert_frame_equal(kept.targets, documented.targets)


def problems_of(**files) -> list[str]:
    with pytest.raises(SettlementInputError) as error:
        load_inputs(**FILES | files)
    return [str(p) for p in error.value.problems]


def test_roster_errors_name_file_row_and_reason():
    assert problems_of(roster=DATA / "roster_bad.csv") == [
        "roster_bad.csv: row 2, column role: 'boss' is not one of manager (店长/运营经理/经理), operations (运营/运营专员), "
        "customer_service (客服/客服专员)",
        "roster_bad.csv: row 4, column shares: shop tmall: shares on 2026-10-01 sum to 1.1 (O1 0.7, O2 0.4), must sum "
        "to 1",
        "roster_bad.csv: row 5: the same person_id (O2) as row 4",
        "roster_bad.csv: row 6, column joined: '2026-13-01' is not a date written YYYY-MM-DD (or YYYY/MM/DD)",
        "roster_bad.csv: row 7, column left: left 2026-09-30 is before joined 2026-10-01",
        "roster_bad.csv: row 7, column shops: operations staff need the shops they run (shops, separated by ;)",
    ]


def test_target_and_stats_errors_name_file_row_and_reason():
    assert problems_of(targets=DATA / "targets_bad.csv", cs_stats=DATA / "cs_stats_bad.csv") == [
        "targets_bad.csv: row 2, column target: -5.00 must be above 0",
        "targets_bad.csv: row 3, column month: '2026-13' is not a month written YYYY-MM (e.g. 2026-10)",
        "targets_bad.csv: row 5, column target: '12.345' has more than 2 decimals (yuan with at most 2 decimals)",
        "targets_bad.csv: row 6, column id: person X9 is not on the staff roster",  # row 4 is empty, as in Excel
        "targets_bad.csv: row 8: the same month / scope / id (2026-11 / shop / tmall) as row 7",
        "cs_stats_bad.csv: row 3: the same month / person (2026-10 / C1) as row 2",
        "cs_stats_bad.csv: row 4, column person: person O1 is on the roster as operations, not customer_service",
        "cs_stats_bad.csv: row 5, column conversations: '-3' is not a whole number of 0 or more",
        "cs_stats_bad.csv: row 5, column conversion_rate: '140%' is not a rate between 0 and 1 (or 0 % and 100 %)",
    ]


def test_missing_column_and_file(tmp_path):
    channels = tmp_path / "channels.csv"
    channels.write_text("shop,kind\ntmall,own\n", encoding="utf-8")
    assert problems_of(shop_channels=channels, expenses=tmp_path / "absent.csv") == [
        "absent.csv: cannot read the file (No such file or directory)",
        "channels.csv: row 1: no column 'channel' (渠道) in the header",
    ]


def test_the_settlement_task_says_its_refusals_in_the_configured_language(tmp_path, monkeypatch):
    """The load task (what a failed monthly-settlement run shows) renders the domain's reasons in
    SHOPOPS_LOCALE: the folder's files, then every bad row."""
    from config.settings import get_settings
    from tasks.settlement import find_input_files, load_settlement_inputs

    monkeypatch.setenv("SHOPOPS_LOCALE", "zh_CN")
    get_settings.cache_clear()
    try:
        for name, path in FILES.items():
            (tmp_path / path.name).write_bytes(path.read_bytes())
        (tmp_path / "shop_channels.csv").unlink()
        with pytest.raises(SettlementInputError) as missing:
            find_input_files(tmp_path)
        assert str(missing.value).splitlines()[:2] == [
            "结算输入文件有 1 处问题：", f"  - shop_channels.csv：{tmp_path} 中缺少该文件（应为 shop_channels.csv 或 shop_channels.xlsx）"]
        (tmp_path / "shop_channels.csv").write_bytes(FILES["shop_channels"].read_bytes())
        (tmp_path / "cs_stats.csv").write_bytes((DATA / "cs_stats_bad.csv").read_bytes())
        with pytest.raises(SettlementInputError) as bad:
            load_settlement_inputs.fn(tmp_path)
        assert "  - cs_stats.csv：第 4 行“person”列：人员 O1 在人员名单中的岗位是 operations，不是客服" in str(bad.value).splitlines()
    finally:
        get_settings.cache_clear()
