"""Benchmark of the six marketplace connectors against the sandbox, with a raw-HTTP floor from the same run.

The sandbox runs **in its own process** (``python -m sandbox --scenario … --port …``; the
credentials come from the ``credentials.json`` it writes), a fresh one per run, so every
run starts with nothing rendered. In each run, for one shop per platform (the scenario's
first shop of that platform), in this order:

1. *cold*: the connector pulls the scenario's whole period (``pull_orders``) — every page
   is rendered by the sandbox for the first time. Every HTTP request it sends is recorded
   (a response hook on the connector's ``requests.Session``).
2. *floor*: a minimal loop with a keep-alive ``requests.Session`` sends exactly those
   recorded requests again (same URLs, parameters, bodies, headers and signatures — TOP's
   ``trade.fullinfo.get`` and Amazon's ``orderItems`` calls included) and ``json.loads``
   each body; nothing else.
3. *connector*: the connector pulls the period again (pages now rendered: the same server
   state as the floor saw) — the connector's own cost on top of the floor. Floor and
   connector alternate ``--passes`` times (default 3) and the run keeps the median of each:
   the two see the same load from whatever else the machine is running.
4. *+ normalise*: ``domain.normalise.normalise`` of that pull's records, timed separately;
   "with normalisation" is orders / (pull + normalise).

The client-side token bucket is opened wide (``throttle_rate_per_s`` 10⁶) and the
scenario's injected faults are cleared, so the figures are throughput, not politeness.
Pages/s counts the connector's order pages (``Page``s); the floor's pages/s is the same page
count divided by the floor's time, so ratio = connector pages/s ÷ floor pages/s.

Prints a progress line per step, then rewrites the ``connectors`` section of
docs/BENCHMARKS.md.

    .venv/bin/python bench/bench_connectors.py --scenario normal_day --repeats 7
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import machine, median, peak_rss_mb, rewrite_section, spread, stop_process, utc_stamp  # noqa: E402
from connectors import Credentials, build_connector, default_settings  # noqa: E402
from domain.normalise import normalise  # noqa: E402
from sandbox.scenario import load_scenario  # noqa: E402

PLATFORMS = ("taobao", "jd", "pdd", "douyin", "shopify", "amazon")
HASH_KEY = b"bench-connectors-key"
WIDE_OPEN = dict(throttle_rate_per_s=1e6, throttle_burst=10**6, items_rate_per_s=1e6)


@dataclass
class Recorded:
    method: str
    url: str
    body: bytes | str | None
    headers: dict[str, str]


@dataclass
class Samples:
    """Seconds per run of each step for one platform (pages/orders/requests per pull)."""

    pages: int = 0
    orders: int = 0
    requests: int = 0
    cold: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    normalise: list[float] = field(default_factory=list)


# --- the sandbox in its own process ----------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxProcess:
    """``python -m sandbox`` on a free port; its credentials read from its credentials.json."""

    def __init__(self, scenario: str, data_dir: Path, timeout_s: float = 600.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--scenario", scenario, "--port", str(self.port),
             "--data-dir", str(data_dir)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the sandbox exited with {self.process.returncode}: {self.process.stdout.read()}")
            try:
                health = requests.get(f"{self.url}/_sandbox/health", timeout=2).json()
                break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"the sandbox did not answer on {self.url} within {timeout_s:.0f} s")
        self.now = datetime.fromisoformat(health["now"])
        self.orders = health["orders"]
        self.credentials = json.loads((data_dir / "credentials.json").read_text(encoding="utf-8"))
        requests.post(f"{self.url}/_sandbox/faults", json={"clear": True}, timeout=5).raise_for_status()

    def stop(self) -> None:
        stop_process(self.process, grace_s=10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> "SandboxProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# --- the three measured things ---------------------------------------------------------------

def connector_pull(sandbox: SandboxProcess, platform: str, shop_id: str, start: datetime,
                   record: list[Recorded] | None = None) -> tuple[float, int, list[dict]]:
    """(seconds, pages, records) of one ``pull_orders`` of [start, sandbox now)."""
    base_url = f"{sandbox.url}/{platform}" + (f"/{shop_id}" if platform == "shopify" else "")
    settings = default_settings(platform, base_url, **WIDE_OPEN)
    secret = sandbox.credentials[shop_id]
    credentials = Credentials(app_key=secret["app_key"], app_secret=secret["app_secret"],
                              access_token=secret["access_token"])
    records: list[dict] = []
    pages = 0
    with build_connector(platform, shop_id, settings, credentials) as connector:
        if record is not None:
            def keep(response, *args, **kwargs):
                prepared = response.request
                headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
                record.append(Recorded(prepared.method, prepared.url, prepared.body, headers))
            connector.http.session.hooks["response"].append(keep)
        started = time.perf_counter()
        for page in connector.pull_orders(start, sandbox.now):
            records.extend(page.records)
            pages += 1
        seconds = time.perf_counter() - started
    return seconds, pages, records


def floor_pass(recorded: list[Recorded]) -> float:
    """The same requests over one keep-alive session, bodies parsed with ``json.loads``."""
    with requests.Session() as session:
        started = time.perf_counter()
        for r in recorded:
            response = session.request(r.method, r.url, data=r.body, headers=r.headers)
            json.loads(response.content)
        return time.perf_counter() - started


def one_shop_per_platform(scenario) -> dict[str, str]:
    shops: dict[str, str] = {}
    for shop in scenario.shops:
        shops.setdefault(shop.platform, shop.id)
    missing = [p for p in PLATFORMS if p not in shops]
    if missing:
        raise SystemExit(f"scenario {scenario.name} has no shop on {', '.join(missing)}")
    return {p: shops[p] for p in PLATFORMS}


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run(scenario_name: str, repeats: int, platforms: list[str], passes: int
        ) -> tuple[dict[str, Samples], dict[str, str], int]:
    scenario = load_scenario(scenario_name)
    shops = {p: s for p, s in one_shop_per_platform(scenario).items() if p in platforms}
    samples: dict[str, Samples] = defaultdict(Samples)
    total_orders = 0
    with tempfile.TemporaryDirectory(prefix="shopops-bench-") as scratch:
        for repeat in range(1, repeats + 1):
            started = time.perf_counter()
            with SandboxProcess(scenario_name, Path(scratch) / f"run{repeat}") as sandbox:
                total_orders = sandbox.orders
                print(f"run {repeat}/{repeats}: sandbox pid {sandbox.process.pid} on {sandbox.url} "
                      f"({sandbox.orders:,} orders, up in {time.perf_counter() - started:.1f} s)", flush=True)
                for platform, shop_id in shops.items():
                    s = samples[platform]
                    recorded: list[Recorded] = []
                    cold, pages, records = connector_pull(sandbox, platform, shop_id, scenario.start, recorded)
                    s.pages, s.orders, s.requests = pages, len(records), len(recorded)
                    s.cold.append(cold)
                    # floor and connector alternate, so both see the same load from the rest of the machine
                    floors, warms = [], []
                    for _ in range(passes):
                        floors.append(floor_pass(recorded))
                        warm, pages_again, records = connector_pull(sandbox, platform, shop_id, scenario.start)
                        if pages_again != pages:
                            raise AssertionError(f"{platform}: {pages} pages cold but {pages_again} warm")
                        warms.append(warm)
                    t0 = time.perf_counter()
                    frames = normalise(platform, records, shop_id, hash_key=HASH_KEY)
                    norm = time.perf_counter() - t0
                    if len(frames.orders) != len(records):
                        raise AssertionError(f"{platform}: {len(records)} records but {len(frames.orders)} normalised")
                    floor, warm = median(floors), median(warms)
                    s.floor.append(floor)
                    s.warm.append(warm)
                    s.normalise.append(norm)
                    print(f"  {platform:<8} {shop_id:<16} {pages:>5} pages {len(records):>7,} orders "
                          f"{len(recorded):>6} requests | first pass {rate(pages, cold):6,.0f} p/s | "
                          f"floor {rate(pages, floor):6,.0f} p/s | connector {rate(pages, warm):6,.0f} p/s "
                          f"{rate(len(records), warm):8,.0f} o/s | +normalise {rate(len(records), warm + norm):8,.0f} o/s",
                          flush=True)
    return samples, shops, total_orders


def markdown(samples: dict[str, Samples], shops: dict[str, str], scenario: str, total_orders: int,
             repeats: int, passes: int, command: str) -> str:
    rows = ["| platform (shop) | page size | pages | orders | requests | connector pages/s | orders/s "
            "| orders/s with normalise | floor pages/s | connector ÷ floor | first pass pages/s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for platform, s in samples.items():
        page_rates = [rate(s.pages, t) for t in s.warm]
        order_rates = [rate(s.orders, t) for t in s.warm]
        norm_rates = [rate(s.orders, t + n) for t, n in zip(s.warm, s.normalise)]
        floor_rates = [rate(s.pages, t) for t in s.floor]
        ratios = [f / w for w, f in zip(s.warm, s.floor)]
        cold_rates = [rate(s.pages, t) for t in s.cold]
        size = default_settings(platform, "http://x").page_size
        rows.append(
            f"| {platform} ({shops[platform]}) | {size} | {s.pages:,} | {s.orders:,} | {s.requests:,} "
            f"| {median(page_rates):,.0f} ({spread(page_rates)}) | {median(order_rates):,.0f} ({spread(order_rates)}) "
            f"| {median(norm_rates):,.0f} ({spread(norm_rates)}) | {median(floor_rates):,.0f} ({spread(floor_rates)}) "
            f"| {median(ratios):.2f} ({spread(ratios, '.2f')}) | {median(cold_rates):,.0f} ({spread(cold_rates)}) |")
    return "\n".join([
        "## Connectors against the sandbox (`connectors.*.pull_orders` over real HTTP)",
        "",
        f"Scenario `{scenario}` ({total_orders:,} orders over all shops); one shop per platform pulls the "
        f"scenario's whole period from a sandbox running in its own process (`python -m sandbox`, a fresh "
        f"process per run). Median of {repeats} runs (min–max in brackets); in each run floor and connector "
        f"alternate {passes} times and the run counts the median of each. *Connector*: `pull_orders` with "
        "every page already rendered by the sandbox once. *With normalise*: plus `domain.normalise.normalise` "
        "of the pulled records. *Floor*: the same HTTP requests (recorded from the connector: same URLs, "
        "parameters, signatures, TOP `trade.fullinfo.get` and Amazon `orderItems` calls included) sent by a "
        "bare keep-alive `requests.Session` loop that only `json.loads` each body — the HTTP + sandbox cost "
        "any client pays. *Connector ÷ floor*: 1.00 means the connector adds nothing over the floor. "
        "*First pass*: the connector's first pull in a fresh sandbox (every page rendered for the first "
        "time). Client-side throttling opened wide and injected faults cleared: this is throughput, not "
        "the production rate limits.",
        "",
        *rows,
        "",
        f"Measured {utc_stamp()} on {machine()}; client and sandbox processes on the same machine "
        f"(1-minute load average {os.getloadavg()[0]:.1f} at the end of the run: other work shares the cores, "
        f"hence the wide min–max). Peak RSS of the client process (every connector pass and the floor run in it; "
        f"the sandbox has its own): {peak_rss_mb():,.0f} MB.",
        "",
        f"Reproduce: `{command}`",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="normal_day", help="scenario of config/scenarios (default normal_day)")
    parser.add_argument("--repeats", type=int, default=7, help="runs, each with a fresh sandbox (default 7, ≥3)")
    parser.add_argument("--passes", type=int, default=3,
                        help="floor/connector passes per run, alternating; a run counts their median (default 3)")
    parser.add_argument("--platforms", default=",".join(PLATFORMS), help="comma-separated subset of the six")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")
    parser.add_argument("--quick", action="store_true", help="smoke test: scenario smoke, one run, docs left alone")
    args = parser.parse_args()
    if args.quick:
        args.scenario, args.repeats, args.passes, args.no_docs = "smoke", 1, 1, True
    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    unknown = set(platforms) - set(PLATFORMS)
    if unknown:
        parser.error(f"unknown platform(s) {sorted(unknown)}; choose from {', '.join(PLATFORMS)}")
    if args.repeats < 3 and not args.quick:
        parser.error("--repeats must be at least 3 (the table reports a median)")

    started = time.perf_counter()
    samples, shops, total_orders = run(args.scenario, args.repeats, platforms, args.passes)
    command = f".venv/bin/python bench/bench_connectors.py --scenario {args.scenario} --repeats {args.repeats}"
    if args.passes != 3:
        command += f" --passes {args.passes}"
    if platforms != list(PLATFORMS):
        command += f" --platforms {','.join(platforms)}"
    section = markdown(samples, shops, args.scenario, total_orders, args.repeats, args.passes, command)
    print("\n".join(line for line in section.splitlines() if line.startswith("|")))
    print(f"total {time.perf_counter() - started:.0f} s", flush=True)
    if not args.no_docs:
        rewrite_section("connectors", section)
        print("wrote docs/BENCHMARKS.md (connectors section)")


if __name__ == "__main__":
    main()
