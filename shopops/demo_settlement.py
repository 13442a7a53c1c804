"""Settlement input files for the demo's department, so that ``monthly-settlement`` can run in
the demo and wait for approval in the UI.

The demo keeps a quiet history of 92 days before today's busy trading day (shopops/demo.py
``DEMO_HISTORY_DAYS``, ``DEMO_HISTORY_ORDERS_PER_DAY``), so the previous calendar month is
there in full; the demo writes its files sized from the history's daily rate and starts the
flow for that month (``DemoStack._write_settlement_inputs``), which then waits for approval::

    prepare_demo_settlement_inputs(settings.data_dir / "settlement" / month, config, month,
                                   trading_days=31, daily=expected_daily_sales(demo_scenario_file))

Any other month is settled from the same kind of files.

The department (consistent with config/shops.yaml): a manager; one operations person per
platform group (Taobao/Tmall shops, JD + Pinduoduo, Douyin); two customer-service staff
(one for the Taobao/Tmall shops, one for the others); one more operations person who left on
the 10th (no commission, shown as such). Only the shops that sell in the settlement currency
(CNY in the scenario) are settled; the overseas shops are reported, not settled.

Targets are the scenario's expected revenue for ``trading_days`` days, so achievements land
near 100 %; expenses and customer-service figures are derived from the same expectation, so
every coefficient is plausible, not a fixture.
"""
from __future__ import annotations

import csv
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from config.schema import AppConfig
from sandbox.catalogue import build_catalogue
from sandbox.scenario import load_scenario
from shopops.demo import DEMO_SCENARIO
from tasks.settlement import SETTLEMENT_CURRENCY

#: own shops (flagship, C-store) by platform: the manager's "own shops" component; others are distribution
OWN_CHANNEL_PLATFORMS = ("taobao",)
#: operations staff by platform group (each group one person), in roster order
OPERATIONS_GROUPS = (("O1", "李雷", ("taobao",)), ("O2", "韩梅梅", ("jd", "pdd")), ("O3", "王强", ("douyin",)))
#: marketing spend (推广费) and other expenses as shares of the expected revenue of the period
MARKETING_SHARE = Decimal("0.12")
OTHER_EXPENSE_SHARE = Decimal("0.05")
#: the demo's expected outcome: revenue at 95 % of the target on average
TARGET_OVER_EXPECTED = Decimal("1.05")
CS_SALES_SHARE = Decimal("0.30")        # sales attributed to customer service (询单转化销售额)
STORE_CONVERSION = Decimal("0.03")      # orders / visitors, for the shop stats' visitor count


def _yuan(fen: Decimal) -> str:
    return str((fen / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def expected_daily_sales(scenario_name: str = DEMO_SCENARIO) -> dict[str, tuple[Decimal, Decimal]]:
    """Shop id → (orders, revenue in fen) expected on one day of the scenario: orders a day ×
    the shop's volume share, × the expected order value (popularity-weighted list price ×
    expected lines) — for the shops selling in the settlement currency."""
    scenario = load_scenario(scenario_name)
    catalogue = build_catalogue(scenario.seed)
    line_price = Decimal(str(float((catalogue["popularity"] * catalogue["list_price_minor"]).sum())))
    weights = scenario.line_count_weights
    lines_per_order = Decimal(str(sum((k + 1) * w for k, w in enumerate(weights)) / sum(weights)))
    total_weight = Decimal(str(sum(shop.volume_weight for shop in scenario.shops)))
    expected = {}
    for shop in scenario.shops:
        if shop.currency == SETTLEMENT_CURRENCY:
            orders = Decimal(scenario.orders_per_day) * Decimal(str(shop.volume_weight)) / total_weight
            expected[shop.id] = (orders, orders * line_price * lines_per_order)
    return expected


def prepare_demo_settlement_inputs(folder: Path, config: AppConfig, month: str, trading_days: int = 1,
                                   daily: dict[str, tuple[Decimal, Decimal]] | None = None) -> list[Path]:
    """Write roster, targets, expenses, cs_stats, shop_channels and shop_stats (.csv) for
    ``month`` into ``folder`` for the enabled shops of ``config`` that the demo scenario sells
    in CNY; return the paths. Files already there are replaced (the inputs of a demo month).
    ``daily``: expected orders and revenue a day per shop (default: the demo scenario's)."""
    daily = daily or expected_daily_sales()
    shops = [shop for shop in config.shops if shop.enabled and shop.id in daily]
    if not shops:
        raise ValueError("none of the configured shops sells in CNY in the demo scenario: nothing to settle")
    expected = {shop.id: daily[shop.id][1] * trading_days for shop in shops}
    folder.mkdir(parents=True, exist_ok=True)
    first_day = date.fromisoformat(f"{month}-01")
    joined = date(first_day.year - 1, 1, 4).isoformat()
    left = first_day.replace(day=10).isoformat()

    roster: list[list[object]] = [["M1", "王芳", "manager", "", "", joined, ""]]
    for person, name, platforms in OPERATIONS_GROUPS:
        run = [shop.id for shop in shops if shop.platform in platforms]
        if run:
            roster.append([person, name, "operations", ";".join(run), "", joined, ""])
    taobao_shops = [shop.id for shop in shops if shop.platform in OWN_CHANNEL_PLATFORMS]
    # the leaver shared the Taobao shops with O1 until the 10th: equal split, forfeited (see domain.settlement)
    roster.append(["O9", "周杰", "operations", ";".join(taobao_shops), "", joined, left])
    other_shops = [shop.id for shop in shops if shop.platform not in OWN_CHANNEL_PLATFORMS]
    service = [("C1", "陈静", taobao_shops), ("C2", "刘洋", other_shops)]
    roster += [[person, name, "customer_service", ";".join(served), "", joined, ""] for person, name, served in service]

    targets = [[month, "shop", shop.id, _yuan(expected[shop.id] * TARGET_OVER_EXPECTED)] for shop in shops]
    cs_rows, shop_stats = [], []
    for number, (person, _, served) in enumerate(service):
        sales = sum((expected[s] for s in served), Decimal(0)) * CS_SALES_SHARE
        targets.append([month, "person", person, _yuan(sales * TARGET_OVER_EXPECTED)])
        conversations = int(sales / 100 / 150)          # one conversation per 150 yuan of attributed sales
        cs_rows.append([month, person, conversations, f"{14 + 6 * number}", f"{38 - 5 * number}%", _yuan(sales)])
    expenses = []
    for shop in shops:
        expenses.append([month, shop.id, "marketing", _yuan(expected[shop.id] * MARKETING_SHARE)])
        expenses.append([month, shop.id, "packaging", _yuan(expected[shop.id] * OTHER_EXPENSE_SHARE)])
        shop_stats.append([month, shop.id, int(daily[shop.id][0] * trading_days / STORE_CONVERSION), "4.8"])
    channels = [[shop.id, "own" if shop.platform in OWN_CHANNEL_PLATFORMS else "distribution"] for shop in shops]

    files = {
        "roster": (["person_id", "name", "role", "shops", "shares", "joined", "left"], roster),
        "targets": (["month", "scope", "id", "target"], targets),
        "expenses": (["month", "shop", "category", "amount"], expenses),
        "cs_stats": (["month", "person", "conversations", "avg_response_seconds", "conversion_rate",
                      "attributed_sales"], cs_rows),
        "shop_channels": (["shop", "channel"], channels),
        "shop_stats": (["month", "shop", "visitors", "dsr"], shop_stats),
    }
    written = []
    for name, (header, rows) in files.items():
        path = folder / f"{name}.csv"
        _write(path, header, rows)
        written.append(path)
    return written
