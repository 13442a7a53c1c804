"""Benchmark of the ingestion path (``tasks.ingest.pull_shop``) end to end, with a floor and a peer from the same run.

The sandbox runs **in its own process** (``python -m sandbox --scenario … --port …``; the
credentials come from the ``credentials.json`` it writes), a fresh one per run. Every
measured client also runs in a process of its own (this script re-invoked with
``--child``), so its peak RSS (``ru_maxrss``) is its own. In each run, in this order:

a. *pipeline → SQLite*: ``pull_shop`` for every shop of the scenario into a fresh, migrated
   SQLite warehouse (catalogue loaded beforehand, untimed), the shops in parallel threads
   as the ``pull-orders`` flow runs them (``rules.yaml orders.shop_concurrency``; or
   ``--sequential``). Window ``[scenario start − 1 h, sandbox now − safety lag]``: the whole
   scenario. Wall time of the pulls only; orders/s counts every order the pulls read.
b. *pipeline → PostgreSQL*: the same into a scratch schema (``options=-csearch_path=…``),
   dropped afterwards.
c. *floor*: the connectors' HTTP requests for that same window (recorded once per run,
   untimed: same URLs, parameters, signatures, TOP ``fullinfo`` and Amazon ``orderItems``
   calls included) replayed by a bare keep-alive ``requests.Session``; each body
   ``json.loads``-ed, every record of the body's main list flattened to one row of its
   scalar fields and its nested line list to line rows, and both bulk-inserted into SQLite
   with ``executemany`` in one transaction per response. Nothing else: no normalisation,
   validation, archive, upsert or watermark.
d. *peer*: ``dlt`` (``dlt.sources.rest_api``, paginator ``header_link``) loading the Shopify
   endpoint of ``shopify-global`` (``orders.json?status=any&limit=250`` with the same
   ``updated_at`` window, header ``X-Shopify-Access-Token``) into SQLite through dlt's
   ``sqlalchemy`` destination; compared with ``pull_shop("shopify-global")`` alone into a
   fresh SQLite warehouse in the same run.
e. *steady tick*: a second sandbox serving a one-hour slice of the scenario at its evening
   peak, scaled so that ≈2,000 orders are created per 10 minutes (``<scenario>-tick``,
   written next to the run's data). Backfill every shop up to (slice end − 10 min), then
   ``POST /_sandbox/clock {"advance_seconds": 600}`` and time one incremental round of
   ``pull_shop`` over all shops (window ``[watermark − lookback, now − safety lag]``).

Every step reports wall time and the client process's CPU time (user + sys, every thread; per
shop its own thread's), which other work on the shared cores hardly moves.
``--baseline-tree DIR`` (a worktree of an earlier commit with its own ``.venv``) runs every
run also with that commit's code, interleaved (this, baseline, baseline, this …), and adds a
comparison per step and per shop.

Prints a progress line per step, then rewrites the ``ingest`` section of
docs/BENCHMARKS.md. ``--profile`` instead runs one ``pull_shop`` of the scenario's biggest
shop under cProfile and prints the top functions.

    .venv/bin/python bench/bench_ingest.py --scenario normal_day --repeats 3
    .venv/bin/python bench/bench_ingest.py --scenario normal_day --repeats 3 --baseline-tree ../wt-base
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import requests
import yaml

#: the code measured: this checkout, or with SHOPOPS_BENCH_ROOT another one (``--baseline-tree``
#: runs this script with that tree's interpreter and code)
ROOT = Path(os.environ.get("SHOPOPS_BENCH_ROOT") or Path(__file__).resolve().parent.parent).resolve()
sys.path.insert(0, str(ROOT))

from bench._common import machine, median, peak_rss_mb, rewrite_section, spread, utc_stamp  # noqa: E402
from bench._common import run_child as run_bench_child  # noqa: E402
from bench.bench_connectors import WIDE_OPEN, Recorded, SandboxProcess  # noqa: E402

POSTGRES_URL = os.environ.get("SHOPOPS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HASH_KEY = "bench-ingest-hash-key"
PEER_SHOP = "shopify-global"
TICK_ORDERS_PER_10_MIN = 2000
STEPS = ("pipeline → SQLite", "pipeline → PostgreSQL", "floor → SQLite", f"pipeline {PEER_SHOP} → SQLite",
         f"dlt {PEER_SHOP} → SQLite", "tick backfill → SQLite", "tick (10 min) → SQLite", f"floor {PEER_SHOP} → SQLite")
#: the rows whose time is compared with the floor of the whole window / of the peer's shop alone
VERSUS_FLOOR, VERSUS_PEER_FLOOR = STEPS[:3], (STEPS[3], STEPS[4], STEPS[7])


# --- the children: each measured thing in a process of its own ------------------------------

def child_pipeline(spec: dict) -> dict:
    """``pull_shop`` for ``spec["shops"]``; with ``tick`` first a backfill, then the clock advanced and one round timed."""
    from config.schema import load_config
    from tasks.ingest import pull_shop

    config = load_config(spec["config"])
    url = spec["database_url"]
    concurrency = 1 if spec["sequential"] else config.rules.orders.shop_concurrency

    def one_shop(shop: str, since: datetime | None, now: datetime, until: datetime | None):
        wall, cpu = time.perf_counter(), time.thread_time()
        result = pull_shop(config, shop, database_url=url, since=since, until=until, clock=lambda: now)
        return result, {"seconds": time.perf_counter() - wall, "cpu_s": time.thread_time() - cpu,
                        "orders": result.orders_seen}

    def round_(since: datetime | None, now: datetime, until: datetime | None = None) -> tuple[float, dict]:
        started, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            pulled = list(pool.map(lambda shop: one_shop(shop, since, now, until), spec["shops"]))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        results = [result for result, _ in pulled]
        failed = {r.shop_id: r.error for r in results if r.status != "ok"}
        if failed:
            raise SystemExit(f"pull failed: {failed}")
        return seconds, {"seconds": seconds, "orders": sum(r.orders_seen for r in results),
                         "new": sum(r.orders_new for r in results), "updated": sum(r.orders_updated for r in results),
                         "unchanged": sum(r.orders_unchanged + r.orders_stale for r in results),
                         "quarantined": sum(r.quarantined for r in results), "pages": sum(r.pages for r in results),
                         # client CPU (user + sys) of the whole process, every thread (GX's start-up
                         # included), and per shop its own thread's: robust against other load
                         "cpu_s": cpu, "per_shop": {r.shop_id: one for r, one in zip(results, (o for _, o in pulled))}}

    now = datetime.fromisoformat(spec["now"])
    _, out = round_(datetime.fromisoformat(spec["since"]), now,
                    datetime.fromisoformat(spec["until"]) if spec.get("until") else None)
    out["rss_mb"] = peak_rss_mb()
    if spec.get("tick_url"):
        answer = requests.post(f"{spec['tick_url']}/_sandbox/clock", json={"advance_seconds": 600}, timeout=10)
        answer.raise_for_status()
        _, tick = round_(None, datetime.fromisoformat(answer.json()["now"]))
        tick["rss_mb"] = peak_rss_mb()
        out = {"backfill": out, "tick": tick}
    return out


def _main_list(value: object) -> list[dict]:
    """The largest list of objects anywhere in a parsed body (the page's orders)."""
    best: list[dict] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            if item and isinstance(item[0], dict) and len(item) > len(best):
                best = item
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return best


def _scalars(record: dict) -> str:
    return json.dumps({k: v for k, v in record.items() if not isinstance(v, (dict, list))}, ensure_ascii=False)


#: top-level keys of an error body (TOP, JD, PDD) that comes with HTTP 200
REFUSAL_KEYS = {"error_response"}
ID_KEYS = ("tid", "orderId", "order_sn", "order_id", "id", "AmazonOrderId", "OrderItemId", "oid")


def child_floor(spec: dict) -> dict:
    """Replay the recorded requests, ``json.loads``, flatten, ``executemany`` into SQLite."""
    import sqlite3

    recorded: dict[str, list[Recorded]] = pickle.loads(Path(spec["recorded"]).read_bytes())
    if spec.get("shops"):
        recorded = {shop: recorded[shop] for shop in spec["shops"]}
    db = sqlite3.connect(spec["sqlite_path"], isolation_level=None)
    db.execute("CREATE TABLE orders (shop_id TEXT, order_id TEXT, fields TEXT)")
    db.execute("CREATE TABLE order_lines (shop_id TEXT, order_id TEXT, line_no INTEGER, fields TEXT)")
    orders = lines = 0
    refused: list[str] = []  # a replay the marketplace refused reads nothing: the floor would lie
    started, cpu = time.perf_counter(), time.process_time()
    with requests.Session() as session:
        for shop_id, calls in recorded.items():
            for r in calls:
                response = session.request(r.method, r.url, data=r.body, headers=r.headers)
                body = json.loads(response.content)
                if response.status_code >= 400 or (isinstance(body, dict) and REFUSAL_KEYS & body.keys()):
                    refused.append(f"{shop_id}: HTTP {response.status_code} {response.content[:200]!r}")
                order_rows, line_rows = [], []
                for record in _main_list(body):
                    order_id = next((str(record[k]) for k in ID_KEYS if k in record), None)
                    order_rows.append((shop_id, order_id, _scalars(record)))
                    nested = _main_list({k: v for k, v in record.items() if isinstance(v, (dict, list))})
                    line_rows.extend((shop_id, order_id, n, _scalars(line)) for n, line in enumerate(nested, 1))
                db.execute("BEGIN")
                db.executemany("INSERT INTO orders VALUES (?, ?, ?)", order_rows)
                db.executemany("INSERT INTO order_lines VALUES (?, ?, ?, ?)", line_rows)
                db.execute("COMMIT")
                orders += len(order_rows)
                lines += len(line_rows)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    db.close()
    if refused:
        raise SystemExit(f"{len(refused)} replayed requests were refused, e.g. {refused[:3]}")
    return {"seconds": seconds, "cpu_s": cpu, "rows": orders, "line_rows": lines,
            "requests": sum(len(c) for c in recorded.values()), "rss_mb": peak_rss_mb()}


def child_dlt(spec: dict) -> dict:
    """dlt's REST API source over the Shopify endpoint into SQLite (destination sqlalchemy)."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source({
        "client": {"base_url": spec["base_url"], "headers": {"X-Shopify-Access-Token": spec["token"]},
                   "paginator": "header_link"},
        "resources": [{"name": "orders", "write_disposition": "append",
                       "endpoint": {"path": "orders.json", "data_selector": "orders",
                                    "params": {"status": "any", "limit": 250, "updated_at_min": spec["since"],
                                               "updated_at_max": spec["until"]}}}],
    })
    pipeline = dlt.pipeline(pipeline_name=f"bench_{uuid.uuid4().hex[:8]}", pipelines_dir=spec["pipelines_dir"],
                            destination=dlt.destinations.sqlalchemy(credentials=f"sqlite:///{spec['sqlite_path']}"),
                            dataset_name="main")
    started, cpu = time.perf_counter(), time.process_time()
    info = pipeline.run(source)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    info.raise_on_failed_jobs()
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {"seconds": seconds, "cpu_s": cpu, "rows": counts.get("orders", 0),
            "line_rows": counts.get("orders__line_items", 0),
            "tables": dict(counts), "rss_mb": peak_rss_mb(), "version": dlt.__version__}


CHILDREN = {"pipeline": child_pipeline, "floor": child_floor, "dlt": child_dlt}


def run_child(kind: str, spec: dict, env: dict[str, str]) -> dict:
    return run_bench_child(__file__, kind, spec, env)


# --- the parent: sandboxes, warehouses, recording -------------------------------------------

def credential_env(credentials: dict) -> dict[str, str]:
    from tests.helpers.ingest_support import credential_env as env_of

    return {**env_of(credentials), "SHOPOPS_PII_HASH_KEY": HASH_KEY, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}


def sqlite_warehouse(path: Path, catalogue) -> str:
    from tasks.catalogue import store_catalogue
    from warehouse import migrate
    from warehouse.db import make_engine

    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    store_catalogue(engine, catalogue)
    engine.dispose()
    return url


class PostgresSchema:
    """A scratch schema, migrated and with the catalogue; dropped on exit."""

    def __init__(self, catalogue):
        import sqlalchemy as sa

        from tasks.catalogue import store_catalogue
        from warehouse import migrate
        from warehouse.db import make_engine

        self.sa, self.schema = sa, f"bench_ingest_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            self.version = conn.scalar(sa.text("SHOW server_version"))
        self.url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{self.schema}"
        migrate.upgrade(self.url)
        engine = make_engine(self.url)
        store_catalogue(engine, catalogue)
        engine.dispose()

    def __enter__(self) -> "PostgresSchema":
        return self

    def __exit__(self, *exc) -> None:
        with self.admin.connect() as conn:
            conn.execute(self.sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


def record_requests(config_dir: Path, sandbox: SandboxProcess, shops: list[str], since: datetime,
                    until: datetime) -> dict[str, list[Recorded]]:
    """Every HTTP request the connectors send for the window, per shop (a plain pull, untimed)."""
    from config.schema import load_config
    from connectors import Credentials, build_connector, default_settings

    config = load_config(config_dir)
    recorded: dict[str, list[Recorded]] = {}
    for shop_id in shops:
        shop = config.shop(shop_id)
        settings = default_settings(shop.platform, shop.base_url, **{**shop.connector_options, **WIDE_OPEN})
        secret = sandbox.credentials[shop_id]
        calls: list[Recorded] = []
        with build_connector(shop.platform, shop_id, settings,
                             Credentials(app_key=secret["app_key"], app_secret=secret["app_secret"],
                                         access_token=secret["access_token"]),
                             clock=lambda: sandbox.now) as connector:
            def keep(response, *args, **kwargs):
                prepared = response.request
                headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
                calls.append(Recorded(prepared.method, prepared.url, prepared.body, headers))
            connector.http.session.hooks["response"].append(keep)
            for _ in connector.pull_orders(since, until):
                pass
        recorded[shop_id] = calls
    return recorded


def replayable_scenario(scenario, target: Path) -> Path:
    """``scenario`` as a file whose sandbox accepts request timestamps up to a day off.

    TOP, PDD and Douyin refuse a signed request whose timestamp is more than
    ``timestamp_tolerance_minutes`` (10) from the server's clock, JD more than
    ``jd_timestamp_tolerance_minutes`` (6); the floor replays requests recorded before the
    pipeline steps, 20 minutes and more earlier at 1M orders.
    """
    raw = yaml.safe_load((ROOT / "config" / "scenarios" / f"{scenario.name}.yaml").read_text(encoding="utf-8"))
    raw["timestamp_tolerance_minutes"] = raw["jd_timestamp_tolerance_minutes"] = 24 * 60
    target.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def tick_scenario(scenario, target: Path) -> Path:
    """A one-hour slice of ``scenario`` ending at its busiest local hour, scaled to ≈2,000 orders per 10 min."""
    raw = yaml.safe_load((ROOT / "config" / "scenarios" / f"{scenario.name}.yaml").read_text(encoding="utf-8"))
    curve = list(scenario.hourly_curve)
    peak = max(range(24), key=curve.__getitem__)
    start = scenario.start + timedelta(hours=peak)  # scenarios start at local midnight
    raw.update(name=f"{scenario.name}-tick", start=start.isoformat(), days=1 / 24, surges=[],
               orders_per_day=int(TICK_ORDERS_PER_10_MIN * 6 * sum(curve) / curve[peak]))
    raw.pop("end", None)
    target.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def progress(run: str, step: str, out: dict) -> None:
    count = out.get("orders", out.get("rows", 0))
    print(f"  {run} {step:<28} {out['seconds']:7.2f} s (CPU {out.get('cpu_s', float('nan')):6.2f} s) {count:>9,} orders "
          f"{count / out['seconds']:>8,.0f} orders/s "
          f"peak RSS {out['rss_mb']:6.0f} MB" + (f" (new {out['new']:,}, updated {out['updated']:,}, unchanged "
                                                 f"{out['unchanged']:,}, quarantined {out['quarantined']:,})"
                                                 if "new" in out else ""), flush=True)


def run(args, scratch: Path) -> tuple[dict[str, list[dict]], dict]:
    from config.overlay import write_sandbox_config
    from sandbox.catalogue import build_catalogue
    from sandbox.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    catalogue = build_catalogue(scenario.seed)
    shops = [s.id for s in scenario.shops]
    samples: dict[str, list[dict]] = defaultdict(list)
    facts: dict = {"shops": shops}
    steps = set(args.steps)
    for repeat in range(1, args.repeats + 1):
        tag = f"run {repeat}/{args.repeats}"
        data = scratch / f"run{repeat}"
        data.mkdir()
        if steps & {"sqlite", "postgresql", "floor", "dlt"}:
            started = time.perf_counter()
            with SandboxProcess(str(replayable_scenario(scenario, data / f"{scenario.name}.yaml")),
                                data / "sandbox") as sandbox:
                facts["orders"], facts["sandbox_up_s"] = sandbox.orders, time.perf_counter() - started
                print(f"{tag}: sandbox pid {sandbox.process.pid} on {sandbox.url} ({sandbox.orders:,} orders, up in "
                      f"{facts['sandbox_up_s']:.1f} s)", flush=True)
                config_dir = write_sandbox_config(data / "config", sandbox.url, connector_options=WIDE_OPEN)
                env = credential_env(sandbox.credentials)
                since = scenario.start - timedelta(hours=1)
                lag = timedelta(minutes=yaml.safe_load((config_dir / "rules.yaml").read_text())["orders"]
                                ["safety_lag_minutes"])
                # the whole scenario, or with --hours its first hours (orders last modified then)
                until = scenario.start + timedelta(hours=args.hours) if args.hours else sandbox.now - lag
                base = {"config": str(config_dir), "since": since.isoformat(), "now": sandbox.now.isoformat(),
                        "until": until.isoformat() if args.hours else None, "sequential": args.sequential}
                # untimed: records the floor's requests and has the sandbox render every page once, so
                # that every measured step below sees the same (warm) server
                if steps & {"floor", "dlt"}:  # with dlt alone: warm the peer's pages, so both sides see the same server
                    warm = shops if "floor" in steps else [PEER_SHOP]
                    recorded = record_requests(config_dir, sandbox, warm, since, until)
                    (data / "recorded.pickle").write_bytes(pickle.dumps(recorded))
                if "sqlite" in steps:
                    url = sqlite_warehouse(data / "pipeline.sqlite", catalogue)
                    out = run_child("pipeline", {**base, "database_url": url, "shops": shops}, env)
                    samples[STEPS[0]].append(out)
                    progress(tag, STEPS[0], out)
                if "postgresql" in steps:
                    with PostgresSchema(catalogue) as pg:
                        facts["postgres_version"] = pg.version
                        out = run_child("pipeline", {**base, "database_url": pg.url, "shops": shops}, env)
                    samples[STEPS[1]].append(out)
                    progress(tag, STEPS[1], out)
                if "floor" in steps:
                    out = run_child("floor", {"recorded": str(data / "recorded.pickle"),
                                              "sqlite_path": str(data / "floor.sqlite")}, env)
                    if samples.get(STEPS[0]):  # the same pages hold the same orders: rate over those
                        out["orders"] = samples[STEPS[0]][-1]["orders"]
                    samples[STEPS[2]].append(out)
                    progress(tag, STEPS[2], out)
                if "dlt" in steps:
                    url = sqlite_warehouse(data / "peer-pipeline.sqlite", catalogue)
                    out = run_child("pipeline", {**base, "database_url": url, "shops": [PEER_SHOP]}, env)
                    samples[STEPS[3]].append(out)
                    progress(tag, STEPS[3], out)
                    try:
                        out = run_child("dlt", {
                            "base_url": f"{sandbox.url}/shopify/{PEER_SHOP}/admin/api/2024-10/",
                            "token": sandbox.credentials[PEER_SHOP]["access_token"],
                            "since": since.isoformat(), "until": until.isoformat(),
                            "sqlite_path": str(data / "dlt.sqlite"), "pipelines_dir": str(data / "dlt")}, env)
                    except RuntimeError as exc:
                        facts["dlt_error"] = str(exc)[-1500:]
                        print(f"  {tag} dlt failed: {facts['dlt_error']}", flush=True)
                    else:
                        samples[STEPS[4]].append(out)
                        progress(tag, STEPS[4], out)
                    # the floor of the peer's shop alone: how fast any client could read those pages here
                    out = run_child("floor", {"recorded": str(data / "recorded.pickle"), "shops": [PEER_SHOP],
                                              "sqlite_path": str(data / "peer-floor.sqlite")}, env)
                    out["orders"] = samples[STEPS[3]][-1]["orders"]
                    samples[STEPS[7]].append(out)
                    progress(tag, STEPS[7], out)
        if "tick" in steps:
            path = tick_scenario(scenario, data / f"{scenario.name}-tick.yaml")
            started = time.perf_counter()
            with SandboxProcess(str(path), data / "tick-sandbox") as sandbox:
                print(f"{tag}: tick sandbox pid {sandbox.process.pid} ({sandbox.orders:,} orders in one hour, up in "
                      f"{time.perf_counter() - started:.1f} s)", flush=True)
                backfill_now = sandbox.now - timedelta(minutes=10)
                requests.post(f"{sandbox.url}/_sandbox/clock", json={"now": backfill_now.isoformat()},
                              timeout=10).raise_for_status()
                config_dir = write_sandbox_config(data / "tick-config", sandbox.url, connector_options=WIDE_OPEN)
                tick_scn = load_scenario(str(path))
                url = sqlite_warehouse(data / "tick.sqlite", catalogue)
                out = run_child("pipeline", {"config": str(config_dir), "database_url": url, "shops": shops,
                                             "since": (tick_scn.start - timedelta(hours=1)).isoformat(),
                                             "now": backfill_now.isoformat(), "sequential": args.sequential,
                                             "tick_url": sandbox.url}, credential_env(sandbox.credentials))
                facts["tick_orders_total"] = sandbox.orders
            samples[STEPS[5]].append(out["backfill"])
            progress(tag, STEPS[5], out["backfill"])
            samples[STEPS[6]].append(out["tick"])
            progress(tag, STEPS[6], out["tick"])
    return samples, facts


def bounds(samples: dict[str, list[dict]]) -> list[str]:
    """What the floors say about the targets (≤ 60 s for 1M orders, ≤ 2× the floor, ≥ 10× faster than dlt)."""
    out = []
    if samples.get(STEPS[2]) and all("orders" in o for o in samples[STEPS[2]]):  # orders: set by the SQLite step
        floor = samples[STEPS[2]]
        floor_rate = median([o["orders"] / o["seconds"] for o in floor])
        text = (f"**Bound.** The floor read these orders at {floor_rate:,.0f} orders/s (median): at that rate "
                f"1,000,000 orders take {1e6 / floor_rate:,.0f} s on this machine, against a target of 60 s "
                f"({1e6 / 60:,.0f} orders/s)")
        for step in STEPS[:2]:
            if samples.get(step):
                rate = median([o["orders"] / o["seconds"] for o in samples[step]])
                text += (f"; {step} runs at {rate:,.0f} orders/s, {floor_rate / rate:.1f}× the floor's time "
                         f"(target ≤ 2×), {1e6 / rate:,.0f} s per 1,000,000 orders")
        out += [text + ".", ""]
    if samples.get(STEPS[4]) and samples.get(STEPS[7]):
        dlt_s = median([o["seconds"] for o in samples[STEPS[4]]])
        floor_s = median([o["seconds"] for o in samples[STEPS[7]]])
        out += [f"**Peer.** dlt takes {dlt_s / floor_s:.1f}× the time of the bare floor over the same "
                f"{PEER_SHOP} pages: no client that reads those pages can be more than {dlt_s / floor_s:.1f}× "
                f"faster than dlt here, so the ≥ 10× target is {'out of reach' if dlt_s / floor_s < 10 else 'possible'} "
                "on this endpoint and volume.", ""]
    return out


def versus_baseline(samples: dict[str, list[dict]], baseline: dict) -> list[str]:
    """This code against ``--baseline-tree``'s, measured in the same run: each step, then each shop."""
    theirs: dict[str, list[dict]] = baseline["samples"]
    out = [f"**Against the baseline** (commit `{baseline['commit']}`, run by this script from its worktree with its own "
           "interpreter, code, sandbox and warehouses, interleaved with the runs above: one run each in turn, "
           "alternating which goes first). Ratios are this code's median over the baseline's.", "",
           "| step | median s | baseline median s | time vs baseline | client CPU s | baseline client CPU s | "
           "CPU vs baseline |", "|---|---:|---:|---:|---:|---:|---:|"]
    for step in (*STEPS[:5], STEPS[7], *STEPS[5:7]):
        if not (samples.get(step) and theirs.get(step)):
            continue
        ours_s, their_s = (median([o["seconds"] for o in x]) for x in (samples[step], theirs[step]))
        ours_cpu, their_cpu = ([o.get("cpu_s", float("nan")) for o in x] for x in (samples[step], theirs[step]))
        ours_c, their_c = median(ours_cpu), median(their_cpu)
        out.append(f"| {step} | {ours_s:.2f} ({spread([o['seconds'] for o in samples[step]], '.2f')}) | "
                   f"{their_s:.2f} ({spread([o['seconds'] for o in theirs[step]], '.2f')}) | {ours_s / their_s:.2f}× | "
                   f"{ours_c:.2f} ({spread(ours_cpu, '.2f')}) | {their_c:.2f} ({spread(their_cpu, '.2f')}) | "
                   f"{ours_c / their_c:.2f}× |")
    shops = sorted({shop for o in samples.get(STEPS[0], []) for shop in o.get("per_shop", {})})
    if shops and all("per_shop" in o for o in theirs.get(STEPS[0], [])):
        out += ["", f"Per shop, in the `{STEPS[0]}` step (shops in parallel threads: a shop's wall time includes "
                    "waiting for the others; its CPU is its own thread's, the GX start-up thread not counted)"
                    + (f", and `{PEER_SHOP}` pulled alone in a process of its own (its process CPU)"
                       if samples.get(STEPS[3]) and theirs.get(STEPS[3]) else "") + ":", "",
                "| shop | orders | wall s | baseline wall s | CPU s | baseline CPU s | CPU vs baseline |",
                "|---|---:|---:|---:|---:|---:|---:|"]

        def per_shop(outs: list[dict], shop: str, key: str) -> float:
            return median([o["per_shop"][shop][key] for o in outs if shop in o["per_shop"]])

        rows = [(shop, per_shop(samples[STEPS[0]], shop, "orders"), per_shop(samples[STEPS[0]], shop, "seconds"),
                 per_shop(theirs[STEPS[0]], shop, "seconds"), per_shop(samples[STEPS[0]], shop, "cpu_s"),
                 per_shop(theirs[STEPS[0]], shop, "cpu_s")) for shop in shops]
        if samples.get(STEPS[3]) and theirs.get(STEPS[3]):
            rows.append((f"{PEER_SHOP} alone", median([o["orders"] for o in samples[STEPS[3]]]),
                         *(median([o[k] for o in x]) for k, x in (("seconds", samples[STEPS[3]]),
                                                                  ("seconds", theirs[STEPS[3]]),
                                                                  ("cpu_s", samples[STEPS[3]]),
                                                                  ("cpu_s", theirs[STEPS[3]])))))
        out += [f"| {shop} | {orders:,.0f} | {wall:.2f} | {base_wall:.2f} | {cpu:.2f} | {base_cpu:.2f} | "
                f"{cpu / base_cpu:.2f}× |" for shop, orders, wall, base_wall, cpu, base_cpu in rows]
    return out + [""]


def markdown(samples: dict[str, list[dict]], facts: dict, args, command: str, total_s: float,
             baseline: dict | None = None) -> str:
    rows = ["| step | orders read | median s | min–max s | client CPU s (min–max) | orders/s (min–max) | "
            "peak RSS MB (max) | time vs floor |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    floor = median([o["seconds"] for o in samples[STEPS[2]]]) if samples.get(STEPS[2]) else None
    peer_base = median([o["seconds"] for o in samples[STEPS[3]]]) if samples.get(STEPS[3]) else None
    peer_floor = median([o["seconds"] for o in samples[STEPS[7]]]) if samples.get(STEPS[7]) else None
    for step in (*STEPS[:5], STEPS[7], *STEPS[5:7]):  # each floor next to what it bounds
        outs = samples.get(step)
        if not outs:
            continue
        seconds = [o["seconds"] for o in outs]
        counts = [o.get("orders", o.get("rows", 0)) for o in outs]
        rates = [c / s for c, s in zip(counts, seconds)]
        rss = [o["rss_mb"] for o in outs]
        count = f"{counts[0]:,}"
        if "line_rows" in outs[0]:
            count += (f" ({outs[0]['rows']:,} record rows + {outs[0]['line_rows']:,} line rows)" if "orders" in outs[0]
                      else f" + {outs[0]['line_rows']:,} line rows")
        if "new" in outs[0] and step.startswith("tick ("):
            count += f" ({outs[0]['new']:,} new, {outs[0]['updated']:,} changed, {outs[0]['unchanged']:,} re-read)"
        versus = ""
        if floor and step in VERSUS_FLOOR:
            versus = f"{median(seconds) / floor:.1f}×"
        elif peer_floor and step in VERSUS_PEER_FLOOR:
            versus = f"{median(seconds) / peer_floor:.1f}× its floor"
        if peer_base and step == STEPS[4]:
            versus += f"{'; ' if versus else ''}{median(seconds) / peer_base:.2f}× our pipeline"
        cpu = [o["cpu_s"] for o in outs if "cpu_s" in o]
        cpu_text = f"{median(cpu):.2f} ({spread(cpu, '.2f')})" if cpu else ""
        rows.append(f"| {step} | {count} | {median(seconds):.2f} | {spread(seconds, '.2f')} | {cpu_text} | "
                    f"{median(rates):,.0f} ({spread(rates)}) | {median(rss):,.0f} ({max(rss):,.0f}) | {versus} |")
    mode = "one after the other (`--sequential`)" if args.sequential else \
        "in parallel threads, `rules.yaml orders.shop_concurrency` at a time, as the `pull-orders` flow does"
    lines = [
        f"## Ingestion end to end, `{args.scenario}`" + (f", a {args.hours:g}-hour slice" if args.hours else "")
        + " (`tasks.ingest.pull_shop`: connector → normalise → GX → chunked commits)",
        "",
        f"Scenario `{args.scenario}` ({facts.get('orders', 0):,} orders over {len(facts['shops'])} shops), sandbox in "
        f"its own process (a fresh one per run), every client in a process of its own (peak RSS = that "
        f"process's `ru_maxrss`). "
        + (f"Median of {args.repeats} runs (min–max). " if args.repeats > 1 else "One run (no spread). ")
        + f"Shops pulled {mode}. "
        + ("*Pipeline*: `pull_shop` of every shop over the whole scenario into a fresh migrated warehouse "
           if not args.hours else
           f"*Slice* (`--hours {args.hours:g}`): every step reads the window [scenario start − 1 h, start + "
           f"{args.hours:g} h] (the orders whose current version was last modified then). "
           "*Pipeline*: `pull_shop` of every shop over that window into a fresh migrated warehouse ")
        + "(catalogue loaded first, untimed); orders read = every order the pulls saw. "
        + ("Before the measured steps of a run the connectors pull the window once (untimed; it records the "
           "floor's requests), so every step sees pages the sandbox has rendered before. " if "floor" in args.steps
           else f"Before the dlt comparison the {PEER_SHOP} window is pulled once (untimed), so both sides see "
                "pages the sandbox has rendered before; the other steps' pages are rendered for the first time. "
           if "dlt" in args.steps
           else "Without the floor step there is no untimed warm-up pull: the pages are rendered by the sandbox "
                "for the first time during the measured pull. ")
        + "*Floor*: the connectors' own HTTP requests for the same window (recorded in the same run) replayed "
        "by a bare `requests.Session`, `json.loads`, each record flattened to one row of its scalar fields "
        "and its nested lines to line rows, `executemany` into SQLite, one transaction per response — "
        "nothing else (TOP's list and `fullinfo` bodies and Amazon's `orderItems` bodies each count their "
        "own rows, so its row count is not the order count; the sandbox accepts request timestamps up to a "
        "day old so that the recorded, signed requests can be replayed, and a refused replay fails the run). "
        f"*dlt* ({(samples.get(STEPS[4]) or [{}])[0].get('version', 'not run')}): `dlt.sources.rest_api` with the `header_link` paginator over `{PEER_SHOP}`'s "
        "`orders.json?status=any&limit=250` (same `updated_at` window) into SQLite via dlt's `sqlalchemy` "
        "destination (orders + `orders__line_items`), against `pull_shop` of that shop alone. "
        f"*Tick*: a `{args.scenario}-tick` sandbox (a one-hour slice of the scenario at its busiest hour, "
        f"scaled to ≈{TICK_ORDERS_PER_10_MIN:,} new orders per 10 minutes); backfill to 10 minutes before its "
        "end, `POST /_sandbox/clock {\"advance_seconds\": 600}`, then one incremental `pull_shop` round "
        "over all shops (window = watermark − lookback … now − safety lag, so it re-reads the lookback; "
        "its pages are rendered for the first time, as in production). "
        "Client throttles opened wide, injected faults cleared: throughput, not the marketplaces' limits. "
        "*Client CPU*: user + sys time of the client process over the timed part (`time.process_time`: every "
        "thread, GX's start-up included; the sandbox's and the database's CPU are not in it); unlike wall time "
        "it hardly moves when other work loads the shared cores.",
        "",
        *rows,
        "",
    ]
    lines += ["Every pipeline figure includes the pipeline's fixed cost per process: Great Expectations is imported "
              "(2–4 s) in a background thread while the first pages are fetched, and the first validation waits "
              "for it if it is not done, while dlt's imports happen before its clock starts. The tick round runs "
              "in the backfill's process, so it does not pay that import again; a flow run in a fresh worker "
              "process would.", ""]
    lines += bounds(samples)
    if baseline:
        lines += versus_baseline(samples, baseline)
    if facts.get("dlt_error"):
        lines += [f"dlt failed: `{facts['dlt_error'].splitlines()[-1]}`", ""]
    load = os.getloadavg()
    lines += [
        f"Measured {utc_stamp()} on {machine()}, SQLite {__import__('sqlite3').sqlite_version}"
        + (f", PostgreSQL {facts['postgres_version']} (local)" if facts.get("postgres_version") else "")
        + f"; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min) at the end; whole run "
          f"{total_s:.0f} s. Client, sandbox and database share the machine.",
        "",
        f"Reproduce: `{command}`",
    ]
    return "\n".join(lines)


def profile(args, scratch: Path) -> None:
    """One ``pull_shop`` of the scenario's biggest shop under cProfile (in this process)."""
    import cProfile
    import pstats

    from config.overlay import write_sandbox_config
    from config.schema import load_config
    from sandbox.catalogue import build_catalogue
    from sandbox.scenario import load_scenario
    from tasks.ingest import pull_shop

    scenario = load_scenario(args.scenario)
    shop = max(scenario.shops, key=lambda s: s.volume_weight).id
    with SandboxProcess(args.scenario, scratch / "sandbox") as sandbox:
        os.environ.update(credential_env(sandbox.credentials))
        config = load_config(write_sandbox_config(scratch / "config", sandbox.url, connector_options=WIDE_OPEN))
        url = sqlite_warehouse(scratch / "profile.sqlite", build_catalogue(scenario.seed))
        profiler = cProfile.Profile()
        profiler.enable()
        result = pull_shop(config, shop, database_url=url, since=scenario.start - timedelta(hours=1),
                           clock=lambda: sandbox.now)
        profiler.disable()
    print(f"{shop}: {result.status} {result.orders_seen:,} orders in {result.duration_s:.2f} s, {result.pages} pages")
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(45)
    if args.profile_out:
        stats.dump_stats(args.profile_out)


ALL_STEPS = ("sqlite", "postgresql", "floor", "dlt", "tick")


def run_interleaved(args, scratch: Path) -> tuple[dict[str, list[dict]], dict, dict]:
    """``--baseline-tree``: each run once with this code and once with the baseline's (that
    worktree's ``.venv`` and code, this script; ``SHOPOPS_BENCH_ROOT``), alternating which goes
    first, so both see the same machine at the same time. (samples, facts, baseline)."""
    import subprocess

    here = Path(__file__).resolve().parent.parent
    trees = {"this": (here, sys.executable), "baseline": (args.baseline_tree, args.baseline_tree / ".venv/bin/python")}
    if not trees["baseline"][1].exists():
        raise SystemExit(f"--baseline-tree {args.baseline_tree}: no .venv/bin/python there (run `make install` in it)")
    gathered: dict[str, dict] = {name: {"samples": defaultdict(list), "facts": {}} for name in trees}
    for repeat in range(1, args.repeats + 1):
        for name in (("this", "baseline") if repeat % 2 else ("baseline", "this")):
            tree, python = trees[name]
            out = scratch / f"{name}-{repeat}.json"
            print(f"run {repeat}/{args.repeats}: {name} ({tree})", flush=True)
            command = [str(python), str(Path(__file__).resolve()), "--scenario", args.scenario, "--repeats", "1",
                       "--steps", ",".join(args.steps), "--no-docs", "--json-out", str(out)]
            command += ["--sequential"] if args.sequential else []
            command += ["--hours", f"{args.hours:g}"] if args.hours else []
            subprocess.run(command, cwd=tree, env={**os.environ, "SHOPOPS_BENCH_ROOT": str(tree)}, check=True)
            result = json.loads(out.read_text(encoding="utf-8"))
            for step, outs in result["samples"].items():
                gathered[name]["samples"][step] += outs
            gathered[name]["facts"].update(result["facts"])
    commit = subprocess.run(["git", "-C", str(args.baseline_tree), "log", "-1", "--format=%h %s"],
                            capture_output=True, text=True).stdout.strip()
    baseline = {"samples": gathered["baseline"]["samples"], "commit": commit[:90] or str(args.baseline_tree)}
    return gathered["this"]["samples"], gathered["this"]["facts"], baseline


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        out = CHILDREN[sys.argv[2]](json.loads(sys.argv[3]))
        print(json.dumps(out), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="normal_day", help="scenario of config/scenarios (default normal_day)")
    parser.add_argument("--repeats", type=int, default=3, help="runs, each with fresh sandboxes and warehouses (≥3)")
    parser.add_argument("--steps", default=",".join(ALL_STEPS), help=f"comma-separated subset of {','.join(ALL_STEPS)}")
    parser.add_argument("--sequential", action="store_true", help="pull the shops one after the other")
    parser.add_argument("--hours", type=float, help="a slice: read only [start − 1 h, start + HOURS] of the scenario")
    parser.add_argument("--section", default="ingest", help="docs/BENCHMARKS.md section to rewrite (default ingest)")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    parser.add_argument("--profile", action="store_true", help="cProfile one pull_shop of the biggest shop instead")
    parser.add_argument("--profile-out", help="with --profile: also dump the stats to this file")
    parser.add_argument("--quick", action="store_true", help="smoke test: scenario smoke, one run, docs left alone")
    parser.add_argument("--baseline-tree", type=Path, help="a worktree of the baseline commit with its own .venv: "
                        "every run also with its code, interleaved, and compared (e.g. `git worktree add --detach "
                        "../base <commit> && make -C ../base install`)")
    parser.add_argument("--json-out", type=Path, help="also write the samples and facts as JSON to this file")
    args = parser.parse_args()
    if args.quick:
        args.scenario, args.repeats, args.no_docs = "smoke", 1, True
    args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = set(args.steps) - set(ALL_STEPS)
    if unknown:
        parser.error(f"unknown step(s) {sorted(unknown)}; choose from {', '.join(ALL_STEPS)}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shopops-bench-ingest-") as scratch:
        if args.profile:
            profile(args, Path(scratch))
            return
        baseline = None
        if args.baseline_tree:
            args.baseline_tree = args.baseline_tree.resolve()
            samples, facts, baseline = run_interleaved(args, Path(scratch))
        else:
            samples, facts = run(args, Path(scratch))
    total = time.perf_counter() - started
    if args.json_out:
        args.json_out.write_text(json.dumps({"samples": samples, "facts": facts}, default=str), encoding="utf-8")
    command = f".venv/bin/python bench/bench_ingest.py --scenario {args.scenario} --repeats {args.repeats}"
    if args.steps != list(ALL_STEPS):
        command += f" --steps {','.join(args.steps)}"
    if args.sequential:
        command += " --sequential"
    if args.hours:
        command += f" --hours {args.hours:g}"
    if args.section != "ingest":
        command += f" --section {args.section}"
    if args.baseline_tree:
        command += f" --baseline-tree {args.baseline_tree}"
    section = markdown(samples, facts, args, command, total, baseline)
    print("\n".join(line for line in section.splitlines() if line.startswith("|")))
    print(f"total {total:.0f} s", flush=True)
    if not args.no_docs:
        rewrite_section(args.section, section)
        print(f"wrote docs/BENCHMARKS.md ({args.section} section)")


if __name__ == "__main__":
    main()
