"""Scale-out proof: Prefect server on PostgreSQL, warehouse on PostgreSQL, two process workers.

Generates a 12-shop world (two shops per platform) in the sandbox marketplace, registers a
pull-orders deployment without a deployment-wide concurrency limit (the per-shop database
run guard still keeps two runs off one shop), starts two workers on the same pool, triggers
one pull per shop, and checks from the flow-run records that both workers ran pulls and that
the PostgreSQL warehouse equals the sandbox's ground truth.

    .venv/bin/python scripts/scale_out_check.py [--postgres postgresql://postgres@127.0.0.1:5432/test]

Prints a JSON summary on its last line; exits non-zero when a check fails. Everything it
starts (sandbox, server, workers, scratch databases) is removed at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import requests
import sqlalchemy as sa
import yaml

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from config.overlay import SANDBOX_CONNECTOR_OPTIONS, write_sandbox_config  # noqa: E402
from sandbox import generate  # noqa: E402
from shopops.demo import wait_until_answering  # noqa: E402
from sandbox.scenario import load_scenario  # noqa: E402
from tests.helpers.ingest_support import assert_equals_truth, credential_env  # noqa: E402

BIN = Path(sys.executable).parent
PLATFORMS = ("taobao", "jd", "pdd", "douyin", "shopify", "amazon")
POOL = "scaleout-pool"
DEPLOYMENT = "pull-orders-scaleout"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scenario_file(folder: Path) -> Path:
    spec = yaml.safe_load((PROJECT / "config" / "scenarios" / "smoke.yaml").read_text(encoding="utf-8"))
    spec.update(name="scale-out", orders_per_day=900, shops=[
        {"id": f"{platform}-{n}", "platform": platform, "name": f"{platform} {n}",
         "currency": "USD" if platform in ("shopify", "amazon") else "CNY",
         "timezone": "UTC" if platform in ("shopify", "amazon") else "Asia/Shanghai"}
        for platform in PLATFORMS for n in (1, 2)])
    path = folder / "scale-out.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def shops_config(folder: Path, world, sandbox_url: str) -> Path:
    """config/ pointed at the sandbox, with the 12 shops of the scenario (no promotions: the
    shipped ones name the default shops)."""
    target = write_sandbox_config(folder / "config", sandbox_url)
    shops = [{"id": s.id, "platform": s.platform, "name": s.name, "timezone": s.timezone,
              "base_url": f"{sandbox_url}/{s.platform}" + (f"/{s.id}" if s.platform == "shopify" else ""),
              "connector_options": SANDBOX_CONNECTOR_OPTIONS,
              "stock_sync": {"allocation_share": 0.05, "buffer": 0}} for s in world.shops]
    (target / "shops.yaml").write_text(yaml.safe_dump({"shops": shops}, allow_unicode=True), encoding="utf-8")
    for promotion in (target / "promotions").glob("*.yaml"):
        promotion.unlink()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="an existing database to create the scratch databases from")
    args = parser.parse_args(argv)
    admin_url = sa.make_url(args.postgres).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    tag = uuid.uuid4().hex[:8]
    databases = {"prefect": f"scaleout_prefect_{tag}", "warehouse": f"scaleout_warehouse_{tag}"}
    processes: list[subprocess.Popen] = []
    folder = Path(tempfile.mkdtemp(prefix="shopops-scaleout-"))
    summary: dict = {"ok": False}
    try:
        with admin.connect() as conn:
            for name in databases.values():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        warehouse_url = admin_url.set(database=databases["warehouse"]).render_as_string(hide_password=False)
        prefect_db = admin_url.set(drivername="postgresql+asyncpg", database=databases["prefect"])

        print("[1/6] sandbox marketplace with 12 shops", flush=True)
        world = generate(load_scenario(scenario_file(folder)))
        sandbox_port, prefect_port = free_port(), free_port()
        sandbox_url, api_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{prefect_port}/api"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SHOPOPS_"))}
        env.update(PREFECT_HOME=str(folder / "prefect"), PREFECT_API_URL=api_url,
                   PREFECT_SERVER_ANALYTICS_ENABLED="false",
                   PREFECT_API_DATABASE_CONNECTION_URL=prefect_db.render_as_string(hide_password=False),
                   SHOPOPS_DATABASE_URL=warehouse_url, SHOPOPS_DATA_DIR=str(folder / "data"),
                   SHOPOPS_PII_HASH_KEY="scale-out-check", SHOPOPS_LOCALE="en",
                   **credential_env(world.credentials))
        sandbox = subprocess.Popen([sys.executable, "-m", "sandbox", "--scenario", str(scenario_file(folder)),
                                    "--port", str(sandbox_port), "--data-dir", str(folder / "sandbox")],
                                   cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
        processes.append(sandbox)
        wait_until_answering(f"{sandbox_url}/_sandbox/health", sandbox, "the sandbox")
        env["SHOPOPS_CONFIG_DIR"] = str(shops_config(folder, world, sandbox_url))

        print("[2/6] Prefect server on PostgreSQL, warehouse on PostgreSQL", flush=True)
        server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                                   str(prefect_port)], cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        processes.append(server)
        wait_until_answering(f"{api_url}/health", server, "the Prefect server")
        subprocess.run([str(BIN / "shopops"), "db", "upgrade"], cwd=PROJECT, env=env, check=True)
        from tasks.catalogue import store_catalogue
        from warehouse.db import make_engine

        warehouse = make_engine(warehouse_url)
        store_catalogue(warehouse, world.catalogue)

        print("[3/6] work pool, deployment", flush=True)
        subprocess.run([str(BIN / "prefect"), "work-pool", "create", POOL, "--type", "process"], cwd=PROJECT,
                       env=env, check=True, capture_output=True)
        spec = {"name": "scale-out", "deployments": [{
            "name": DEPLOYMENT, "entrypoint": "flows/orders.py:pull_orders", "parameters": {},
            "work_pool": {"name": POOL}, "description": "scale-out check: one pull per shop"}]}
        (folder / "prefect.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
        subprocess.run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all", "--prefect-file",
                        str(folder / "prefect.yaml")], cwd=PROJECT, env=env, check=True, capture_output=True)

        print("[4/6] two process workers", flush=True)
        for name in ("worker-a", "worker-b"):
            processes.append(subprocess.Popen(
                [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--name", name, "--limit", "3"],
                cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))

        print("[5/6] one pull per shop", flush=True)
        since = (world.scenario.start - timedelta(hours=1)).isoformat()
        until = world.end - timedelta(minutes=1)
        for shop in world.shops:
            subprocess.run([str(BIN / "prefect"), "deployment", "run", f"pull-orders/{DEPLOYMENT}",
                            "--param", f'shops=["{shop.id}"]', "--param", f"since={since}",
                            "--param", f"until={until.isoformat()}"], cwd=PROJECT, env=env, check=True, capture_output=True)
        deadline, runs = time.monotonic() + 300, []
        while time.monotonic() < deadline:
            runs = requests.post(f"{api_url}/flow_runs/filter", json={}, timeout=10).json()
            if len(runs) == len(world.shops) and all(r["state_type"] in ("COMPLETED", "FAILED", "CRASHED",
                                                                         "CANCELLED") for r in runs):
                break
            time.sleep(1)

        print("[6/6] checks", flush=True)
        worker_of = {}
        for run in runs:
            logs = requests.post(f"{api_url}/logs/filter", json={"logs": {"flow_run_id": {"any_": [run["id"]]}}},
                                 timeout=10).json()
            named = [m.group(1) for log in logs if (m := re.search(r"Worker '([^']+)' submitting", log["message"]))]
            worker_of[run["id"]] = named[0] if named else None   # by id: readable run names repeat (one minute)
        states = sorted({r["state_type"] for r in runs})
        per_worker = {w: sum(1 for v in worker_of.values() if v == w) for w in ("worker-a", "worker-b")}
        orders = assert_equals_truth(warehouse, world, world.end, [s.id for s in world.shops], until=until)
        summary = {"ok": states == ["COMPLETED"] and all(per_worker.values()) and len(runs) == 12,
                   "flow_runs": len(runs), "states": states, "runs_per_worker": per_worker,
                   "orders_equal_to_ground_truth": orders,
                   # what a run that did not complete said (its state message names the shop and why)
                   "not_completed": [f"{r['name']}: {r['state_type']} {(r.get('state') or {}).get('message')}"
                                     for r in runs if r["state_type"] != "COMPLETED"]}
        warehouse.dispose()
    except AssertionError as exc:
        summary["error"] = f"warehouse differs from the ground truth: {exc}"
    except Exception as exc:  # noqa: BLE001 - reported in the summary
        summary["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        for proc in reversed(processes):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        with admin.connect() as conn:
            for name in databases.values():
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                             {"n": name})
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
    print(json.dumps(summary))
    return 0 if summary.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
