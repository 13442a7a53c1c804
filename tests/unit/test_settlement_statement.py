"""Issue 17 #7 through the task layer (``tasks.settlement``): an inputs folder whose
customer-service stats carry the optional attributed-cost column (Chinese header, as the
platform exports it) for October only, the per-shop profitability ratio from the config
block, and the statement a reviewer approves — which says, in zh_CN and en, what each margin
and profitability was measured on. Pure: files in tmp, no database, no Prefect server.
"""
from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from config.schema import load_config
from domain.settlement import (ORDER_KPI_COLUMNS, SettlementRules, customer_service_kpis, plan_from_config,
                               settle_month, shown, store_kpis)
from tasks.settlement import find_input_files, load_settlement_inputs, statement_notes, statement_tables
from tests.unit.test_settlement import sales_frame

DATA = Path(__file__).parents[1] / "data" / "settlement"
CONFIG = load_config(Path(__file__).parents[2] / "config").rules.settlement
SEED = plan_from_config("seed_commission", CONFIG.presets["seed_commission"])


@pytest.fixture
def folder(tmp_path):
    for name in ("roster", "targets", "expenses", "shop_channels"):
        shutil.copy(DATA / f"{name}.csv", tmp_path / f"{name}.csv")
    # the platform's export with the attributed cost (询单转化销售成本): October 39,000, November left empty
    (tmp_path / "cs_stats.csv").write_text(
        "月份,客服工号,接待人数,平均响应时间(秒),询单转化率,询单转化销售额,询单转化销售成本\n"
        "2026-10,C1,1200,18.5,35.2%,60000.00,39000.00\n"
        "2026-11,C1,900,21,28.0%,30000.00,\n", encoding="utf-8")
    return tmp_path


def statement(month: str, folder: Path, rules: SettlementRules, locale: str):
    inputs = load_settlement_inputs.fn(folder)
    settled = settle_month(month, inputs, sales_frame(), rules, SEED)
    kpis = store_kpis(month, settled.shops, pd.DataFrame(columns=list(ORDER_KPI_COLUMNS)), inputs.expenses)
    tables = statement_tables(settled, kpis, customer_service_kpis(month, inputs), locale=locale)
    return settled, tables, statement_notes(settled, rules, locale)


def test_the_statement_says_what_margin_and_profitability_were_measured_on(folder):
    assert set(find_input_files(folder)) == {"roster", "targets", "expenses", "cs_stats", "shop_channels"}
    # config: tmall's own target ratio 2.0 (settlement.profitability_target_ratio_by_shop), others 1.5
    rules = SettlementRules.from_config(CONFIG.model_copy(update={"profitability_target_ratio_by_shop": {"tmall": 2.0}}))

    settled, tables, notes = statement("2026-10", folder, rules, "zh_CN")
    # C1: (60,000 − 39,000) / 60,000 = 0.35 → 0.875; coefficient 0.6 × 1.2 + 0.4 × 0.875 = 1.07;
    #     commission 6,000,000 × 5 % × 1.07 = 321,000 fen (at the shops' 0.3699 it was 326,977)
    service = next(line for line in settled.lines if line.person_id == "C1")
    assert (service.coefficient, service.commission_minor) == (Decimal("1.07"), 321000)
    parts = tables["components"].set_index(["工号", "考核项"])
    assert parts.loc[("C1", "毛利率"), "计算口径"] == "询单转化销售额减询单转化销售成本（客服数据）"
    assert parts.loc[("C1", "毛利率"), "得分"] == 0.875
    # O1 (tmall, taobao-c): target ratio (20,000 × 2.0 + 10,000 × 1.5) / 30,000 = 1.8333
    assert parts.loc[("O1", "盈利能力"), "计算口径"] == "目标比 1.8333：Σ 店铺费用 × 店铺目标比 / Σ 费用"
    assert notes == ["C1 陈静：毛利率口径为询单转化销售额减询单转化销售成本（客服数据）。",
                     "各店铺利润率目标比：默认 1.5，tmall 2；个人的目标毛利为其各店铺费用 × 该店铺目标比之和（按费用加权）。"]

    # November: no cost in the row → on their sales at the shops' margin (51,200 / 135,000 = 0.3793), said so
    settled, tables, notes = statement("2026-11", folder, SettlementRules.from_config(CONFIG), "en")
    margin = next(c for line in settled.lines if line.person_id == "C1" for c in line.components
                  if c.name == "gross_margin")
    assert (margin.basis, shown(margin.measure)) == (("shop_margin",), Decimal("0.3793"))
    assert notes == [
        "C1 陈静: gross margin measured on attributed sales at the gross margin of the shops served (the "
        "customer-service stats give no attributed cost).",
        "Profitability target ratio per shop: 1.5 for every shop; a person's target gross profit is the sum over "
        "their shops of expenses × the shop's ratio (the ratios weighted by expenses)."]
    assert "measured on" in tables["components"].columns
