"""The demo's settlement inputs: valid files for the CNY shops of config/shops.yaml that settle
without a missing input, with one leaver, against the sales the demo scenario is expected to
produce."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from config.schema import load_config
from domain.settlement import SettlementRules, plan_from_config, settle_month
from domain.settlement_inputs import load_inputs
from shopops.demo_settlement import expected_daily_sales, prepare_demo_settlement_inputs

CONFIG = load_config(Path(__file__).parents[2] / "config")


def test_demo_inputs_load_and_settle_a_month(tmp_path):
    paths = prepare_demo_settlement_inputs(tmp_path, CONFIG, "2026-11")
    inputs = load_inputs(**{path.stem: path for path in paths})
    cny_shops = {"tmall-flagship", "taobao-cstore", "jd-pop", "pdd-main", "douyin-main"}   # USD shops are not settled
    assert set(inputs.shop_channels["shop_id"]) == cny_shops == set(expected_daily_sales())
    assert set(inputs.shop_channels.loc[inputs.shop_channels["channel"] == "own", "shop_id"]) == {
        "tmall-flagship", "taobao-cstore"}

    # the sales the scenario is expected to give: every shop at 1 / 1.05 of its target, cost 35 %
    sales = pd.DataFrame([dict(month="2026-11", shop_id=shop, placed_minor=int(revenue), refunded_minor=0,
                               late_refunded_minor=0, cost_of_goods_minor=int(revenue * Decimal("0.35")))
                          for shop, (_, revenue) in expected_daily_sales().items()])
    rules = CONFIG.rules.settlement
    settlement = settle_month("2026-11", inputs, sales, SettlementRules.from_config(rules),
                              plan_from_config("seed_commission", rules.presets["seed_commission"]))
    lines = {line.person_id: line for line in settlement.lines}
    assert set(lines) == {"M1", "O1", "O2", "O3", "O9", "C1", "C2"}
    assert [f.kind for f in lines["O9"].flags] == ["left_within_period"] and lines["O9"].commission_minor == 0
    for person in ("M1", "O1", "O2", "O3", "C1", "C2"):
        assert Decimal("0.6") < lines[person].coefficient < Decimal("1.5") and lines[person].commission_minor > 0
