"""A simulated week of the demo's world: every flow on its schedule, invariants after every run.

Issue 17's proof. The sandbox marketplace serves the demo's world re-dated so that the week
lies in the past (its clock is stepped, never free-running): seven operating days, each with
the deployments' schedules of ``prefect.yaml`` — the order pull every 10 minutes (every
``pull_every`` minutes at the small scale), reconcile-stock hourly (``reconcile_every``),
restock at 08:00, three shipping-batch runs (09:00, 14:00, 17:30), the customer-service
follow-up at 09:00, the warehouse moving batches picked → packed → handed over, a mid-week
settlement of last month with a manager's decision, and a campaign prepare → start → close
with its every-minute pull in the window. Between runs the world changes as a marketplace
does (orders paid, cancelled, shipped from the back office, refunded) and buyers ask for
refunds of orders already in a batch.

Layout: the test (``tests/integration/test_proof_week.py``) owns the processes — the sandbox,
a real ``prefect server`` — and starts this module as the *runner* once per life of the stack
(``python tests/helpers/week.py --life 1 …``). After day 3 the test stops the runner and the
Prefect server and starts both again (the marketplace, being the outside world, stays up):
the second life must go on from what the warehouse and Prefect kept.

Flows run in the runner's process against the real server (the deployments' entrypoints
with their schedule's parameters, plus the simulated ``now``), not through a worker: a worker
process per run would cost ≈5 s of imports × ≈300 runs. After every run the runner checks the
invariants below against the warehouse and the run's own report, counts each check, and
writes ``<data>/week/checks-life<N>.json``; it exits 1 on the first broken invariant.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import yaml  # noqa: E402

BEIJING = ZoneInfo("Asia/Shanghai")
WEEK_DAYS = 7
RESTART_AFTER_DAY = 3
#: the campaign of the week (written into the week's config/promotions/)
CAMPAIGN = "week-flash-2026"


@dataclass(frozen=True)
class Scale:
    """How dense the week is. ``full`` follows prefect.yaml's schedules exactly."""

    orders_per_day: int          # the week's trading days (the 92-day history stays at 120/day)
    pull_every: int              # minutes between order pulls (prefect.yaml: 10)
    reconcile_every: int         # minutes between reconcile-stock runs (prefect.yaml: 60)
    campaign_pull_every: int     # minutes between campaign pulls in the window (rules.yaml: 1)
    flow_moves_per_wave: int     # batches a wave moves through the batch-lifecycle flow (the rest: CLI path)
    refunds_per_wave: int        # refunds buyers ask for on batched orders before each wave


SCALES = {
    "small": Scale(orders_per_day=300, pull_every=180, reconcile_every=360, campaign_pull_every=30,
                   flow_moves_per_wave=1, refunds_per_wave=3),
    "full": Scale(orders_per_day=3000, pull_every=10, reconcile_every=60, campaign_pull_every=1,
                  flow_moves_per_wave=3, refunds_per_wave=12),
}


def week_start(wall_now: datetime) -> datetime:
    """Day 1 00:00 Beijing: the week ends at least a day before the wall clock (all of it is past,
    so signed timestamps and "not in the future" checks see real time, as in production)."""
    today = wall_now.astimezone(BEIJING).date()
    first = today - timedelta(days=WEEK_DAYS + 1)
    return datetime(first.year, first.month, first.day, tzinfo=BEIJING).astimezone(timezone.utc)


def day_start(first: datetime, day: int) -> datetime:
    local = first.astimezone(BEIJING) + timedelta(days=day - 1)
    return local.replace(hour=0, minute=0).astimezone(timezone.utc)


def at(first: datetime, day: int, hh: int, mm: int = 0) -> datetime:
    return day_start(first, day) + timedelta(hours=hh, minutes=mm)


def campaign_window(first: datetime) -> tuple[datetime, datetime, date]:
    """The flash sale: day 5 20:00–23:00 Beijing; stock ready by day 3 (the prep date)."""
    return at(first, 5, 20), at(first, 5, 23), (first.astimezone(BEIJING) + timedelta(days=2)).date()


# --- the day's events ------------------------------------------------------------------------

@dataclass(order=True)
class Event:
    when: datetime
    rank: int                    # same minute: the order a morning goes (pull before the rest)
    kind: str = field(compare=False)
    args: dict = field(default_factory=dict, compare=False)


RANK = {"pull": 0, "campaign-pull": 1, "check-warehouse": 2, "reconcile": 3, "restock": 4, "plant-refunds": 5,
        "shipping": 6, "followup": 7, "lifecycle": 8, "settlement": 9, "campaign-prep": 10,
        "campaign": 11}


def day_events(first: datetime, day: int, scale: Scale) -> list[Event]:
    start = day_start(first, day)
    events = [Event(start + timedelta(minutes=m), RANK["pull"], "pull") for m in range(0, 24 * 60, scale.pull_every)]
    events += [Event(start + timedelta(minutes=m), RANK["reconcile"], "reconcile")
               for m in range(0, 24 * 60, scale.reconcile_every)]
    events += [Event(at(first, day, 7, 30), RANK["check-warehouse"], "check-warehouse"),
               Event(at(first, day, 8), RANK["restock"], "restock"),
               Event(at(first, day, 9), RANK["followup"], "followup")]
    for hh, mm in ((9, 0), (14, 0), (17, 30)):
        events.append(Event(at(first, day, hh, mm), RANK["shipping"], "shipping"))
        # half an hour later buyers ask for refunds of orders just batched: the next run pulls them out
        events.append(Event(at(first, day, hh, mm + 30), RANK["plant-refunds"], "plant-refunds"))
        events.append(Event(at(first, day, hh + 2, mm), RANK["lifecycle"], "lifecycle"))
    if day == 4:   # mid-week: last month's statement, approved by the manager
        events.append(Event(at(first, day, 10), RANK["settlement"], "settlement"))
    window_start, window_end, _ = campaign_window(first)
    if day == 3:   # the operator pushes the promoted SKUs' stock and closes their records, then prepares
        events.append(Event(at(first, day, 10), RANK["campaign-prep"], "campaign-prep"))
        events.append(Event(at(first, day, 10), RANK["campaign"], "campaign", {"phase": "prepare"}))
    if day == 5:
        events.append(Event(window_start - timedelta(hours=1), RANK["campaign"], "campaign", {"phase": "start"}))
        minute = window_start
        while minute < window_end:
            events.append(Event(minute, RANK["campaign-pull"], "campaign-pull"))
            minute += timedelta(minutes=scale.campaign_pull_every)
        events.append(Event(window_start + (window_end - window_start) / 2, RANK["campaign"], "campaign",
                            {"phase": "report"}))
    if day == 6:
        events.append(Event(at(first, day, 10), RANK["campaign"], "campaign", {"phase": "close"}))
    return sorted(events)


# --- the stack: the demo's, re-dated -------------------------------------------------------------

def week_stack(data_dir: Path, prefect_port: int, sandbox_port: int, scale: Scale, first: datetime):
    """A :class:`shopops.demo.DemoStack` whose world is the week's (history + seven days)."""
    from config.settings import Settings
    from shopops.demo import DEMO_HISTORY_DAYS, DEMO_HISTORY_ORDERS_PER_DAY, DEMO_SCENARIO, DemoStack

    class WeekStack(DemoStack):
        def _write_scenario(self) -> Path:
            from config.settings import PROJECT_ROOT

            source = PROJECT_ROOT / "config" / "scenarios" / f"{DEMO_SCENARIO}.yaml"
            spec = yaml.safe_load(source.read_text(encoding="utf-8"))
            start = first - timedelta(days=DEMO_HISTORY_DAYS)
            end = first + timedelta(days=WEEK_DAYS, hours=1)
            self.today_start = first
            spec.update(name="week", start=start.isoformat(), days=(end - start).total_seconds() / 86400,
                        orders_per_day=DEMO_HISTORY_ORDERS_PER_DAY,
                        surges=[{"start": first.isoformat(), "end": end.isoformat(),
                                 "multiplier": scale.orders_per_day / DEMO_HISTORY_ORDERS_PER_DAY}])
            spec.pop("end", None)
            # shopops ships the week's orders: the back office ships only the ones left behind
            # (later than the demo's 2–36 h), so batches, holds for stock and pull-outs all happen
            spec["late_changes"] = {**spec.get("late_changes", {}), "ship_delay_hours": [30, 72]}
            target = self.data_dir / "sandbox" / "week-scenario.yaml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
            return target

        @property
        def scenario_path(self) -> Path:
            return self.data_dir / "sandbox" / "week-scenario.yaml"

        def _seed_history(self, engine, world) -> None:
            """History as the warehouse held it on the morning of day 1 (not as of the wall clock:
            the week must discover every later change itself)."""
            from warehouse import repository

            for shop_id in world.orders:
                repository.upsert_orders(engine, world.ground_truth(shop_id, as_of=first))

    settings = Settings(data_dir=data_dir, prefect_port=prefect_port, sandbox_port=sandbox_port, locale="zh_CN")
    stack = WeekStack(settings=settings, say=lambda s: print(s, flush=True))
    stack.today_start = first
    return stack


# --- invariants ----------------------------------------------------------------------------------

class Broken(AssertionError):
    pass


class Checks:
    """Every check made, how often, and the first breach of each (printed at the end)."""

    def __init__(self, keep_going: bool = False):
        self.counts: dict[str, int] = defaultdict(int)
        self.breaches: dict[str, str] = {}
        self.breach_counts: dict[str, int] = defaultdict(int)
        #: record every breach and go on (to see them all at once), instead of stopping at the first
        self.keep_going = keep_going

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.counts[name] += 1
        if not ok:
            self.breaches.setdefault(name, detail)
            self.breach_counts[name] += 1
            if self.keep_going:
                print(f"BREACH: {name}: {detail}", flush=True)
                return
            raise Broken(f"{name}: {detail}")

    def as_json(self) -> dict:
        return {"counts": dict(self.counts), "breaches": self.breaches, "breach_counts": dict(self.breach_counts)}


OPEN_BATCH = "('created', 'picked', 'packed')"


def _rows(engine, sql: str, **params) -> list:
    import sqlalchemy as sa

    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def _utc(value) -> datetime:
    import pandas as pd

    return pd.Timestamp(value).tz_localize("UTC").to_pydatetime() if pd.Timestamp(value).tzinfo is None \
        else pd.Timestamp(value).tz_convert("UTC").to_pydatetime()


def check_warehouse(engine, checks: Checks, after: str, sim_now: datetime, lag: timedelta) -> None:
    """The invariants that hold after any run, whatever it was."""
    dup = _rows(engine, "SELECT kind, sku, warehouse, COALESCE(shop_id, ''), COALESCE(marketplace_item_id, ''), "
                        "COALESCE(marketplace_sku_id, ''), COUNT(*) FROM stock_discrepancies WHERE status = 'open' "
                        "GROUP BY 1, 2, 3, 4, 5, 6 HAVING COUNT(*) > 1")
    checks.check("one open discrepancy per key", not dup, f"after {after}: {dup[:3]}")
    twice = _rows(engine, f"SELECT bo.shop_id, bo.order_id, COUNT(*) FROM batch_orders bo JOIN shipping_batches b "
                          f"ON b.batch_id = bo.batch_id WHERE bo.status = 'in_batch' AND b.status IN {OPEN_BATCH} "
                          f"GROUP BY 1, 2 HAVING COUNT(*) > 1")
    checks.check("an order is in at most one open batch", not twice, f"after {after}: {twice[:3]}")
    gone = _rows(engine, f"SELECT bo.shop_id, bo.order_id, o.status FROM batch_orders bo JOIN shipping_batches b "
                         f"ON b.batch_id = bo.batch_id JOIN orders o ON o.platform = bo.platform AND "
                         f"o.shop_id = bo.shop_id AND o.order_id = bo.order_id WHERE bo.status = 'in_batch' AND "
                         f"b.status IN ('handed_over') AND o.status IN ('paid')")
    checks.check("a handed-over order is not left paid", not gone, f"after {after}: {gone[:3]}")
    # the ledger: every handed-over batch line posted once as a shipment, nothing else shipped
    shipped = _rows(engine, "SELECT bl.sku, bl.warehouse, SUM(bl.quantity) FROM batch_lines bl JOIN batch_orders bo "
                            "ON bo.batch_id = bl.batch_id AND bo.platform = bl.platform AND bo.shop_id = bl.shop_id "
                            "AND bo.order_id = bl.order_id JOIN shipping_batches b ON b.batch_id = bl.batch_id "
                            "WHERE b.status = 'handed_over' AND bo.status IN ('in_batch', 'shipped') GROUP BY 1, 2")
    posted = _rows(engine, "SELECT sku, warehouse, -SUM(quantity) FROM stock_ledger WHERE kind = 'shipment' "
                           "GROUP BY 1, 2")
    expected = {(s, w): int(q) for s, w, q in shipped}
    booked = {(s, w): int(q) for s, w, q in posted}
    checks.check("ledger shipments = units of handed-over batches", expected == booked,
                 f"after {after}: {sorted(set(expected.items()) ^ set(booked.items()))[:5]}")
    dup_ledger = _rows(engine, "SELECT kind, reference, sku, warehouse, COUNT(*) FROM stock_ledger "
                               "GROUP BY 1, 2, 3, 4 HAVING COUNT(*) > 1")
    checks.check("every stock movement posted once", not dup_ledger, f"after {after}: {dup_ledger[:3]}")
    balance = _rows(engine, "SELECT sku, warehouse, SUM(CASE WHEN kind = 'opening' THEN quantity ELSE 0 END), "
                            "SUM(CASE WHEN kind = 'receipt' THEN quantity ELSE 0 END), "
                            "SUM(CASE WHEN kind = 'shipment' THEN quantity ELSE 0 END), "
                            "SUM(CASE WHEN kind IN ('adjustment', 'stocktake') THEN quantity ELSE 0 END), "
                            "SUM(quantity) FROM stock_ledger GROUP BY 1, 2")
    off = [r for r in balance if int(r[2]) < 0 or int(r[3]) < 0 or int(r[4]) > 0]
    checks.check("ledger signs: openings and receipts in, shipments out", not off, f"after {after}: {off[:3]}")
    ahead = [(shop, mark) for shop, mark in _rows(engine, "SELECT shop_id, watermark_at FROM ingest_watermarks")
             if mark is not None and _utc(mark) > sim_now - lag]
    checks.check("no watermark past the pulled window", not ahead, f"after {after}: {ahead[:3]}")


# --- the runner: one life of the stack -------------------------------------------------------------

class WeekRunner:
    def __init__(self, stack, scale: Scale, first: datetime, checks: Checks):
        from config.schema import load_config
        from config.settings import get_settings
        from warehouse.db import make_engine

        self.stack, self.scale, self.first, self.checks = stack, scale, first, checks
        get_settings.cache_clear()
        self.settings = get_settings()
        self.config = load_config()
        self.engine = make_engine(self.settings.warehouse_url)
        self.lag = timedelta(minutes=self.config.rules.orders.safety_lag_minutes)
        self.sandbox = stack.sandbox_url
        self.runs: list[dict] = []
        self.last_shipping: dict | None = None
        #: the most orders one shipping run pulled out of their batches (issue 17, defect 1: two or more)
        self.most_pulled_out = 0

    # the marketplace's clock
    def clock(self, when: datetime) -> None:
        requests.post(f"{self.sandbox}/_sandbox/clock", json={"now": when.isoformat(), "rate": 0},
                      timeout=10).raise_for_status()

    def _run(self, label: str, flow, when: datetime, **parameters):
        """A flow run as its deployment would start it; Completed, or the week is broken."""
        started = time.monotonic()
        state = flow(**parameters, return_state=True)
        result = state.result(raise_on_failure=False)
        self.runs.append({"flow": label, "at": when.isoformat(), "state": state.type.value,
                          "seconds": round(time.monotonic() - started, 2)})
        self.checks.check("every flow run Completed", state.is_completed(),
                          f"{label} at {when:%m-%d %H:%M} UTC ended {state.type.value}: {state.message} {result!r:.500}")
        return result, state

    # --- events ---------------------------------------------------------------------------------
    def pull(self, when: datetime, shops: list[str] | None = None) -> None:
        from flows.orders import pull_orders

        before = self._capture_total()
        rows, state = self._run("pull-orders", pull_orders, when, shops=shops, until=when - self.lag)
        new = sum(int(r["orders_new"]) for r in rows)
        quarantined = sum(int(r["quarantined"]) for r in rows)
        after = self._capture_total()
        self.checks.check("pull report = capture log (new, quarantined)",
                          (after[0] - before[0], after[1] - before[1]) == (new, quarantined),
                          f"report new {new} quarantined {quarantined}, capture log {after[0] - before[0]}, "
                          f"{after[1] - before[1]}")

    def _capture_total(self) -> tuple[int, int]:
        row = _rows(self.engine, "SELECT COALESCE(SUM(orders_new), 0), COALESCE(SUM(quarantined), 0) FROM capture_log")[0]
        return int(row[0]), int(row[1])

    def reconcile(self, when: datetime, count_file: str | None = None) -> None:
        from flows.stock import reconcile_stock

        counts, state = self._run("reconcile-stock", reconcile_stock, when, count_file=count_file, read_listings=True)
        open_now = _rows(self.engine, "SELECT COUNT(*) FROM stock_discrepancies WHERE status = 'open'")[0][0]
        self.checks.check("reconcile: open discrepancies >= found this run", int(open_now) >= counts["discrepancies"],
                          f"{open_now} open, report {counts}")
        import pandas as pd

        from warehouse import repository
        positions = repository.read_positions(self.engine).set_index(["sku", "warehouse"])["on_hand"]
        ledger = repository.read_ledger(self.engine)
        ledger["moved_at"] = pd.to_datetime(ledger["moved_at"], utc=True)
        # written out again here, independently of domain.stock: the latest count of a pair, plus
        # what moved after it; a pair never counted is opening + receipts − shipments ± adjustments
        expected = {}
        for key, rows in ledger.groupby(["sku", "warehouse"]):
            counts = rows[rows["kind"] == "stocktake"].sort_values("moved_at")
            if len(counts):
                last = counts.iloc[-1]
                later = rows[(rows["kind"] != "stocktake") & (rows["moved_at"] > last["moved_at"])]
                expected[key] = int(last["quantity"]) + int(later["quantity"].sum())
            else:
                expected[key] = int(rows["quantity"].sum())
        both = pd.concat([positions.rename("pos"), pd.Series(expected, dtype="int64").rename("ledger")], axis=1).fillna(0)
        off = both[both["pos"] != both["ledger"]]
        self.checks.check("stock positions = last count + movements since (ledger balance)", off.empty,
                          f"{off.head(3).to_dict('index')}")

    def restock(self, when: datetime) -> None:
        from flows.stock import restock_alerts

        self._run("restock-alerts", restock_alerts, when, now=when)

    def check_warehouse_flow(self, when: datetime) -> None:
        from flows.warehouse_check import check_warehouse as flow

        self._run("check-warehouse", flow, when)

    def plant_refunds(self, when: datetime) -> None:
        """Buyers ask for refunds of orders already in a batch (some settled at once): the next
        shipping run must pull two or more out (issue 17, defect 1)."""
        from sandbox import wire

        platforms = {s.id: s.platform for s in self.config.shops}
        batched = _rows(self.engine, f"SELECT bo.shop_id, bo.order_id FROM batch_orders bo JOIN shipping_batches b "
                                     f"ON b.batch_id = bo.batch_id WHERE bo.status = 'in_batch' AND "
                                     f"b.status IN {OPEN_BATCH} ORDER BY bo.batch_id, bo.order_id")
        asked = 0
        for n, (shop_id, order_id) in enumerate(batched):
            if asked >= self.scale.refunds_per_wave:
                break
            if not wire.TRAITS[platforms[shop_id]].refunds_visible or n % 3:
                continue
            reply = requests.post(f"{self.sandbox}/_sandbox/refund", timeout=10,
                                  json={"shop_id": shop_id, "order_id": order_id, "settle": bool(asked % 2)})
            asked += reply.status_code == 200

    def shipping(self, when: datetime) -> None:
        from flows.shipping import shipping_batches

        pulled_before = _rows(self.engine, "SELECT COUNT(*) FROM batch_orders WHERE status = 'pulled_out'")[0][0]
        counts, state = self._run("shipping-batches", shipping_batches, when, now=when)
        run_id = str(state.state_details.flow_run_id)
        made = _rows(self.engine, "SELECT COUNT(*), COALESCE(SUM(order_count), 0) FROM shipping_batches "
                                  "WHERE flow_run_id = :r", r=run_id)[0]
        members = _rows(self.engine, "SELECT COUNT(*) FROM batch_orders bo JOIN shipping_batches b ON "
                                     "b.batch_id = bo.batch_id WHERE b.flow_run_id = :r", r=run_id)[0][0]
        self.checks.check("shipping report = warehouse (batches, orders)",
                          (counts["batches"], counts["orders"]) == (int(made[0]), int(made[1])) == (int(made[0]), int(members)),
                          f"report {counts['batches']} batches {counts['orders']} orders; warehouse {tuple(made)}, "
                          f"{members} members")
        pulled_after = _rows(self.engine, "SELECT COUNT(*) FROM batch_orders WHERE status = 'pulled_out'")[0][0]
        self.checks.check("shipping report = warehouse (pulled out)", counts["pulled_out"] == pulled_after - pulled_before,
                          f"report {counts['pulled_out']}, warehouse {pulled_after - pulled_before}")
        held = _rows(self.engine, "SELECT COUNT(DISTINCT shop_id || '/' || order_id) FROM order_holds "
                                  "WHERE released_at IS NULL")[0][0]
        self.checks.check("shipping report = warehouse (held)", counts["held"] == int(held),
                          f"report {counts['held']}, warehouse {held}")
        self.most_pulled_out = max(self.most_pulled_out, int(counts["pulled_out"]))
        self.last_shipping = {"at": when, "run_id": run_id, "counts": counts}

    def followup(self, when: datetime) -> None:
        import pandas as pd

        from flows.followup import customer_service_followup

        counts, state = self._run("customer-service-followup", customer_service_followup, when, now=when)
        folder = self.settings.report_folder / "customer-service-followup"
        newest = max(folder.glob("*.xlsx"), key=lambda p: p.stat().st_mtime)
        sheets = pd.read_excel(newest, sheet_name=None, dtype=str)
        out = next((frame for name, frame in sheets.items() if "stock" in name or "缺货" in name), None)
        ids = set()
        if out is not None and len(out):
            column = next(c for c in out.columns if c in ("order_id", "订单号"))
            ids = set(out[column].astype(str))
        batched = {str(r[0]) for r in _rows(
            self.engine, f"SELECT bo.order_id FROM batch_orders bo JOIN shipping_batches b ON b.batch_id = bo.batch_id "
                         f"WHERE bo.status = 'in_batch' AND b.status IN {OPEN_BATCH}")}
        both = sorted(ids & batched)
        self.checks.check("no order both in a batch and out of stock", not both,
                          f"{len(both)} of {len(ids)} out-of-stock orders are batched: {both[:5]}")
        if self.last_shipping and self.last_shipping["at"] == when:
            shipping = self.last_shipping["counts"]
            self.checks.check("CS and shipping agree on near/past deadline",
                              counts.get("deadline") == shipping["near_deadline"] + shipping["past_deadline"],
                              f"CS {counts}, shipping {shipping}")

    def lifecycle(self, when: datetime) -> None:
        """The warehouse picks, packs and hands over what the last run batched: a few batches
        through the batch-lifecycle flow (the UI path), the rest through `shopops batch` (CLI)."""
        from flows.shipping import batch_lifecycle
        from tasks.shipping import move_batch

        # the batches of the runs before the latest one (the latest run's wait for the next wave)
        latest = self.last_shipping["run_id"] if self.last_shipping else ""
        waiting = [r[0] for r in _rows(self.engine, "SELECT batch_id FROM shipping_batches WHERE status = 'created' "
                                                    "AND COALESCE(flow_run_id, '') != :latest ORDER BY created_at, batch_id",
                                       latest=latest)]
        for n, batch_id in enumerate(waiting):
            for action in ("picked", "packed", "handover"):
                if n < self.scale.flow_moves_per_wave:
                    self._run("batch-lifecycle", batch_lifecycle, when, batch_id=batch_id, action=action, now=when)
                else:
                    result = move_batch(self.config, self.settings.warehouse_url, batch_id, action, when)
                    if result.pulled is not None:
                        self.most_pulled_out = max(self.most_pulled_out, len(result.pulled.pulled))
                    self.checks.check("batch handover write-backs accepted", not result.write_back_errors,
                                      f"{batch_id}: {result.write_back_errors[:3]}")
            status = _rows(self.engine, "SELECT status FROM shipping_batches WHERE batch_id = :b", b=batch_id)[0][0]
            self.checks.check("a handed-over batch is handed_over", status in ("handed_over", "cancelled"),
                              f"{batch_id}: {status}")

    def settlement(self, when: datetime) -> None:
        """Last month's statement, published, then approved by the manager (the reviewer recorded)."""
        import calendar

        from flows.settlement import monthly_settlement, previous_month
        from tasks.settlement import decide_settlement
        from shopops.demo_settlement import expected_daily_sales, prepare_demo_settlement_inputs

        month = previous_month(when, "Asia/Shanghai")
        year, number = map(int, month.split("-"))
        prepare_demo_settlement_inputs(self.settings.data_dir / "settlement" / month, self.config, month,
                                       trading_days=calendar.monthrange(year, number)[1],
                                       daily=expected_daily_sales(str(self.stack.scenario_path)))
        # in-process (no deployment): the run completes with the version awaiting approval and the
        # manager decides on the terminal (`shopops settle approve`), as the runbook says
        state = monthly_settlement(month=month, return_state=True)
        self.runs.append({"flow": "monthly-settlement", "at": when.isoformat(), "state": state.type.value})
        self.checks.check("every flow run Completed", state.is_completed(), f"monthly-settlement {month}: {state}")
        asked = state.is_completed() and state.result().get("status") == "awaiting_approval"
        self.checks.check("settlement asks for approval", asked, f"{state}")
        if asked:
            decide_settlement(self.settings.warehouse_url, month, state.result()["preset"], "approve", "王芳")
        final = _rows(self.engine, "SELECT status, approved_by FROM settlements WHERE month = :m ORDER BY version DESC",
                      m=month)
        self.checks.check("the approved settlement is final, reviewer recorded",
                          bool(final) and tuple(final[0]) == ("final", "王芳"), f"{final[:2]}")

    def campaign_prep(self, when: datetime) -> None:
        """§6 before a campaign: the operator pushes stock to every listing (`shopops stock sync
        --live --overwrite-edited`), then closes the promoted SKUs' open discrepancy records the
        push dealt with (`shopops stock resolve --sku …`)."""
        from flows.stock import reconcile_stock
        from warehouse import repository

        counts, state = self._run("reconcile-stock live sync", reconcile_stock, when, sync="live", overwrite_edited=True)
        self.checks.check("a live push is read back as planned", counts["pushed_mismatch"] == 0 and counts["push_failed"] == 0,
                          f"{counts}")
        promo = next(p for p in self.config.promotions if p.name == CAMPAIGN)
        repository.resolve_discrepancies(self.engine, by="运营 李雷", note="活动前已实盘并推送库存（回读一致）",
                                         skus=[item.sku for item in promo.skus], now=when)

    def campaign(self, when: datetime, phase: str) -> None:
        from flows.promotion import promotion_campaign

        result, state = self._run(f"promotion-campaign {phase}", promotion_campaign, when, phase=phase, name=CAMPAIGN,
                                  dry_run=False, now=when)
        status = _rows(self.engine, "SELECT status FROM promotions WHERE name = :n", n=CAMPAIGN)[0][0]
        expected = {"prepare": "prepared", "start": "running", "report": "running", "close": "closed"}[phase]
        self.checks.check("campaign phase leaves its status", status == expected, f"{phase}: {status}")
        if phase == "prepare":
            self.checks.check("the week's campaign is ready to start", bool(result.get("ready_to_start")), f"{result}")
        if phase == "close":
            self.checks.check("campaign close restores the schedules exactly", result["schedules_restored_exactly"],
                              f"{result}")

    # --- the day ----------------------------------------------------------------------------------
    def run_day(self, day: int, count_file: str | None) -> None:
        from flows.promotion import promotion_campaign  # noqa: F401 - imported before the clock moves

        first_reconcile = day == 1
        promo_shops = campaign_shops(self.config)
        for event in day_events(self.first, day, self.scale):
            self.clock(event.when)
            if event.kind == "pull":
                self.pull(event.when)
            elif event.kind == "campaign-pull":
                self.pull(event.when, shops=promo_shops)
            elif event.kind == "reconcile":
                self.reconcile(event.when, count_file if first_reconcile else None)
                first_reconcile = False
            elif event.kind == "restock":
                self.restock(event.when)
            elif event.kind == "check-warehouse":
                self.check_warehouse_flow(event.when)
            elif event.kind == "plant-refunds":
                self.plant_refunds(event.when)
            elif event.kind == "shipping":
                self.shipping(event.when)
            elif event.kind == "followup":
                self.followup(event.when)
            elif event.kind == "lifecycle":
                self.lifecycle(event.when)
            elif event.kind == "settlement":
                self.settlement(event.when)
            elif event.kind == "campaign-prep":
                self.campaign_prep(event.when)
            elif event.kind == "campaign":
                self.campaign(event.when, event.args["phase"])
            check_warehouse(self.engine, self.checks, f"day {day} {event.kind} {event.when:%H:%M} UTC",
                            event.when, self.lag)
        start, end = day_start(self.first, day), day_start(self.first, day + 1)
        arrived = sum(1 for (created,) in _rows(self.engine, "SELECT created_at FROM orders") if created is not None
                      and start <= _utc(created) < end)
        self.checks.check("every day's orders reach the warehouse", arrived > 0, f"day {day}: {arrived} orders")
        print(f"day {day} done: {arrived} orders of the day stored, {len(self.runs)} runs so far this life", flush=True)

    def nothing_lost(self, pulled_at: datetime) -> None:
        """Every order the marketplace had when the last pull ran, in a version modified up to
        that pull's window end (the watermark), is in the warehouse or held in quarantine with a
        reason: none lost. (An order changed after the window end is the next pull's; its
        earlier versions may or may not have been seen.)"""
        import pandas as pd

        from sandbox import generate

        until = pulled_at - self.lag
        world = generate(self.stack.scenario_path)
        stored = {(r[0], str(r[1])) for r in _rows(self.engine, "SELECT shop_id, order_id FROM orders")}
        held = {(r[0], str(r[1])) for r in _rows(self.engine, "SELECT shop_id, order_id FROM quarantine "
                                                               "WHERE status = 'open'")}
        missing, expected = [], 0
        for shop_id in world.orders:
            truth = world.ground_truth(shop_id, as_of=pulled_at).orders
            due = truth[pd.to_datetime(truth["modified_at"], utc=True) <= pd.Timestamp(until)]
            expected += len(due)
            for order_id in due["order_id"].astype(str):
                if (shop_id, order_id) not in stored and (shop_id, order_id) not in held:
                    missing.append((shop_id, order_id))
        self.checks.check("every marketplace order is in the warehouse or quarantine", not missing and expected > 0,
                          f"{len(missing)} of {expected} missing: {missing[:5]}")


def campaign_shops(config) -> list[str]:
    promo = next(p for p in config.promotions if p.name == CAMPAIGN)
    return list(promo.shops)


def write_campaign(config_dir: Path, world, first: datetime) -> None:
    """The week's flash sale: two best sellers at 40 % of list in two domestic shops."""
    window_start, window_end, prep = campaign_window(first)
    catalogue = world.catalogue[~world.catalogue["is_gift"]].sort_values("list_price_minor", ascending=False)
    skus = []
    for row in catalogue.head(2).itertuples():
        price = int(row.list_price_minor * 0.4) // 100 * 100
        skus.append({"sku": row.sku, "list_price_minor": int(row.list_price_minor), "campaign_price_minor": price,
                     "coupon_minor": 500, "expected_units": 5})
    spec = {"name": CAMPAIGN, "title": "一周演练 限时闪购", "prep_date": prep.isoformat(),
            "window_start": window_start.astimezone(BEIJING).isoformat(),
            "window_end": window_end.astimezone(BEIJING).isoformat(), "timezone": "Asia/Shanghai",
            "shops": ["tmall-flagship", "jd-pop"], "uplift_factor": 2.0, "skus": skus}
    folder = config_dir / "promotions"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{CAMPAIGN}.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")


def setup(stack, first: datetime) -> str:
    """Life 1's morning: credentials, shops, catalogue, history before day 1, stock, the week's
    campaign, the work pool and deployments (the campaign schedules live on them; no worker
    is started: every run of the week is started by this runner at its simulated time)."""
    from sandbox import generate

    scenario = stack.scenario_path
    world = generate(scenario)
    write_campaign(stack.demo_config_dir, world, first)
    # the team has switched stock pushes on (dry runs on the hourly schedule, live when asked)
    rules = stack.demo_config_dir / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "push_enabled: false" in text, "rules.yaml stock.push_enabled moved: update the week's setup"
    rules.write_text(text.replace("push_enabled: false", "push_enabled: true", 1), encoding="utf-8")
    stack.stock_as_of = first   # the demo's stock seed, dated the morning of day 1
    stack._register_secrets_and_catalogue(scenario)
    # the go-live import ends at day 1 00:00: every shop's stream is proven complete up to there
    # (less the safety lag, as a pull at that moment would leave it)
    from config.schema import load_config
    from config.settings import get_settings
    from warehouse import repository
    from warehouse.db import make_engine

    engine = make_engine(get_settings().warehouse_url)
    try:
        with engine.begin() as conn:
            for shop in load_config().shops:
                if shop.enabled:
                    repository.set_watermark(conn, shop.id, first - timedelta(minutes=1))
    finally:
        engine.dispose()
    from shopops.demo import _bin, work_pools

    for pool in work_pools():
        stack._run(f"work pool {pool}", [_bin("prefect"), "work-pool", "create", pool, "--type", "process"],
                   ok_if="already exists")
    stack._run("prefect deploy --all", [_bin("prefect"), "--no-prompt", "deploy", "--all"])
    return str(stack.stock.count_file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--life", type=int, choices=(1, 2), required=True)
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--first", required=True, help="day 1 00:00 Beijing, ISO with offset")
    parser.add_argument("--prefect-port", type=int, required=True)
    parser.add_argument("--sandbox-port", type=int, required=True)
    parser.add_argument("--keep-going", action="store_true", help="record every breach instead of stopping at the first")
    args = parser.parse_args(argv)
    first = datetime.fromisoformat(args.first)
    scale = SCALES[args.scale]
    stack = week_stack(args.data, args.prefect_port, args.sandbox_port, scale, first)
    for key, value in stack.env().items():
        if key.startswith(("PREFECT_", "SHOPOPS_")):
            os.environ[key] = value
    state_file = args.data / "week" / "state.json"
    state_file.parent.mkdir(parents=True, exist_ok=True)
    checks = Checks(keep_going=args.keep_going)
    days = range(1, RESTART_AFTER_DAY + 1) if args.life == 1 else range(RESTART_AFTER_DAY + 1, WEEK_DAYS + 1)
    count_file = None
    if args.life == 1:
        count_file = setup(stack, first)
    runner = WeekRunner(stack, scale, first, checks)
    status = 0
    try:
        for day in days:
            runner.run_day(day, count_file)
        if args.life == 2:
            last_pull = max(e.when for e in day_events(first, WEEK_DAYS, scale) if e.kind == "pull")
            runner.nothing_lost(last_pull)
    except Broken as exc:
        print(f"BROKEN: {exc}", flush=True)
        status = 1
    finally:
        (args.data / "week" / f"checks-life{args.life}.json").write_text(json.dumps(
            {**checks.as_json(), "runs": runner.runs, "most_pulled_out": runner.most_pulled_out}, ensure_ascii=False, indent=1), encoding="utf-8")
        for name, n in sorted(checks.counts.items()):
            print(f"checked {n:>5}× {name}" + (f"  BROKEN ×{checks.breach_counts[name]}" if name in checks.breaches
                                                else ""), flush=True)
    return 1 if checks.breaches else status


if __name__ == "__main__":
    sys.exit(main())
