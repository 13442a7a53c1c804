"""Benchmark of the shipping-batch domain path: awaiting orders → batches and pick lists.

``domain.batching`` (audit → merge → allocate → assemble_batches → a pick list per batch, in
memory, as the ``plan-batches`` task runs it) next to a naive baseline written the way a
script would: one Python dict per order and line, every rule checked row by row, the same
rules (audit reasons, merge buffer anchored on the first order, nearest deadline then oldest
payment, whole orders from one warehouse, promotion gifts, batches by warehouse/carrier/kind
with a cap, pick lists by bin). Both must produce the same batches, orders and units — the run
stops otherwise. Each measured step runs in a child process of its own (peak RSS = that
child's ``ru_maxrss``); generating the synthetic orders there is not timed.

    .venv/bin/python bench/bench_batching.py --orders 200000 --repeats 3
    .venv/bin/python bench/bench_batching.py --quick       # 5,000 orders, 1 repeat, no docs
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import machine, median, rewrite_section, spread, utc_stamp  # noqa: E402
from domain.batching import (BatchingRules, PromotionGift, allocate, assemble_batches, audit, merge,  # noqa: E402
                             pick_list)
from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS  # noqa: E402

NOW = datetime(2026, 11, 12, 1, 0, tzinfo=timezone.utc)   # 09:00 in Shanghai, the morning after Double 11
RULES = BatchingRules(
    ship_deadline_hours={"default": 48, "shopify": 72}, near_deadline_hours=6, max_orders_per_batch=200,
    merge_buffer_minutes=30, split_policy="no_split",
    remark_keywords_needing_person=("改地址", "换", "退", "急", "备注", "不要", "发票", "change", "address", "urgent"),
    promotion_gifts=(PromotionGift(buy_sku="SKU-0001", gift_sku="GIFT-SOCKS"),))
PLATFORMS = ("taobao", "jd", "pdd", "douyin", "shopify")
CARRIERS = ("SF", "ZTO", "YTO", None)
REMARKS = ("请尽快发货", "不要放快递柜", "谢谢", "想换大一码", None)
SKUS = 600
WAREHOUSES = ("HZ01", "GZ01")


def synthetic_day(orders: int, seed: int = 20261111) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.DataFrame]:
    """``orders`` awaiting orders of a Double-11 morning with 1–3 lines each, ≈4 orders per
    buyer (some merge), some held by the audit (remark keywords, blank address, unpaid presale,
    refunds, unknown SKU), every 25th SKU stocked at half its demand; the catalogue with bins;
    stock in two warehouses. Returns (orders, lines, stock, catalogue)."""
    rng = np.random.default_rng(seed)
    n = np.arange(orders)
    platform = np.array(PLATFORMS, dtype=object)[rng.integers(0, len(PLATFORMS), orders)]
    buyer = rng.integers(0, max(1, orders // 4), orders)
    paid = pd.Timestamp(NOW) - pd.to_timedelta(rng.integers(60, 50 * 3600, orders), unit="s")
    status = np.where(rng.random(orders) < 0.01, "refunding", "paid").astype(object)
    presale = rng.random(orders) < 0.02
    frame = pd.DataFrame({column: None for column in ORDER_COLUMNS}, index=n)
    frame = frame.assign(
        platform=platform, shop_id=[f"{p}-main" for p in platform], order_id=[f"O{i:09d}" for i in n],
        status=status, currency="CNY", total_minor=0, paid_at=paid, modified_at=paid,
        ship_by_at=pd.Series(pd.NaT, index=n, dtype="datetime64[us, UTC]").where(platform != "pdd",
                                                                              paid + pd.Timedelta(hours=36)),
        is_presale=presale, presale_balance_paid=~presale | (rng.random(orders) < 0.5),
        buyer_key=[f"B{b}" for b in buyer], address_hash=[f"A{b}" for b in buyer],
        receiver_name_masked="王*", receiver_phone_masked="138****5678", province="浙江省", city="杭州市",
        district="余杭区", address_masked=np.where(rng.random(orders) < 0.01, "", "文一西路***号"),
        buyer_remark=np.array(REMARKS, dtype=object)[rng.integers(0, len(REMARKS), orders)],
        carrier=np.array(CARRIERS, dtype=object)[rng.integers(0, len(CARRIERS), orders)])[list(ORDER_COLUMNS)]
    frame.loc[rng.random(orders) < 0.9, "buyer_remark"] = None   # most orders carry no remark

    counts = rng.choice([1, 2, 3], size=orders, p=[0.6, 0.3, 0.1])
    owner = np.repeat(n, counts)
    line_no = pd.Series(owner).groupby(owner).cumcount().to_numpy() + 1
    popularity = 1 / np.arange(1, SKUS + 1) ** 0.8
    sku_no = rng.choice(SKUS, size=len(owner), p=popularity / popularity.sum())
    sku = np.array([f"SKU-{s:04d}" for s in range(SKUS)], dtype=object)[sku_no]
    sku[rng.random(len(owner)) < 0.001] = "GHOST-1"          # unknown to the catalogue
    lines = pd.DataFrame({column: None for column in LINE_COLUMNS}, index=np.arange(len(owner)))
    lines = lines.assign(platform=platform[owner], shop_id=frame["shop_id"].to_numpy()[owner],
                         order_id=frame["order_id"].to_numpy()[owner], line_no=line_no, sku=sku,
                         title="商品", variant="颜色:黑色;尺码:L", quantity=rng.choice([1, 1, 1, 2, 3], len(owner)),
                         line_total_minor=0, currency="CNY", is_gift=False, refund_status=None)[list(LINE_COLUMNS)]

    catalogue = pd.DataFrame({"sku": [f"SKU-{s:04d}" for s in range(SKUS)] + ["GIFT-SOCKS"], "name": "商品",
                              "variant": None})
    catalogue["bin_location"] = [f"{'ABCDE'[i % 5]}-{i // 5 % 30:02d}-{i % 12:02d}" for i in range(len(catalogue))]
    demand = lines.groupby("sku")["quantity"].sum().reindex(catalogue["sku"]).fillna(0).to_numpy()
    # most SKUs are well stocked; every 25th is short (half its demand) so allocation order matters
    cover = np.where(np.arange(len(catalogue)) % 25 == 0, 0.5, 1.6)
    units = np.ceil(demand * cover).astype("int64") + 5
    stock = pd.Series(np.concatenate([units - units // 3, units // 3]),
                      index=pd.MultiIndex.from_arrays([np.tile(catalogue["sku"], 2),
                                                       np.repeat(WAREHOUSES, len(catalogue))],
                                                      names=["sku", "warehouse"]))
    return frame, lines, stock, catalogue


# --- the domain path -------------------------------------------------------------------------------

def domain_path(orders, lines, stock, catalogue) -> dict[str, int]:
    audited = audit(orders, lines, set(catalogue["sku"]), RULES)
    allocation = allocate(merge(audited.passed, RULES), lines, stock, RULES, NOW)
    batches = assemble_batches(allocation, RULES)
    picks = [pick_list(batch, catalogue) for batch in batches]
    return {"batches": len(batches), "orders": sum(b.order_count for b in batches),
            "units": int(sum(p["units"].sum() for p in picks)), "held": len(audited.held) + len(allocation.held)}


# --- the naive baseline: one dict per row, every rule row by row ------------------------------------

_ACTIVE_REFUNDS = {"WAIT_SELLER_AGREE", "WAIT_BUYER_RETURN_GOODS", "WAIT_SELLER_CONFIRM_GOODS"}


def naive_path(orders, lines, stock, catalogue) -> dict[str, int]:
    known = set(catalogue["sku"])
    bins = dict(zip(catalogue["sku"], catalogue["bin_location"]))
    lines_of = defaultdict(list)
    for line in lines.to_dict("records"):
        lines_of[(line["platform"], line["shop_id"], line["order_id"])].append(line)
    keywords = [k.casefold() for k in RULES.remark_keywords_needing_person]

    passed, held = [], 0
    for order in orders.to_dict("records"):
        key = (order["platform"], order["shop_id"], order["order_id"])
        reasons = []
        for remark in (order["buyer_remark"], order["seller_remark"]):
            if isinstance(remark, str) and any(k in remark.casefold() for k in keywords):
                reasons.append("remark")
                break
        if any(not isinstance(order[c], str) or not order[c].strip() for c in ("province", "city", "address_masked")):
            reasons.append("address")
        if order["status"] == "presale_deposit_paid" or (order["is_presale"] and not order["presale_balance_paid"]):
            reasons.append("presale")
        if order["status"] == "refunding" or any(l["refund_status"] in _ACTIVE_REFUNDS for l in lines_of[key]):
            reasons.append("refund")
        if any(l["sku"] not in known for l in lines_of[key]):
            reasons.append("sku")
        if reasons:
            held += 1
        else:
            passed.append(order)

    # merge: same shop, buyer and address within the buffer of the group's first order
    buffer = timedelta(minutes=RULES.merge_buffer_minutes)
    groups = {}
    for order in sorted(passed, key=lambda o: (o["paid_at"], o["order_id"])):
        who = (order["platform"], order["shop_id"], order["buyer_key"], order["address_hash"])
        first = groups.get(who)
        if first is not None and order["paid_at"] - first[0] <= buffer:
            order["merge_key"] = first[1]
        else:
            order["merge_key"] = order["order_id"]
            groups[who] = (order["paid_at"], order["order_id"])

    # priority: near deadline first (nearest first), then oldest payment
    near = timedelta(hours=RULES.near_deadline_hours)
    for order in passed:
        given = order["ship_by_at"]
        hours = RULES.ship_deadline_hours.get(order["platform"], RULES.ship_deadline_hours["default"])
        order["deadline"] = given if pd.notna(given) else order["paid_at"] + timedelta(hours=hours)
        order["near"] = order["deadline"] - pd.Timestamp(NOW) <= near
    passed.sort(key=lambda o: (not o["near"], o["deadline"] if o["near"] else o["paid_at"],
                               o["paid_at"] if o["near"] else o["deadline"], o["platform"], o["shop_id"], o["order_id"]))

    # allocate whole orders (gifts included) from one warehouse
    left = {key: int(units) for key, units in stock.items()}
    warehouses = list(dict.fromkeys(w for _, w in left))
    group_warehouse, served = {}, []
    gifts = {g.buy_sku: g for g in RULES.promotion_gifts}
    for priority, order in enumerate(passed):
        wanted = defaultdict(int)
        for line in lines_of[(order["platform"], order["shop_id"], order["order_id"])]:
            wanted[line["sku"]] += line["quantity"]
            gift = gifts.get(line["sku"]) if not line["is_gift"] else None
            if gift is not None:
                wanted[gift.gift_sku] += line["quantity"] * gift.gift_quantity
        preferred = [group_warehouse[order["merge_key"]]] if order["merge_key"] in group_warehouse else []
        for warehouse in dict.fromkeys(preferred + warehouses):
            if all(left.get((sku, warehouse), 0) >= units for sku, units in wanted.items()):
                for sku, units in wanted.items():
                    left[(sku, warehouse)] -= units
                group_warehouse.setdefault(order["merge_key"], warehouse)
                served.append((priority, order, warehouse, dict(wanted)))
                break
        else:
            held += 1

    # parcels → batches by warehouse, carrier, kind; at most the cap of orders each
    parcels = {}
    for priority, order, warehouse, wanted in served:
        parcel = parcels.setdefault((order["merge_key"], warehouse), {
            "warehouse": warehouse, "carrier": None, "first": priority, "orders": 0, "units": 0, "picks": defaultdict(int)})
        parcel["orders"] += 1
        parcel["units"] += sum(wanted.values())
        if parcel["carrier"] is None and isinstance(order["carrier"], str) and order["carrier"]:
            parcel["carrier"] = order["carrier"]
        for sku, units in wanted.items():
            parcel["picks"][sku] += units
    ordered = sorted(parcels.values(), key=lambda p: (p["warehouse"], p["carrier"] or "unassigned",
                                                      "single" if p["units"] == 1 else "multi", p["first"]))
    batches, current, group = [], None, None
    for parcel in ordered:
        this = (parcel["warehouse"], parcel["carrier"] or "unassigned", parcel["units"] == 1)
        if this != group or (current["orders"] and current["orders"] + parcel["orders"] > RULES.max_orders_per_batch):
            current, group = {"orders": 0, "picks": defaultdict(int)}, this
            batches.append(current)
        current["orders"] += parcel["orders"]
        for sku, units in parcel["picks"].items():
            current["picks"][sku] += units
    units = 0
    for batch in batches:
        picks = sorted(batch["picks"].items(), key=lambda item: (bins.get(item[0]) is None, bins.get(item[0]), item[0]))
        units += sum(u for _, u in picks)
    return {"batches": len(batches), "orders": sum(b["orders"] for b in batches), "units": units, "held": held}


PATHS = {"domain": domain_path, "naive": naive_path}


def child(path: str, orders: int) -> None:
    """One measured step in this process: generate (untimed), run, print JSON."""
    data = synthetic_day(orders)
    started = time.perf_counter()
    outcome = PATHS[path](*data)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      **outcome}))


def measure(path: str, orders: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", path, "--orders", str(orders)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="5,000 orders, 1 repeat, docs left alone")
    parser.add_argument("--child", choices=sorted(PATHS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.orders)
        return
    orders, repeats = (5_000, 1) if args.quick else (args.orders, args.repeats)
    runs: dict[str, list[dict]] = {"domain": [], "naive": []}
    for repeat in range(1, repeats + 1):
        for path in ("domain", "naive"):            # alternated, so a busy moment hits both
            result = measure(path, orders)
            runs[path].append(result)
            print(f"  run {repeat}/{repeats} {path:<6} {result['seconds']:7.2f} s  {orders / result['seconds']:>9,.0f} "
                  f"orders/s  peak RSS {result['rss_mb']:,.0f} MB  → {result['batches']} batches, {result['orders']} "
                  f"orders, {result['units']} units, {result['held']} held", flush=True)
    outcomes = {path: {k: r[k] for k in ("batches", "orders", "units", "held")} for path, rs in runs.items() for r in rs}
    if outcomes["domain"] != outcomes["naive"]:
        raise SystemExit(f"the two paths disagree: {outcomes}")
    if args.quick:
        return
    seconds = {path: [r["seconds"] for r in rs] for path, rs in runs.items()}
    rss = {path: max(r["rss_mb"] for r in rs) for path, rs in runs.items()}
    result = outcomes["domain"]
    body = f"""## Shipping batches (`domain.batching`: audit → merge → allocate → batches → pick lists)

{orders:,} synthetic orders awaiting shipment on a Double-11 morning (5 platforms, 1–3 lines each, ≈4 orders per
buyer, some held by the audit — remark keywords, blank address, unpaid presale, refunds, unknown SKU — every 25th
SKU stocked at half its demand, 600 SKUs in 2 warehouses, one promotion gift), in memory. *Domain*: `audit`, `merge`, `allocate`, `assemble_batches` and `pick_list` of every batch, as the
`plan-batches` task runs them. *Naive baseline*: the same rules written row by row — one dict per order and line,
loops for the audit, merge, priority, allocation, parcels, batches and pick lists. Both give the same result
(checked every run): {result['batches']:,} batches, {result['orders']:,} orders, {result['units']:,} units,
{result['held']:,} held. Each run in a child process of its own (peak RSS = its `ru_maxrss`, synthetic data
included); data generation not timed. Median of {repeats} runs (min–max).

| path | time (s) | orders/s | peak RSS (MB) |
|---|---:|---:|---:|
| domain | {median(seconds['domain']):.2f} ({spread(seconds['domain'], '.2f')}) | {orders / median(seconds['domain']):,.0f} | {rss['domain']:,.0f} |
| naive baseline | {median(seconds['naive']):.2f} ({spread(seconds['naive'], '.2f')}) | {orders / median(seconds['naive']):,.0f} | {rss['naive']:,.0f} |

Naive ÷ domain: **{median(seconds['naive']) / median(seconds['domain']):.2f}×**. Target: ≤ 20 s for 200,000 orders.

Measured {utc_stamp()} on {machine()}.
Reproduce: `.venv/bin/python bench/bench_batching.py --orders {orders} --repeats {repeats}`
"""
    rewrite_section("batching", body)
    print(body)


if __name__ == "__main__":
    main()
