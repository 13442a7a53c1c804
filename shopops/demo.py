"""The demo stack: a local Prefect server with its UI, the deployments, a worker, first runs.

Started by ``make demo`` (``shopops demo``). Everything binds to 127.0.0.1 and lives under
the data folder (``data/`` by default): the warehouse, Prefect's home and database, logs,
reports. Ctrl-C (or ``shopops demo --stop`` from another terminal) stops every process it
started, worker first, so no run is left half-recorded. Running it while it already runs
only prints the address.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
import yaml

from config.overlay import write_sandbox_config
from config.settings import PROJECT_ROOT, Settings
from shopops.i18n import t
from shopops.operating_day import DayStep, StepOutcome, run_operating_day

if TYPE_CHECKING:
    from shopops.demo_stock import DemoStock

#: the sandbox scenario behind the demo, re-dated so that it runs around the current time
DEMO_SCENARIO = "normal_day"
#: today's busy trading day starts this many hours ago (orders before now are there at once,
#: the rest arrive live as the sandbox's clock follows the wall clock) …
DEMO_HOURS_BACK = 20
#: … after a quiet history long enough for restock's 90-day demand and ABC classes, the
#: previous month's settlement and a campaign's 4-week baseline
DEMO_HISTORY_DAYS = 92
#: orders per day in the history (today runs at the scenario's own rate)
DEMO_HISTORY_ORDERS_PER_DAY = 120
#: the campaign (config/promotions/) whose preparation the demo checks as a dry run
DEMO_CAMPAIGN = "double12-2026"


def work_pools() -> list[str]:
    """The work pools prefect.yaml's deployments name (one source of truth for the pool)."""
    spec = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    pools = {d["work_pool"]["name"] for d in spec.get("deployments", []) if d.get("work_pool")}
    return sorted(pools)


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and what to do."""


def _bin(name: str) -> str:
    """A console script of this virtualenv (prefect, shopops), not whatever is on PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def wait_until_answering(url: str, proc: subprocess.Popen, name: str, timeout_s: float = 120, see: str = "") -> None:
    """Poll ``url`` until it answers 2xx; fail at once if ``proc`` (the server behind it) exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DemoError(f"{name} exited with code {proc.returncode}{see}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise DemoError(f"{name} did not answer at {url} within {timeout_s:.0f} s{see}")


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class DemoStack:
    settings: Settings
    say: callable = print
    #: where today's trading day of the demo scenario begins (its history lies before it)
    today_start: datetime | None = None
    #: what the stock seed left (the WMS count file for reconcile-stock)
    stock: "DemoStock | None" = None
    #: the moment the stock seed is dated (the ledger, POs, count file); None = now
    stock_as_of: datetime | None = None
    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    # --- paths and environment ----------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def state_file(self) -> Path:
        return self.data_dir / "demo.json"

    @property
    def api_url(self) -> str:
        return self.settings.demo_prefect_api

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.prefect_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.sandbox_port}"

    @property
    def reports_url(self) -> str:
        """Where report links point: SHOPOPS_REPORTS_URL when set, else the demo's reports server."""
        return self.settings.reports_url or f"http://127.0.0.1:{self.settings.reports_port}/reports"

    @property
    def demo_config_dir(self) -> Path:
        return self.data_dir / "demo-config"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "PREFECT_HOME": str(self.data_dir / "prefect"),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(self.settings.prefect_port),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_SHOW_PROMOTIONAL_CONTENT": "false",
            # the worker looks for new runs every 2 s instead of 10: a run started from the UI
            # (or by the operating day) begins at once
            "PREFECT_WORKER_QUERY_SECONDS": "2",
            "SHOPOPS_DATA_DIR": str(self.data_dir),
            "SHOPOPS_CONFIG_DIR": str(self.demo_config_dir),
            # artifacts link to the reports server started below, not to file:// paths
            "SHOPOPS_REPORTS_URL": self.reports_url,
        })
        return env

    # --- running state ------------------------------------------------------------------
    def running_pid(self) -> int | None:
        """The supervisor pid of a demo that is already running from this data folder."""
        if not self.state_file.exists():
            return None
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None
        pid = state.get("supervisor")
        return pid if isinstance(pid, int) and _alive(pid) else None

    def _write_state(self) -> None:
        self.state_file.write_text(json.dumps({
            "supervisor": os.getpid(), "ui": self.ui_url, "api": self.api_url,   # the CLI's default server
            "children": {name: proc.pid for name, proc in self.processes},
        }, indent=2))

    # --- steps --------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child process
        # own session: a Ctrl-C in the terminal reaches the supervisor only, which then stops
        # the children in order (worker before server)
        proc = subprocess.Popen(args, cwd=PROJECT_ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.processes.append((name, proc))
        self._write_state()
        return proc

    def _run(self, what: str, args: list[str], ok_if: str | None = None) -> str:
        result = subprocess.run(args, cwd=PROJECT_ROOT, env=self.env(), capture_output=True, text=True)
        output = (result.stdout or "") + (result.stderr or "")
        if result.returncode != 0 and not (ok_if and ok_if in output):
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise DemoError(f"{what} failed (exit {result.returncode}):\n{tail}")
        return output

    # --- the sandbox marketplace and the demo's configuration ------------------------------
    def _write_scenario(self) -> Path:
        """normal_day re-dated: a quiet history of DEMO_HISTORY_DAYS days, then today's trading
        day from DEMO_HOURS_BACK hours ago on at the scenario's own rate (a surge over the
        history's rate), running on a day past now. Whole hours, so reruns of the demo within
        the hour see the same world."""
        source = PROJECT_ROOT / "config" / "scenarios" / f"{DEMO_SCENARIO}.yaml"
        spec = yaml.safe_load(source.read_text(encoding="utf-8"))
        hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        start, today = hour - timedelta(days=DEMO_HISTORY_DAYS), hour - timedelta(hours=DEMO_HOURS_BACK)
        self.today_start = today
        end = hour + timedelta(days=1)
        busy = spec["orders_per_day"] / DEMO_HISTORY_ORDERS_PER_DAY
        spec.update(name="demo", start=start.isoformat(), days=(end - start).total_seconds() / 86400,
                    orders_per_day=DEMO_HISTORY_ORDERS_PER_DAY,
                    surges=[{"start": today.isoformat(), "end": end.isoformat(), "multiplier": busy}])
        spec.pop("end", None)
        target = self.data_dir / "sandbox" / "demo-scenario.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return target

    def _write_demo_config(self) -> None:
        """config/ with every shop pointed at the local sandbox (the demo never touches a real
        marketplace); the rest of the configuration is the project's own."""
        write_sandbox_config(self.demo_config_dir, self.sandbox_url)

    def _wait_for(self, url: str, name: str, timeout_s: float = 120) -> None:
        wait_until_answering(url, dict(self.processes)[name], name, timeout_s,
                             see=f"; see {self.data_dir / 'logs' / (name + '.log')}")

    def _register_secrets_and_catalogue(self, scenario: Path) -> None:
        """Shop credentials and the PII hash key as Prefect Secret blocks (never parameters,
        never files the worker reads), the shops and the SKU catalogue into the warehouse, and
        the history before today's trading day (see :meth:`_seed_history`)."""
        for key, value in self.env().items():
            if key.startswith(("PREFECT_", "SHOPOPS_")):
                os.environ[key] = value
        from config.schema import load_config
        from config.settings import get_settings
        from prefect.blocks.system import Secret
        from sandbox import generate
        from tasks.catalogue import store_catalogue
        from warehouse import repository
        from warehouse.db import make_engine

        from shopops.demo_stock import add_sandbox_stock_options, seed_demo_stock

        get_settings.cache_clear()
        # stock APIs need a Shopify location and an Amazon seller id: before the config is read
        add_sandbox_stock_options(self.demo_config_dir)
        credentials = json.loads((self.data_dir / "sandbox" / "credentials.json").read_text(encoding="utf-8"))
        config = load_config(self.demo_config_dir)
        for shop in config.shops:
            if shop.id in credentials and shop.credentials_block:
                secret = credentials[shop.id]
                Secret(value=json.dumps({"app_key": secret["app_key"], "app_secret": secret["app_secret"],
                                         "access_token": secret["access_token"]})).save(
                    shop.credentials_block, overwrite=True)
        try:
            Secret.load("shopops-pii-hash-key")
        except ValueError:
            Secret(value=secrets.token_hex(32)).save("shopops-pii-hash-key")
        world = generate(scenario)
        engine = make_engine(get_settings().warehouse_url)
        try:
            repository.sync_shops(engine, config.shops)
            store_catalogue(engine, world.catalogue)
            self._seed_history(engine, world)
        finally:
            engine.dispose()
        # the morning's stock picture: ledger, listings (yesterday's sync over real HTTP), open
        # purchase orders, the WMS count file with its planted differences
        self.stock = seed_demo_stock(get_settings().warehouse_url, config, world, now=self.stock_as_of)

    def _seed_history(self, engine, world) -> None:
        """The orders placed before today's trading day, as the sandbox holds them now, stored
        the way a faithful pull stores them (the sandbox's ground truth, already in the
        warehouse's masked form) — the quarter of history a shop going live on shopops would
        import once. Pulling 92 days through the marketplace APIs is what `pull-orders` does
        for a new shop, and takes minutes; the demo's own pull covers today. Idempotent: the
        upsert keeps the newest version of each order."""
        import pandas as pd

        from warehouse import repository

        today = int(self.today_start.timestamp())
        for shop_id in world.orders:
            truth = world.ground_truth(shop_id, as_of=datetime.now(timezone.utc))
            history = truth.orders["created_at"] < pd.Timestamp(today, unit="s", tz="UTC")
            keys = truth.orders.loc[history, ["platform", "shop_id", "order_id"]]
            repository.upsert_orders(engine, type(truth)(
                orders=truth.orders[history],
                lines=truth.lines.merge(keys, on=list(keys.columns)),
                refunds=truth.refunds.merge(keys, on=list(keys.columns))))

    def start(self) -> None:
        steps = 7
        prefect = _bin("prefect")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_demo_config()

        self.say(t("step", n=1, total=steps, what=t("demo_step_warehouse")))
        self._run("shopops db upgrade", [_bin("shopops"), "db", "upgrade"])

        self.say(t("step", n=2, total=steps, what=t("demo_step_sandbox", url=self.sandbox_url)))
        scenario = self._write_scenario()
        self._spawn("sandbox", [sys.executable, "-m", "sandbox", "--scenario", str(scenario),
                                "--port", str(self.settings.sandbox_port), "--data-dir", str(self.data_dir / "sandbox")])
        self._wait_for(f"{self.sandbox_url}/_sandbox/health", "sandbox")
        # the sandbox's clock follows the wall clock: new orders keep arriving while the demo runs
        requests.post(f"{self.sandbox_url}/_sandbox/clock",
                      json={"now": datetime.now(timezone.utc).isoformat(), "rate": 1.0}, timeout=10).raise_for_status()

        self.say(t("step", n=3, total=steps, what=t("demo_step_prefect", url=self.ui_url)))
        self._spawn("prefect-server", [prefect, "server", "start", "--host", "127.0.0.1",
                                       "--port", str(self.settings.prefect_port)])
        self._wait_for(f"{self.api_url}/health", "prefect-server")
        self._crash_runs_left_going()
        # the reports folder, read-only over HTTP: the artifacts' report links open in a browser
        folder = self.settings.reports_dir or (self.data_dir / "reports")
        self._spawn("reports-server", [sys.executable, "-m", "shopops.reports_server", "--host", "127.0.0.1",
                                       "--port", str(self.settings.reports_port), "--folder", str(folder)])
        self._wait_for(f"http://127.0.0.1:{self.settings.reports_port}/_health", "reports-server")
        self.say(t("reports_server_listening", url=self.reports_url + "/", folder=folder))

        self.say(t("step", n=4, total=steps, what=t("demo_step_seed")))
        self._register_secrets_and_catalogue(scenario)

        pools = work_pools()
        self.say(t("step", n=5, total=steps, what=t("demo_step_pool", pools=", ".join(pools))))
        for pool in pools:
            self._run(f"creating the work pool {pool}", [prefect, "work-pool", "create", pool, "--type", "process"],
                      ok_if="already exists")

        self.say(t("step", n=6, total=steps, what=t("demo_step_deployments")))
        self._run("prefect deploy --all", [prefect, "--no-prompt", "deploy", "--all"])

        if self.settings.webhook_url:
            self._run("registering notifications", [_bin("shopops"), "notify", "setup"])
        self.say(t("step", n=7, total=steps, what=t("demo_step_worker")))
        for pool in pools:
            self._spawn(f"worker-{pool}", [prefect, "worker", "start", "--pool", pool, "--name", f"demo-{pool}"])


    def _crash_runs_left_going(self) -> None:
        """Runs the previous demo left in progress when it stopped are Crashed (they hold their
        deployment's concurrency slot, see shopops/operating_day.crash_runs_left_going)."""
        from prefect.client.orchestration import get_client

        from shopops.operating_day import crash_runs_left_going

        with get_client(sync_client=True) as client:
            names = crash_runs_left_going(client)
        if names:
            self.say(t("demo_runs_crashed", n=len(names), runs=", ".join(names)))

    def operating_day_steps(self, today_start: datetime) -> list[DayStep]:
        """The runs of one operating day, in the order a morning goes (see shopops/operating_day.py)."""
        return [
            DayStep("check-warehouse/check-warehouse"),
            DayStep("pull-orders/pull-orders", {"since": today_start.isoformat()}),
            DayStep("reconcile-stock/reconcile-stock", {"count_file": str(self.stock.count_file)}),
            DayStep("restock-alerts/restock-alerts"),
            DayStep("shipping-batches/shipping-batches"),
            DayStep("customer-service-followup/customer-service-followup"),
            # the next campaign's readiness check, changing nothing (a person starts campaigns)
            DayStep("promotion-campaign/promotion-campaign",
                    {"phase": "prepare", "name": DEMO_CAMPAIGN, "dry_run": True}),
            # last month's commission statement stops at its approval form for a manager
            DayStep("monthly-settlement/monthly-settlement", {"month": self.settlement_month},
                    until_paused=True, before=self._write_settlement_inputs),
        ]

    @property
    def settlement_month(self) -> str:
        from flows.settlement import previous_month

        return previous_month(datetime.now(timezone.utc), "Asia/Shanghai")

    def _write_settlement_inputs(self) -> str:
        """The HR and platform inputs of last month's settlement (roster, targets, expenses,
        customer-service stats, shop channels and stats), sized from the demo history's rate,
        where the flow looks for them (<data>/settlement/<month>/)."""
        import calendar

        from config.schema import load_config
        from shopops.demo_settlement import expected_daily_sales, prepare_demo_settlement_inputs

        month = self.settlement_month
        year, number = map(int, month.split("-"))
        prepare_demo_settlement_inputs(
            self.data_dir / "settlement" / month, load_config(self.demo_config_dir), month,
            trading_days=calendar.monthrange(year, number)[1],
            daily=expected_daily_sales(str(self.data_dir / "sandbox" / "demo-scenario.yaml")))
        return ""

    def run_operating_day(self) -> list[StepOutcome]:
        started = time.monotonic()
        outcomes = run_operating_day(self.operating_day_steps(self.today_start), say=self.say)
        summary = ", ".join(f"{o.deployment.split('/')[0]} {o.state}" for o in outcomes)
        self.say(t("day_done", seconds=f"{time.monotonic() - started:.0f}", summary=summary))
        failed = [o.deployment for o in outcomes if o.state not in ("COMPLETED", "PAUSED")]
        if failed:
            self.say(t("day_failed_steps", steps=", ".join(failed)))
        return outcomes

    #: seconds the worker, then the server and sandbox together, get to stop after SIGTERM before SIGKILL
    STOP_GRACE_S = (15, 15)

    def stop(self) -> None:
        """Worker first (it would log errors once the server is gone), then the others at once;
        SIGTERM, then SIGKILL of the whole process group after a grace period. The graces are
        shared, not per process, so Ctrl-C returns within about half a minute even when a busy
        machine makes every shutdown slow. (The settlement's approval is a suspension: no
        process holds it, and it is still there when the demo starts again.)"""
        started = list(reversed(self.processes))
        worker = [proc for name, proc in started if name.startswith("worker")]
        others = [proc for name, proc in started if not name.startswith("worker")]
        for group, grace in zip((worker, others), self.STOP_GRACE_S):
            alive = [proc for proc in group if proc.poll() is None]
            for proc in alive:
                proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            for proc in alive:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)
            for proc in group:  # what a child left in its session (a flow run the worker started)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
        self.processes.clear()
        self.state_file.unlink(missing_ok=True)

    def watch(self) -> None:
        """Block until a signal arrives or a child dies (then say which, and stop)."""
        while True:
            for name, proc in self.processes:
                if proc.poll() is not None:
                    raise DemoError(f"{name} exited with code {proc.returncode}; "
                                    f"see {self.data_dir / 'logs' / (name + '.log')}")
            time.sleep(1)


def run_demo(settings: Settings, say=print) -> int:
    stack = DemoStack(settings=settings, say=say)
    pid = stack.running_pid()
    if pid is not None:
        say(t("demo_already", pid=pid, ui=stack.ui_url))
        return 0
    if not port_is_free(settings.prefect_port):
        say(t("demo_port_busy", port=settings.prefect_port))
        return 2

    def _terminate(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    # explicitly, not Python's default: a process started in the background by a
    # non-interactive shell (nohup … &, CI runners) inherits SIGINT *ignored*, and then
    # neither Ctrl-C nor a supervisor's SIGINT would ever stop the demo and its children
    signal.signal(signal.SIGINT, _terminate)
    try:
        stack.start()
        say(t("demo_ready", ui=stack.ui_url))
        sys.stdout.flush()
        stack.run_operating_day()
        sys.stdout.flush()
        stack.watch()
    except KeyboardInterrupt:
        pass
    except DemoError as exc:
        say(f"ERROR: {exc}")
        return 1
    finally:
        stack.stop()
        say(t("demo_stopped"))
    return 0


def stop_running_demo(settings: Settings, say=print) -> int:
    """``shopops demo --stop``: signal a demo started from another terminal."""
    stack = DemoStack(settings=settings, say=say)
    pid = stack.running_pid()
    if pid is None:
        say("no demo is running from " + str(settings.data_dir))
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(60):
        if not _alive(pid):
            say(t("demo_stopped"))
            return 0
        time.sleep(0.5)
    say(f"the demo (pid {pid}) did not stop within 30 s; kill it with: kill {pid}")
    return 1
