"""Benchmark of the monthly settlement on a month of ``--lines`` order lines (3M by default).

A synthetic month (numpy, fixed seed): the 5 CNY shops of config/shops.yaml, ≈2.5 lines per order, 8 % of the
month's orders refunded inside the month, and refunds recorded this month for 2 % as many
orders of the previous month (late refunds, clawback). Orders are numbered and stored in the
order they were placed, as the incremental ingestion stores them. The month is loaded once per
dialect (``--dialects``: a SQLite file, a scratch PostgreSQL schema) into a migrated warehouse
with ``repository.upsert_orders`` in frames of ``LOAD_CHUNK_ORDERS`` orders (not timed). Then,
``--repeats`` times, each step in a fresh child process (its peak RSS is the child's own
``ru_maxrss``):

(a) warehouse aggregation: ``repository.monthly_sales`` + ``settlement_kpi_orders`` — the
    set-based SQL the flow runs (sales per shop, one KPI row per order of the month);
(b) domain settlement: ``settle_month`` + ``store_kpis`` + ``customer_service_kpis`` on
    what (a) returns (read once from the warehouse before the clock starts);
(c) (a) + (b) one after the other: the month settled from the warehouse, as the flow does;
(d) baseline: the same per-shop figures and KPIs computed row by row in plain Python over
    the lines, orders and refunds already in memory (a loop with dicts, as a first script
    would do) — no database read, so it is the cheaper side of the comparison.

    .venv/bin/python bench/bench_settlement.py --lines 3000000 --repeats 3 --dialects sqlite,postgresql
    .venv/bin/python bench/bench_settlement.py --quick          # 30,000 lines, 1 repeat

PostgreSQL: ``SHOPOPS_BENCH_POSTGRES_URL`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
the warehouse lives in a scratch schema dropped afterwards.
"""
from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import machine, median, rewrite_section, spread, utc_stamp  # noqa: E402
from bench.bench_upsert import fresh_warehouse  # noqa: E402
from config.schema import load_config  # noqa: E402
from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames  # noqa: E402
from domain.settlement import (SALES_COLUMNS, SettlementRules, customer_service_kpis, plan_from_config,  # noqa: E402
                               settle_month, store_kpis)
from domain.settlement_inputs import load_inputs  # noqa: E402
from shopops.demo_settlement import prepare_demo_settlement_inputs  # noqa: E402
from warehouse import repository  # noqa: E402
from warehouse.db import make_engine  # noqa: E402
from warehouse.models import Sku  # noqa: E402

MONTH, PREVIOUS, ZONE = "2026-10", "2026-09", "Asia/Shanghai"
#: the demo department's CNY shops (shopops.demo_settlement writes their input files)
SHOPS = ["tmall-flagship", "taobao-cstore", "jd-pop", "pdd-main", "douyin-main"]
SKUS = 500
LINES_PER_ORDER = 2.5
REFUND_SHARE, LATE_REFUND_SHARE = 0.08, 0.02
LOAD_CHUNK_ORDERS = 300_000
WAREHOUSE_STEPS = ("warehouse aggregation", "domain settlement", "settled from the warehouse")
BASELINE = "baseline: row by row"
#: the untimed load runs in a child too: Linux hands a parent's peak RSS on to the children it
#: starts afterwards, so a load in this process would inflate every later step's figure
LOAD = "load"
DIALECTS = ("sqlite", "postgresql")


def synthetic_month(lines: int, seed: int = 20261002) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(orders, order lines, refunds, SKU costs) of the month plus the previous month's refunded orders."""
    rng = np.random.default_rng(seed)
    n_orders = int(lines / LINES_PER_ORDER)
    n_late = int(n_orders * LATE_REFUND_SHARE)
    month_start = pd.Timestamp("2026-09-30T16:00:00Z")             # 2026-10-01 00:00 in Shanghai
    # numbered in the order placed: the previous month's (late-refunded) orders, then the month's
    seconds = np.concatenate([np.sort(rng.integers(-20 * 86400, -86400, n_late)),
                              np.sort(rng.integers(0, 31 * 86400, n_orders))])
    total = n_orders + n_late
    order_no = np.repeat(np.arange(total), rng.integers(1, 5, total))     # 1..4 lines: 2.5 on average
    created = month_start + pd.to_timedelta(seconds, unit="s")
    sku_cost = pd.DataFrame({"sku": [f"SKU-{i:04d}" for i in range(SKUS)],
                             "unit_cost_minor": rng.integers(1000, 20000, SKUS)})
    line_sku = rng.integers(0, SKUS, len(order_no))
    quantity = rng.integers(1, 4, len(order_no))
    line_total = (sku_cost["unit_cost_minor"].to_numpy()[line_sku] * quantity * 2.2).round().astype("int64")
    order_ids = np.char.add("B", np.arange(total).astype(str))
    order_total = np.bincount(order_no, weights=line_total, minlength=total).astype("int64")
    orders = pd.DataFrame({"shop_id": np.array(SHOPS)[rng.integers(0, len(SHOPS), total)], "order_id": order_ids,
                           "created_at": created, "total_minor": order_total,
                           "buyer_key": np.char.add("u", rng.integers(0, max(1, int(total / 1.6)), total).astype(str)),
                           "ship_by_at": created + pd.Timedelta(hours=48),
                           "shipped_at": created + pd.to_timedelta(rng.integers(3600, 60 * 3600, total), unit="s")})
    order_lines = pd.DataFrame({"order_id": order_ids[order_no], "shop_id": orders.set_index("order_id")["shop_id"]
                                .reindex(order_ids[order_no]).to_numpy(), "sku": sku_cost["sku"].to_numpy()[line_sku],
                                "quantity": quantity, "line_total_minor": line_total})
    order_lines["line_no"] = order_lines.groupby("order_id").cumcount() + 1
    refunded = np.sort(np.concatenate([n_late + rng.choice(n_orders, int(n_orders * REFUND_SHARE), replace=False),
                                       np.arange(n_late)]))
    refunds = pd.DataFrame({"order_id": order_ids[refunded], "shop_id": orders.set_index("order_id")["shop_id"]
                            .reindex(order_ids[refunded]).to_numpy(),
                            "amount_minor": (order_total[refunded] * 0.5).astype("int64"),
                            "at": np.maximum(created[refunded], month_start) + pd.Timedelta(days=1)})
    refunds = refunds[refunds["at"] < pd.Timestamp("2026-10-31T16:00:00Z")]
    return orders, order_lines, refunds.reset_index(drop=True), sku_cost


def canonical_month(lines: int) -> tuple[CanonicalFrames, pd.DataFrame]:
    """The synthetic month as canonical frames (orders, lines and refunds in order-number
    order, so a range of orders is a contiguous slice of each) and the SKU costs."""
    orders, order_lines, refunds, sku_cost = synthetic_month(lines)
    n = len(orders)
    heads = pd.DataFrame({c: pd.Series([None] * n, dtype=object) for c in ORDER_COLUMNS}).assign(
        platform="taobao", shop_id=orders["shop_id"].to_numpy(), order_id=orders["order_id"].to_numpy(),
        status="completed", currency="CNY", total_minor=orders["total_minor"].to_numpy(), post_fee_minor=0,
        discount_minor=0, created_at=orders["created_at"].to_numpy(), paid_at=orders["created_at"].to_numpy(),
        modified_at=orders["created_at"].to_numpy(), shipped_at=orders["shipped_at"].to_numpy(),
        ship_by_at=orders["ship_by_at"].to_numpy(), buyer_key=orders["buyer_key"].to_numpy(),
        line_count=orders["order_id"].map(order_lines.groupby("order_id").size()).fillna(0).astype(int).to_numpy())
    for column in ("created_at", "paid_at", "modified_at", "shipped_at", "ship_by_at"):
        heads[column] = pd.to_datetime(heads[column], utc=True)
    line_frame = pd.DataFrame({c: pd.Series([None] * len(order_lines), dtype=object) for c in LINE_COLUMNS}).assign(
        platform="taobao", shop_id=order_lines["shop_id"].to_numpy(), order_id=order_lines["order_id"].to_numpy(),
        line_no=order_lines["line_no"].to_numpy(), sku=order_lines["sku"].to_numpy(),
        quantity=order_lines["quantity"].to_numpy(),
        unit_price_minor=(order_lines["line_total_minor"] // order_lines["quantity"]).to_numpy(),
        line_total_minor=order_lines["line_total_minor"].to_numpy(), currency="CNY", is_gift=False)
    line_frame["line_id"] = line_frame["order_id"] + "-" + line_frame["line_no"].astype(str)
    refund_frame = pd.DataFrame({c: pd.Series([None] * len(refunds), dtype=object) for c in REFUND_COLUMNS}).assign(
        platform="taobao", shop_id=refunds["shop_id"].to_numpy(), refund_id="R" + refunds["order_id"].to_numpy(),
        order_id=refunds["order_id"].to_numpy(), quantity=1, amount_minor=refunds["amount_minor"].to_numpy(),
        currency="CNY", status="refunded", created_at=refunds["at"].to_numpy(), modified_at=refunds["at"].to_numpy())
    for column in ("created_at", "modified_at"):
        refund_frame[column] = pd.to_datetime(refund_frame[column], utc=True)
    return CanonicalFrames(orders=heads, lines=line_frame, refunds=refund_frame), sku_cost


def load_warehouse(engine: sa.Engine, lines: int) -> None:
    """The synthetic month into a migrated, empty warehouse through ``upsert_orders``, in
    large frames cut by position (each order's lines and refunds are contiguous)."""
    month, sku_cost = canonical_month(lines)
    with engine.begin() as conn:
        conn.execute(sa.insert(Sku.__table__), [dict(sku=s, name=s, unit_cost_minor=int(c), currency="CNY")
                                                for s, c in zip(sku_cost["sku"], sku_cost["unit_cost_minor"])])
    number = {order_id: i for i, order_id in enumerate(month.orders["order_id"])}
    line_at = month.lines["order_id"].map(number).to_numpy()
    refund_at = month.refunds["order_id"].map(number).to_numpy()
    total = len(month.orders)
    for start in range(0, total, LOAD_CHUNK_ORDERS):
        stop = min(start + LOAD_CHUNK_ORDERS, total)
        lines_from, lines_to = np.searchsorted(line_at, [start, stop])
        refunds_from, refunds_to = np.searchsorted(refund_at, [start, stop])
        repository.upsert_orders(engine, CanonicalFrames(
            orders=month.orders.iloc[start:stop], lines=month.lines.iloc[lines_from:lines_to],
            refunds=month.refunds.iloc[refunds_from:refunds_to]))
        print(f"  loaded {stop:,} of {total:,} orders", flush=True)


def _settlement_parts(folder: Path):
    rules_config = load_config(ROOT / "config").rules.settlement
    inputs = load_inputs(**{path.stem: path for path in folder.glob("*.csv")})
    return inputs, SettlementRules.from_config(rules_config), plan_from_config(
        "seed_commission", rules_config.presets["seed_commission"])


def aggregate(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = make_engine(url)
    try:
        sales, kpi_orders = repository.settlement_month_reads(engine, MONTH, [MONTH], ZONE)
        return sales[list(SALES_COLUMNS)], kpi_orders
    finally:
        engine.dispose()


def settle(folder: Path, sales: pd.DataFrame, kpi_orders: pd.DataFrame) -> int:
    inputs, rules, plan = _settlement_parts(folder)
    settlement = settle_month(MONTH, inputs, sales, rules, plan)
    store_kpis(MONTH, settlement.shops, kpi_orders, inputs.expenses, inputs.shop_stats)
    customer_service_kpis(MONTH, inputs)
    return sum(line.commission_minor for line in settlement.lines)


def naive(folder: Path, lines: int) -> int:
    """Row by row over the in-memory month: per shop placed, refunds, late refunds, cost of
    goods, orders, buyers, repeat buyers, on-time — then the same settlement of the shop sums."""
    orders, order_lines, refunds, sku_cost = synthetic_month(lines)
    started = time.perf_counter()
    month_start, month_end = pd.Timestamp("2026-09-30T16:00:00Z"), pd.Timestamp("2026-10-31T16:00:00Z")
    cost = dict(zip(sku_cost["sku"], sku_cost["unit_cost_minor"]))
    placed_month, shop_of = {}, {}
    figures = defaultdict(lambda: defaultdict(int))
    buyers = defaultdict(lambda: defaultdict(int))
    for row in orders.itertuples(index=False):
        shop_of[row.order_id] = row.shop_id
        in_month = month_start <= row.created_at < month_end
        placed_month[row.order_id] = in_month
        if in_month:
            shop = figures[row.shop_id]
            shop["placed_minor"] += row.total_minor
            shop["orders"] += 1
            shop["on_time"] += row.shipped_at <= row.ship_by_at
            buyers[row.shop_id][row.buyer_key] += 1
    for row in order_lines.itertuples(index=False):
        if placed_month[row.order_id]:
            figures[row.shop_id]["cost_of_goods_minor"] += row.quantity * cost[row.sku]
    for row in refunds.itertuples(index=False):
        kind = "refunded_minor" if placed_month[row.order_id] else "late_refunded_minor"
        figures[row.shop_id][kind] += row.amount_minor
    for shop, counts in buyers.items():
        figures[shop]["repeat_buyers"] = sum(1 for n in counts.values() if n >= 2)
    sales = pd.DataFrame([dict(month=MONTH, shop_id=shop, **{c: f[c] for c in SALES_COLUMNS[2:]})
                          for shop, f in figures.items()])
    inputs, rules, plan = _settlement_parts(folder)
    total = sum(line.commission_minor for line in settle_month(MONTH, inputs, sales, rules, plan).lines)
    print(f"    (naive loop {time.perf_counter() - started:.1f} s)", flush=True)
    return total


def child(step: str, url: str, folder: Path, lines: int) -> None:
    """One measured step in this (fresh) process; prints seconds, peak RSS and the commission total."""
    loaded = aggregate(url) if step == "domain settlement" else None
    started = time.perf_counter()
    if step == LOAD:
        engine = make_engine(url)
        load_warehouse(engine, lines)
        engine.dispose()
        total = 0
    elif step == "warehouse aggregation":
        sales, kpi_orders = aggregate(url)
        total = len(kpi_orders)
    elif step == "domain settlement":
        total = settle(folder, *loaded)
    elif step == "settled from the warehouse":
        total = settle(folder, *aggregate(url))
    elif step == BASELINE:
        total = naive(folder, lines)
    else:
        raise SystemExit(f"unknown step {step!r}")
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(seconds=seconds, rss_mb=rss_mb, total=int(total))))


def measure(step: str, url: str, folder: Path, lines: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", step, "--url", url, "--inputs", str(folder),
                           "--lines", str(lines)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{step} child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: dict[tuple[str, str], list[dict]], facts: dict, dialects: list[str], lines: int,
           repeats: int) -> str:
    """The section of docs/BENCHMARKS.md: one row per (dialect, step), the verdict per dialect."""
    baseline = median([r["seconds"] for r in results[("", BASELINE)]])
    rows, verdicts = [], []
    for (dialect, step), runs in results.items():
        seconds = [r["seconds"] for r in runs]
        rows.append(f"| {dialect or 'in memory'} | {step} | {median(seconds):.2f} | {spread(seconds, '.2f')} | "
                    f"{median(seconds) / baseline:.2f}× | {max(r['rss_mb'] for r in runs):,.0f} |")
    for dialect in dialects:
        settled = median([r["seconds"] for r in results[(dialect, "settled from the warehouse")]])
        domain = median([r["seconds"] for r in results[(dialect, "domain settlement")]])
        verdicts.append(f"{dialect} **{'met' if settled <= 20 else 'not met'}** — settled from the warehouse "
                        f"{settled:.1f} s, of which the domain settlement {domain:.1f} s")
    counts = facts["counts"]
    loads = ", ".join(f"{d} {facts['load_seconds'][d]:.0f} s" for d in dialects)
    versions = f"SQLite {sqlite3.sqlite_version}" + (f", PostgreSQL {facts['postgres_version']} (local, default "
                                                      "settings)" if "postgresql" in dialects else "")
    return "\n".join([
        "## Monthly settlement, a month of order lines (`monthly_sales` + `settlement_kpi_orders` → `settle_month`, "
        "`store_kpis`)",
        "",
        f"{counts['order_lines']:,} order lines of {counts['orders']:,} orders ({len(SHOPS)} shops, "
        f"{counts['refunds']:,} refunds of which late ones for {LATE_REFUND_SHARE:.0%} as many orders of the previous "
        f"month), stored in the order placed, in a migrated warehouse per dialect (loaded with `upsert_orders` in "
        f"frames of {LOAD_CHUNK_ORDERS:,} orders: {loads}, not timed). Median of {repeats} runs (min–max); each "
        "step in a fresh child process (peak RSS = its `ru_maxrss`). *Warehouse aggregation*: the set-based SQL "
        "(per-shop sums, cost of goods priced line by line as joined on SQLite and per shop × SKU on PostgreSQL; "
        "one KPI row per order with every flag decided in SQL, read straight from the driver's cursor; the SQLite "
        "file memory-mapped for these reads; the shop sums and the KPI rows read side by side on two connections, "
        "`repository.settlement_month_reads`, as the flow's `load-month-sales` does). *Settled from the warehouse* is "
        "what the flow does: the SQL aggregation, then the domain. On SQLite the peak RSS counts the mapped pages of "
        "the warehouse file (the kernel's page cache, not the process's own memory). "
        "PostgreSQL is analysed after the load, as autovacuum would have. "
        "*Baseline*: the same shop sums computed row by row in a Python loop over the lines, orders and refunds "
        "already in memory, then the same `settle_month` — same commission total (checked).",
        "",
        "| dialect | step | median s | min–max s | time vs baseline | peak RSS MB (max) |",
        "|---|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"Target: a month of 3M order lines settled in ≤ 20 s: {'; '.join(verdicts)}. Measured {utc_stamp()} on "
        f"{machine()}, {versions}; the demo department's input files (shopops/demo_settlement.py).",
        "",
        f"Reproduce: `.venv/bin/python bench/bench_settlement.py --lines {lines} --repeats {repeats} "
        f"--dialects {','.join(dialects)}`",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=3_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dialects", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="30,000 lines, 1 repeat, docs untouched")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.inputs, args.lines)
        return
    dialects = [d.strip() for d in args.dialects.split(",") if d.strip()]
    if set(dialects) - set(DIALECTS) or not dialects:
        parser.error(f"--dialects: choose from {', '.join(DIALECTS)}")
    lines, repeats = (30_000, 1) if args.quick else (args.lines, args.repeats)
    results: dict[tuple[str, str], list[dict]] = {("", BASELINE): []}
    facts: dict = {"load_seconds": {}}
    with tempfile.TemporaryDirectory(prefix="bench-settlement-") as scratch:
        folder = Path(scratch) / "inputs"
        prepare_demo_settlement_inputs(folder, load_config(ROOT / "config"), MONTH)
        for repeat in range(repeats):
            results[("", BASELINE)].append(measure(BASELINE, "", folder, lines))
            print(f"  run {repeat + 1}/{repeats} {BASELINE}: {results[('', BASELINE)][-1]['seconds']:.2f} s", flush=True)
        for dialect in dialects:
            with fresh_warehouse(dialect, Path(scratch)) as engine:
                url = engine.url.render_as_string(hide_password=False)
                print(f"{dialect}: building a warehouse with {lines:,} order lines (not timed)", flush=True)
                facts["load_seconds"][dialect] = measure(LOAD, url, folder, lines)["seconds"]
                with engine.connect() as conn:
                    facts["counts"] = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                                       for t in ("orders", "order_lines", "refunds")}
                    if dialect == "postgresql":
                        conn.execute(sa.text("ANALYZE"))  # as autovacuum would have after a month of ingestion
                        facts["postgres_version"] = conn.execute(sa.text("SHOW server_version")).scalar_one()
                    conn.commit()
                print(f"  {facts['counts']} in {facts['load_seconds'][dialect]:.0f} s", flush=True)
                for repeat in range(repeats):
                    for step in WAREHOUSE_STEPS:
                        runs = results.setdefault((dialect, step), [])
                        runs.append(measure(step, url, folder, lines))
                        print(f"  run {repeat + 1}/{repeats} {dialect} {step}: {runs[-1]['seconds']:.2f} s, "
                              f"peak RSS {runs[-1]['rss_mb']:.0f} MB", flush=True)
    totals = {key: {r["total"] for r in runs} for key, runs in results.items() if key[1] != "warehouse aggregation"}
    if len(set().union(*totals.values())) != 1:
        raise SystemExit(f"the steps disagree on the commission total: {totals}")
    body = report(results, facts, dialects, lines, repeats)
    print(body)
    if not args.quick:
        rewrite_section("settlement", body)


if __name__ == "__main__":
    main()
