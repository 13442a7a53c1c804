"""Benchmark: our ``pull-orders`` flow against a naive Prefect pipeline — one Prefect task per order.

The second peer of the ingestion benchmark (dlt is the first, bench/bench_ingest.py). Both
load the same orders (scenario ``normal_day``: ≈10k orders over 7 shops; ``--quick``: the
smoke world) from a sandbox marketplace in its own process, each into a fresh migrated SQLite
warehouse (catalogue loaded beforehand, untimed), each in a process of its own (peak RSS =
that process's ``ru_maxrss``), both reporting to a **real Prefect API: a temporary
``prefect server start``** (own PREFECT_HOME, SQLite, on a free port) started by this script,
a fresh one for every step: a server still digesting the events of 10k task runs slows
whatever runs next (measured: pull-orders 9.9 s on a fresh server, 22–73 s right after a
naive step on a shared one), and neither step should pay for the other's history.

- *pull-orders* (the baseline): ``flows.orders.pull_orders(since, until)`` — a task per shop,
  pages in plain loops, chunked validated commits, raw pages archived, the report published.
- *naive*: a flow ``naive-pull`` that reads the same window through the same connectors and
  calls a Prefect task ``load-one-order`` for every order: normalise that one record and
  upsert it (its own transaction) — no validation, no archive, no watermark, no report, so
  it does less work per order than the baseline. This is what a first Prefect pipeline often
  looks like; DEVELOPERS.md forbids it ("never a Prefect task per order").

Each run: a fresh sandbox, an untimed pull of the window first (so both steps read pages the
sandbox has rendered before), then the two steps alternating which goes first. Wall time of
the flow call in the child; orders = rows in ``orders`` afterwards. Rewrites the
``naive-pipeline`` section of docs/BENCHMARKS.md.

    .venv/bin/python bench/bench_naive_pipeline.py --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import machine, median, peak_rss_mb, rewrite_section, run_child, spread, stop_process, utc_stamp  # noqa: E402
from bench.bench_connectors import WIDE_OPEN, SandboxProcess, free_port  # noqa: E402
from bench.bench_ingest import credential_env, sqlite_warehouse  # noqa: E402

STEPS = ("pull-orders flow (task per shop)", "naive flow (task per order)")


# --- the children ---------------------------------------------------------------------------

def _window(spec: dict) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(spec["since"]), datetime.fromisoformat(spec["until"])


def _orders_stored(url: str) -> int:
    import sqlalchemy as sa

    from warehouse.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text("select count(*) from orders"))
    finally:
        engine.dispose()


def child_flow(spec: dict) -> dict:
    from config.settings import get_settings
    from flows.orders import pull_orders

    since, until = _window(spec)
    started = time.perf_counter()
    state = pull_orders(shops=spec["shops"], since=since, until=until, return_state=True)
    seconds = time.perf_counter() - started
    if not state.is_completed():
        raise SystemExit(f"pull-orders ended {state.type.value}: {state.message}")
    return {"seconds": seconds, "orders": _orders_stored(get_settings().warehouse_url), "rss_mb": peak_rss_mb(),
            "task_runs": len(spec["shops"]) + 2}  # ingest-shop per shop, sync-shops, publish-report


def child_naive(spec: dict) -> dict:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    from config.schema import load_config
    from config.settings import get_settings
    from connectors import build_connector, default_settings
    from domain.normalise import normalise
    from tasks.secrets import pii_hash_key, shop_credentials
    from warehouse import repository
    from warehouse.db import make_engine

    config = load_config()
    engine = make_engine(get_settings().warehouse_url)
    hash_key = pii_hash_key()
    loaded = 0

    @task(name="load-one-order", cache_policy=NO_CACHE)
    def load_one_order(platform: str, shop_id: str, record: dict) -> None:
        repository.upsert_orders(engine, normalise(platform, [record], shop_id, hash_key=hash_key))

    @flow(name="naive-pull")
    def naive_pull(since: datetime, until: datetime) -> int:
        nonlocal loaded
        for shop in (config.shop(s) for s in spec["shops"]):
            settings = default_settings(shop.platform, shop.base_url, **shop.connector_options)
            connector = build_connector(shop.platform, shop.id, settings, shop_credentials(shop))
            for page in connector.pull_orders(since, until):
                for record in page.records:
                    load_one_order(shop.platform, shop.id, record)
                    loaded += 1
        return loaded

    since, until = _window(spec)
    started = time.perf_counter()
    state = naive_pull(since, until, return_state=True)
    seconds = time.perf_counter() - started
    engine.dispose()
    if not state.is_completed():
        raise SystemExit(f"naive-pull ended {state.type.value}: {state.message}")
    return {"seconds": seconds, "orders": _orders_stored(get_settings().warehouse_url), "rss_mb": peak_rss_mb(),
            "task_runs": loaded}


CHILDREN = {"flow": child_flow, "naive": child_naive}


# --- the parent -----------------------------------------------------------------------------

class PrefectServer:
    """A temporary ``prefect server start`` (own PREFECT_HOME, SQLite) on a free port."""

    def __init__(self, home: Path):
        from shopops.demo import _bin, wait_until_answering

        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}/api"
        self.env = {"PREFECT_HOME": str(home), "PREFECT_API_URL": self.api_url,
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        home.mkdir(parents=True, exist_ok=True)
        self.log = (home.parent / "prefect-server.log").open("wb")
        self.process = subprocess.Popen([_bin("prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                                         str(port)], env={**os.environ, **self.env}, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        wait_until_answering(f"{self.api_url}/health", self.process, "prefect server", timeout_s=180)

    def stop(self) -> None:
        stop_process(self.process, grace_s=30)
        self.log.close()


def warm_up(config_dir: Path, shops: list[str], since: datetime, until: datetime) -> None:
    """One untimed pull of the window, so both steps read pages the sandbox has rendered before."""
    from config.schema import load_config
    from connectors import build_connector, default_settings
    from tasks.secrets import shop_credentials

    config = load_config(config_dir)
    for shop in (config.shop(s) for s in shops):
        settings = default_settings(shop.platform, shop.base_url, **{**shop.connector_options, **WIDE_OPEN})
        for _ in build_connector(shop.platform, shop.id, settings, shop_credentials(shop)).pull_orders(since, until):
            pass


def run(scenario: str, repeats: int, scratch: Path) -> tuple[dict[str, list[dict]], dict]:
    from config.overlay import write_sandbox_config
    from sandbox import generate

    samples: dict[str, list[dict]] = {step: [] for step in STEPS}
    world = generate(scenario)  # for its catalogue and start; the sandbox process generates its own
    catalogue, start = world.catalogue, world.scenario.start
    facts: dict = {}
    for number in range(repeats):
        run_dir = scratch / f"run{number}"
        with SandboxProcess(scenario, run_dir / "sandbox") as sandbox:
            config_dir = write_sandbox_config(run_dir / "config", sandbox.url, connector_options=WIDE_OPEN)
            shops = sorted(sandbox.credentials)  # the marketplace shops (file-import shops have no API)
            since, until = start - timedelta(hours=1), sandbox.now - timedelta(minutes=1)
            env = {**credential_env(sandbox.credentials), "SHOPOPS_CONFIG_DIR": str(config_dir)}
            os.environ.update(env)
            warm_up(config_dir, shops, since, until)
            facts = {"orders_in_sandbox": sandbox.orders, "shops": len(shops)}
            order = [("flow", STEPS[0]), ("naive", STEPS[1])]
            for kind, step in order if number % 2 == 0 else order[::-1]:
                data_dir = run_dir / f"data-{kind}"
                data_dir.mkdir(parents=True)
                sqlite_warehouse(data_dir / "warehouse.sqlite", catalogue)
                spec = {"shops": shops, "since": since.isoformat(), "until": until.isoformat()}
                server = PrefectServer(run_dir / f"prefect-{kind}" / "home")  # untimed; see the docstring
                try:
                    out = run_child(__file__, kind, spec, {**env, **server.env, "SHOPOPS_DATA_DIR": str(data_dir)})
                finally:
                    server.stop()
                samples[step].append(out)
                print(f"run {number + 1}/{repeats} {step}: {out['orders']:,} orders in {out['seconds']:.1f} s "
                      f"({out['orders'] / out['seconds']:,.0f}/s), {out['task_runs']:,} task runs, "
                      f"peak RSS {out['rss_mb']:.0f} MB", flush=True)
    return samples, facts


def markdown(samples: dict[str, list[dict]], facts: dict, scenario: str, repeats: int, command: str,
             total_s: float) -> str:
    baseline = median([s["seconds"] for s in samples[STEPS[0]]])
    rows = []
    for step in STEPS:
        runs = samples[step]
        seconds = [s["seconds"] for s in runs]
        rates = [s["orders"] / s["seconds"] for s in runs]
        rss = [s["rss_mb"] for s in runs]
        rows.append(f"| {step} | {median([s['orders'] for s in runs]):,.0f} | "
                    f"{median([s['task_runs'] for s in runs]):,.0f} | {median(seconds):,.2f} | "
                    f"{spread(seconds, ',.2f')} | {median(rates):,.0f} ({spread(rates)}) | "
                    f"{median(rss):,.0f} ({max(rss):,.0f}) | {median(seconds) / baseline:,.2f}× |")
    return "\n".join([
        f"## Naive Prefect pipeline (one task per order) against `pull-orders`, `{scenario}`",
        "",
        f"Scenario `{scenario}` ({facts['orders_in_sandbox']:,} orders over {facts['shops']} shops), sandbox in its "
        f"own process (a fresh one per run), median of {repeats} run(s) (min–max). Both flows report to a real "
        "Prefect API: a temporary `prefect server start` (SQLite, own PREFECT_HOME) started by the benchmark, "
        "a fresh one for every step (a server still digesting 10k task runs' events slows whatever runs next); "
        "each flow runs in a process of its own (peak RSS = its `ru_maxrss`; the server's "
        "memory is not included) into a fresh migrated SQLite warehouse. *pull-orders* (the baseline): the "
        "project's flow — a task per shop, pages in loops, validated chunked commits, raw pages archived, report "
        "published. *Naive*: a flow reading the same window through the same connectors and calling a Prefect "
        "task `load-one-order` per order (normalise that record, upsert it in its own transaction) — no "
        "validation, archive, watermark or report, so less work per order than the baseline. Before the "
        "measured steps each run pulls the window once (untimed), so both read pages the sandbox has rendered "
        "before; the two steps alternate which goes first. Time = the flow call, flow-run overhead included.",
        "",
        "| flow | orders stored | task runs | median s | min–max s | orders/s (min–max) | peak RSS MB (max) "
        "| time vs pull-orders |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Measured {utc_stamp()} on {machine()}; client, sandbox, Prefect server and database share the machine; "
        f"whole run {total_s:,.0f} s.",
        "",
        f"Reproduce: `{command}`",
    ])


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(CHILDREN[sys.argv[2]](json.loads(sys.argv[3]))), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="normal_day", help="scenario of config/scenarios (default normal_day)")
    parser.add_argument("--repeats", type=int, default=3, help="runs, each with a fresh sandbox and warehouses (≥3)")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    parser.add_argument("--quick", action="store_true", help="smoke test: scenario smoke, one run, docs left alone")
    args = parser.parse_args()
    if args.quick:
        args.scenario, args.repeats, args.no_docs = "smoke", 1, True
    elif args.repeats < 3:
        parser.error("--repeats must be at least 3 (the table reports a median)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shopops-bench-naive-") as scratch:
        samples, facts = run(args.scenario, args.repeats, Path(scratch))
    total = time.perf_counter() - started
    command = f".venv/bin/python bench/bench_naive_pipeline.py --scenario {args.scenario} --repeats {args.repeats}"
    section = markdown(samples, facts, args.scenario, args.repeats, command, total)
    print("\n".join(line for line in section.splitlines() if line.startswith("|")))
    if not args.no_docs:
        rewrite_section("naive-pipeline", section)
        print("wrote docs/BENCHMARKS.md (naive-pipeline section)")


if __name__ == "__main__":
    main()
