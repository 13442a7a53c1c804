"""Benchmark of the stock reconciliation and the restock formula at catalogue scale.

Synthetic inputs (numpy, fixed seed), built inside each measured child process before its
clock starts:

- ``stock-reconcile``: ``--skus`` SKUs in one warehouse listed in ``--shops`` shops (shares
  0.30/0.20/0.15/0.15/0.10/0.10, buffers 1–2); a ledger of an opening, receipts and shipments
  per SKU (≈7 rows a SKU), reserving order lines (2 per SKU), open purchase-order lines (one
  SKU in five), a full warehouse count an hour old (one SKU in fifty off), every listing read
  (one in a hundred edited, one in ten showing an older push, above or below the plan). Step: what reconcile-stock
  computes once its inputs are loaded — ``tasks.stock.reconcile_stock_inputs`` (positions
  now and as of the count, the three-way ``reconcile``, the push plan).
- ``restock``: ``--skus`` SKUs with ``--days`` days of daily sales (a SKU sells on about half
  of the days; a campaign day with uplift 3), positions and supplier terms, last alerts for
  one SKU in three. Step: ``tasks.stock.judge_restock``'s domain part — ``suggest_restock``
  then ``apply_cooldown``.

Each is measured next to a baseline from the same run: the same numbers computed by a plain
Python loop over the SKUs (dicts, no pandas), checked to agree with the step. Every repeat
of every step runs in a fresh child process (peak RSS = its own ``ru_maxrss``, inputs
included).

    .venv/bin/python bench/bench_stock.py --skus 50000 --shops 6 --days 90 --repeats 3
    .venv/bin/python bench/bench_stock.py --quick          # 2,000 SKUs, 1 repeat, docs untouched
"""
from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import machine, median, rewrite_section, spread, utc_stamp  # noqa: E402
from domain.restock import LEVEL_SEVERITY, RestockRules, apply_cooldown, suggest_restock  # noqa: E402
from domain.stock import SHARE_SCALE  # noqa: E402
from tasks.stock import StockInputs, WarehouseCount, reconcile_stock_inputs  # noqa: E402

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 23)
WAREHOUSE = "HZ01"
SHOP_SHARES = [(0.30, 2), (0.20, 2), (0.15, 2), (0.15, 1), (0.10, 1), (0.10, 1)]
TOLERANCE, UNDERSELL_TOLERANCE = 0, 2
RULES = RestockRules(demand_history_days=28, abc_window_days=90, abc_thresholds={"A": 0.80, "B": 0.95},
                     service_level_z={"A": 1.96, "B": 1.65, "C": 1.28}, review_days=7, default_lead_time_days=7,
                     overstock_cover_days=90, demand_method="mean", demand_trim_share=0.10, demand_sigma="std")  # the baseline loop computes §3's plain mean and σ
COOLDOWN = timedelta(hours=24)
SECTIONS = {"stock-reconcile": ("reconcile_stock_inputs", "baseline: loop over SKUs"),
            "restock": ("suggest_restock + apply_cooldown", "baseline: loop over SKUs")}


# --- stock-reconcile ------------------------------------------------------------------------

def reconcile_inputs(skus: int, shops: int, seed: int = 20261123) -> tuple[StockInputs, WarehouseCount]:
    rng = np.random.default_rng(seed)
    names = np.array([f"SKU-{i:06d}" for i in range(skus)], dtype=object)
    opening = rng.integers(0, 400, skus)
    moves_per_sku = 6
    sku_of_move = np.repeat(np.arange(skus), moves_per_sku)
    receipt = rng.random(len(sku_of_move)) < 0.3
    quantity = np.where(receipt, rng.integers(1, 60, len(sku_of_move)), -rng.integers(0, 8, len(sku_of_move)))
    moved = NOW - pd.to_timedelta(rng.integers(2 * 3600, 25 * 86400, len(sku_of_move)), unit="s")
    ledger = pd.concat([
        pd.DataFrame({"sku": names, "warehouse": WAREHOUSE, "moved_at": NOW - timedelta(days=30), "kind": "opening",
                      "quantity": opening}),
        pd.DataFrame({"sku": names[sku_of_move], "warehouse": WAREHOUSE, "moved_at": moved,
                      "kind": np.where(receipt, "receipt", "shipment"), "quantity": quantity})], ignore_index=True)
    ledger["moved_at"] = pd.to_datetime(ledger["moved_at"], utc=True)
    line_sku = np.repeat(np.arange(skus), 2)
    order_lines = pd.DataFrame({"sku": names[line_sku], "warehouse": WAREHOUSE,
                                "quantity": rng.integers(1, 3, len(line_sku)),
                                "status": np.where(rng.random(len(line_sku)) < 0.5, "paid", "shipped"),
                                "is_gift": False})
    po_sku = np.arange(0, skus, 5)
    purchase_orders = pd.DataFrame({"po_no": [f"PO{i}" for i in po_sku], "sku": names[po_sku], "warehouse": WAREHOUSE,
                                    "supplier": "s", "status": "open",
                                    "expected_at": pd.Timestamp(NOW + timedelta(days=5)),
                                    "qty_ordered": 100, "qty_received": rng.integers(0, 50, len(po_sku))})
    on_hand = opening + np.bincount(sku_of_move, weights=quantity, minlength=skus).astype("int64")
    reserved = np.bincount(line_sku, weights=order_lines["quantity"] * (order_lines["status"] == "paid"),
                           minlength=skus).astype("int64")
    available = on_hand - reserved
    frames = []
    for shop in range(shops):
        share, buffer = SHOP_SHARES[shop % len(SHOP_SHARES)]
        planned = np.clip(available * round(share * SHARE_SCALE) // SHARE_SCALE - buffer, 0, None)
        read = planned.copy()
        stale = rng.random(skus) < 0.10
        read[stale] = np.clip(planned[stale] + rng.choice([-5, -4, -3, 1, 2, 3], stale.sum()), 0, None)
        edited = rng.random(skus) < 0.01
        read[edited] = planned[edited] + rng.integers(10, 40, edited.sum())
        pushed = np.where(edited, planned, read)
        frames.append(pd.DataFrame({
            "shop_id": f"shop-{shop}", "marketplace_item_id": [f"{shop}-{i}" for i in range(skus)],
            "marketplace_sku_id": "", "sku": names, "allocation_share": share, "buffer": buffer,
            "last_pushed_qty": pd.array(pushed, dtype="Int64"), "last_read_qty": pd.array(read, dtype="Int64"),
            "sold_since_push": pd.array(np.zeros(skus, dtype="int64"), dtype="Int64")}))
    listings = pd.concat(frames, ignore_index=True)
    counted = on_hand.copy()
    off = rng.random(skus) < 0.02
    counted[off] += rng.choice([-3, -1, 2, 4], off.sum())
    count = WarehouseCount(counts=pd.DataFrame({"sku": names, "warehouse": WAREHOUSE, "counted_qty": counted}),
                           counted_at=NOW - timedelta(hours=1), source="bench")
    return StockInputs(ledger=ledger, order_lines=order_lines, purchase_orders=purchase_orders,
                       listings=listings), count


def reconcile_with_domain(inputs: StockInputs, count: WarehouseCount) -> dict[str, int]:
    result = reconcile_stock_inputs(inputs, count, tolerance=TOLERANCE, undersell_tolerance=UNDERSELL_TOLERANCE)
    kinds = result.discrepancies["kind"].value_counts()
    return {"count_vs_ledger": int(kinds.get("count_vs_ledger", 0)), "oversell_risk": int(kinds.get("oversell_risk", 0)),
            "undersell": int(kinds.get("undersell", 0)), "pushes": int((result.plan["action"] == "push").sum()),
            "planned_units": int(result.plan["planned_qty"].sum())}


def reconcile_by_loop(inputs: StockInputs, count: WarehouseCount) -> dict[str, int]:
    """The same numbers, SKU by SKU in plain Python (one warehouse, every movement dated)."""
    counted_at = pd.Timestamp(count.counted_at)
    before, after = defaultdict(int), defaultdict(int)
    for sku, moved_at, qty in zip(inputs.ledger["sku"], inputs.ledger["moved_at"], inputs.ledger["quantity"]):
        (before if moved_at <= counted_at else after)[sku] += int(qty)
    reserved = defaultdict(int)
    for sku, qty, status in zip(inputs.order_lines["sku"], inputs.order_lines["quantity"], inputs.order_lines["status"]):
        if status in ("paid", "presale_deposit_paid"):
            reserved[sku] += int(qty)
    out = {"count_vs_ledger": 0, "oversell_risk": 0, "undersell": 0, "pushes": 0, "planned_units": 0}
    ledger_at_count = {}
    for sku, qty in zip(count.counts["sku"], count.counts["counted_qty"]):
        ledger_at_count[sku] = before[sku]
        if abs(int(qty) - before[sku]) > TOLERANCE:
            out["count_vs_ledger"] += 1
    # the current on-hand: every movement (the count is compared, not imported, as reconcile-stock does)
    current = {sku: before[sku] + after[sku] for sku in count.counts["sku"]}
    listings = inputs.listings
    for sku, share, buffer, pushed, read, sold in zip(listings["sku"], listings["allocation_share"], listings["buffer"],
                                                      listings["last_pushed_qty"], listings["last_read_qty"],
                                                      listings["sold_since_push"]):
        units = round(float(share) * SHARE_SCALE)
        judged_plan = max((ledger_at_count[sku] - reserved[sku]) * units // SHARE_SCALE - int(buffer), 0)
        plan = max((current[sku] - reserved[sku]) * units // SHARE_SCALE - int(buffer), 0)
        difference = int(read) - judged_plan
        if difference > TOLERANCE:
            out["oversell_risk"] += 1
        elif difference < -UNDERSELL_TOLERANCE:
            out["undersell"] += 1
        edited = int(read) > int(pushed) or int(read) < max(int(pushed) - int(sold), 0)
        if not edited and int(read) != plan:
            out["pushes"] += 1
        out["planned_units"] += plan
    return out


# --- restock --------------------------------------------------------------------------------

def restock_inputs(skus: int, days: int, seed: int = 20261124):
    rng = np.random.default_rng(seed)
    names = np.array([f"SKU-{i:06d}" for i in range(skus)], dtype=object)
    rate = rng.gamma(0.6, 3.0, skus)                       # a long tail of slow movers
    history = pd.date_range(end=pd.Timestamp(TODAY) - pd.Timedelta(days=1), periods=days, freq="D")
    sells = rng.random((days, skus)) < 0.5
    units = np.where(sells, rng.poisson(np.maximum(rate * 2, 0.1), (days, skus)), 0)
    day_idx, sku_idx = np.nonzero(units)
    price = rng.integers(1000, 30000, skus)
    sales = pd.DataFrame({"sku": names[sku_idx], "day": history[day_idx].date, "units": units[day_idx, sku_idx],
                          "revenue_minor": units[day_idx, sku_idx] * price[sku_idx]})
    stock = pd.DataFrame({"sku": names, "available": rng.integers(-5, 400, skus),
                          "in_transit": np.where(rng.random(skus) < 0.2, 100, 0)})
    terms = pd.DataFrame({"sku": names, "lead_time_days": pd.array(rng.choice([5, 10, 14], skus), dtype="Int64"),
                          "case_pack": rng.choice([1, 6, 10, 20], skus), "moq": rng.choice([1, 30, 50, 100], skus)})
    sent = np.arange(0, skus, 3)
    last_sent = pd.DataFrame({"sku": names[sent], "level": rng.choice(["warning", "critical", "overstock"], len(sent)),
                              "last_sent_at": pd.Timestamp(NOW - timedelta(hours=6))})
    uplift = pd.Series({history[-10].date(): 3.0})
    return sales, stock, terms, last_sent, uplift


def restock_with_domain(sales, stock, terms, last_sent, uplift) -> dict[str, int]:
    suggestions = suggest_restock(sales, stock, terms, RULES, TODAY, uplift)
    judged = apply_cooldown(suggestions, last_sent, NOW, COOLDOWN)
    levels = judged["level"].value_counts()
    return {"critical": int(levels.get("critical", 0)), "warning": int(levels.get("warning", 0)),
            "overstock": int(levels.get("overstock", 0)), "sent": int(judged["send"].sum()),
            "suggested_units": int(judged["suggested_qty"].sum())}


def restock_by_loop(sales, stock, terms, last_sent, uplift) -> dict[str, int]:
    """The §3 formula SKU by SKU in plain Python."""
    history = [TODAY - timedelta(days=n) for n in range(RULES.demand_history_days, 0, -1)]
    window_start = TODAY - timedelta(days=RULES.abc_window_days)
    factors = {d: f for d, f in uplift.items()}
    daily: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    revenue: dict[str, int] = defaultdict(int)
    for sku, day, units, money in zip(sales["sku"], sales["day"], sales["units"], sales["revenue_minor"]):
        daily[sku][day] += int(units)
        if window_start <= day < TODAY:
            revenue[sku] += int(money)
    skus = list(terms["sku"])
    ranked = sorted(skus, key=lambda s: (-revenue[s], s))
    total = sum(revenue[s] for s in skus)
    abc, running = {}, 0
    for sku in ranked:
        share_before = running / total if total else 1.0
        abc[sku] = "A" if share_before < RULES.abc_thresholds["A"] else ("B" if share_before < RULES.abc_thresholds["B"]
                                                                         else "C")
        running += revenue[sku]
    held = {s: (int(a), int(t)) for s, a, t in zip(stock["sku"], stock["available"], stock["in_transit"])}
    last = {s: (lv, at) for s, lv, at in zip(last_sent["sku"], last_sent["level"], last_sent["last_sent_at"])}
    out = {"critical": 0, "warning": 0, "overstock": 0, "sent": 0, "suggested_units": 0}
    for sku, lead, pack, moq in zip(terms["sku"], terms["lead_time_days"], terms["case_pack"], terms["moq"]):
        values = [daily[sku].get(d, 0) / factors.get(d, 1.0) for d in history]
        d = round(statistics.fmean(values), 6)
        sigma = round(statistics.stdev(values), 6)
        z = RULES.service_level_z[abc[sku]]
        ss = round(z * sigma * math.sqrt(lead), 6)
        rop = round(d * lead + ss, 6)
        order_up_to = round(d * (lead + RULES.review_days) + ss, 6)
        available, in_transit = held[sku]
        position = available + in_transit
        cover = round(position / d, 6) if d > 0 else (math.inf if position > 0 else math.nan)
        if d > 0 and cover < lead:
            level = "critical"
        elif d > 0 and position <= rop:
            level = "warning"
        elif cover > RULES.overstock_cover_days:
            level = "overstock"
        else:
            continue
        out[level] += 1
        if level != "overstock":
            raw = round(order_up_to - position, 6)
            out["suggested_units"] += math.ceil(max(raw, moq) / pack) * pack
        previous = last.get(sku)
        if (previous is None or NOW - previous[1] >= COOLDOWN
                or LEVEL_SEVERITY[level] > LEVEL_SEVERITY[previous[0]]):
            out["sent"] += 1
    return out


# --- measuring --------------------------------------------------------------------------------

def child(section: str, step: str, skus: int, shops: int, days: int) -> None:
    """One measured step in this (fresh) process: builds its inputs, then times the step."""
    if section == "stock-reconcile":
        inputs = reconcile_inputs(skus, shops)
        run = reconcile_with_domain if step == SECTIONS[section][0] else reconcile_by_loop
    else:
        inputs = restock_inputs(skus, days)
        run = restock_with_domain if step == SECTIONS[section][0] else restock_by_loop
    started = time.perf_counter()
    result = run(*inputs)
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(seconds=seconds, rss_mb=rss_mb, result=result)))


def measure(section: str, step: str, skus: int, shops: int, days: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", section, "--step", step, "--skus", str(skus),
                           "--shops", str(shops), "--days", str(days)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(section: str, results: dict[str, list[dict]]) -> list[str]:
    step, base = SECTIONS[section]
    baseline = median([r["seconds"] for r in results[base]])
    rows = []
    for name in (step, base):
        seconds = [r["seconds"] for r in results[name]]
        rows.append(f"| {name} | {median(seconds):.2f} | {spread(seconds, '.2f')} | {median(seconds) / baseline:.2f}× "
                    f"| {max(r['rss_mb'] for r in results[name]):,.0f} |")
    return ["| step | median s | min–max s | time vs baseline | peak RSS MB (max) |", "|---|---:|---:|---:|---:|", *rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=50_000)
    parser.add_argument("--shops", type=int, default=6)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 SKUs, 1 repeat, docs untouched")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.step, args.skus, args.shops, args.days)
        return
    skus, repeats = (2_000, 1) if args.quick else (args.skus, args.repeats)
    reproduce = (f"Reproduce: `.venv/bin/python bench/bench_stock.py --skus {skus} --shops {args.shops} "
                 f"--days {args.days} --repeats {repeats}`")
    for section, steps in SECTIONS.items():
        results: dict[str, list[dict]] = {step: [] for step in steps}
        for repeat in range(repeats):
            for step in steps:
                results[step].append(measure(section, step, skus, args.shops, args.days))
                print(f"  {section} run {repeat + 1}/{repeats} {step}: {results[step][-1]['seconds']:.2f} s, "
                      f"peak RSS {results[step][-1]['rss_mb']:.0f} MB", flush=True)
        answers = {json.dumps(r["result"], sort_keys=True) for runs in results.values() for r in runs}
        if len(answers) != 1:
            raise SystemExit(f"{section}: the step and its baseline disagree: {answers}")
        outcome = ", ".join(f"{k} {v:,}" for k, v in json.loads(answers.pop()).items())
        if section == "stock-reconcile":
            heading = (f"## Stock reconciliation, {skus:,} SKUs × {args.shops} shops "
                       f"(`tasks.stock.reconcile_stock_inputs`)")
            what = (f"{skus:,} SKUs in one warehouse listed in {args.shops} shops ({skus * args.shops:,} listings); "
                    f"a ledger of ≈7 movements a SKU, 2 order lines a SKU, an open PO line for one SKU in five, a full "
                    "warehouse count. The step is what reconcile-stock computes once its inputs are loaded: positions "
                    "now and as of the count, the three-way reconciliation, the push plan (loading from the warehouse "
                    "and the listing reads over HTTP are not in it). Target ≤ 10 s.")
        else:
            heading = f"## Restock, {skus:,} SKUs with {args.days} days of sales (`suggest_restock` + `apply_cooldown`)"
            what = (f"{skus:,} SKUs, {args.days} days of daily sales (a SKU sells on about half of the days; one "
                    "campaign day with uplift 3), positions, supplier terms, last alerts for one SKU in three: "
                    "demand and σ over 28 days, ABC over 90 days, SS/ROP/S, levels, case packs and MOQs, the cooldown. "
                    "Target ≤ 10 s.")
        body = "\n".join([
            heading, "", what + f" Median of {repeats} runs (min–max); each run in a fresh child process that builds "
            "its inputs before the clock starts (peak RSS = its `ru_maxrss`, inputs included). *Baseline*: the same "
            "numbers computed by a plain Python loop over the SKUs (dicts, no pandas), checked equal: "
            f"{outcome}.", "", *table(section, results), "",
            f"Measured {utc_stamp()} on {machine()}.", "", reproduce])
        print(body, flush=True)
        if not args.quick:
            rewrite_section(section, body)


if __name__ == "__main__":
    main()
