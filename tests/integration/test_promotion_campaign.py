"""The Double 11 campaign end to end on a slice of the sandbox's Double 11 scenario, against a
real Prefect server with the project's deployments (prefect.yaml) and the sandbox marketplace
over real HTTP (listing stock), driven through the CLI as operations staff would.

The slice: the five Chinese shops from 10 October to the end of 11 November 2026 at a few
hundred orders a day, Double 11 at 8×, so that the 30-day price history and the four prior
Wednesdays of the baseline exist. The warehouse holds the sandbox's ground truth for that
period (the order pull itself is tested elsewhere). Planted: the down jacket DJ-BLK-L and the
gift GIFT-SOCKS short of 70 % of the expected demand by the preparation date (a purchase order
due after it does not count); DJ-BLK-M ready.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import requests
import sqlalchemy as sa
import yaml

from config.overlay import write_sandbox_config
from config.schema import load_config
from sandbox import generate, wire
from sandbox.scenario import load_scenario
from sandbox.server import SandboxServer
from shopops.demo import wait_until_answering
from tasks.catalogue import store_catalogue
from tasks.stock import load_stock_inputs, reconcile_stock_inputs
from tests.helpers.ingest_support import credential_env
from warehouse import migrate, repository
from warehouse.db import make_engine
from warehouse.models import Listing, PurchaseOrder, PurchaseOrderLine

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CAMPAIGN = "double11-2026"
CN_SHOPS = ("tmall-flagship", "taobao-cstore", "jd-pop", "pdd-main", "douyin-main")
WAREHOUSE = "HZ01"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def double11_slice(folder: Path) -> Path:
    spec = yaml.safe_load((PROJECT / "config" / "scenarios" / "double11.yaml").read_text(encoding="utf-8"))
    spec.pop("end")
    spec.update(name="double11-slice", start="2026-10-10T00:00:00+08:00", days=33, orders_per_day=300, buyers=5000,
                surges=[{"start": "2026-11-11T00:00:00+08:00", "end": "2026-11-12T00:00:00+08:00", "multiplier": 8.0}],
                shops=[s for s in spec["shops"] if s["id"] in CN_SHOPS])
    path = folder / "double11-slice.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def plant_stock(engine, world) -> None:
    """Opening stock on 1 October and two purchase orders of DJ-BLK-L (one due after the prep date)."""
    at = pd.Timestamp("2026-10-01T00:00:00+08:00")
    repository.post_ledger(engine, pd.DataFrame(
        [(sku, WAREHOUSE, at, "opening", qty, "opening") for sku, qty in
         (("DJ-BLK-L", 300), ("DJ-BLK-M", 4000), ("GIFT-SOCKS", 100))], columns=list(repository.LEDGER_COLUMNS)))
    with engine.begin() as conn:
        for po_no, qty, due in (("PO-EARLY", 200, "2026-10-15T10:00:00+08:00"), ("PO-LATE", 500, "2026-10-25T10:00:00+08:00")):
            conn.execute(sa.insert(PurchaseOrder).values(po_no=po_no, supplier="hz-apparel", warehouse=WAREHOUSE,
                                                         status="open", ordered_at=pd.Timestamp("2026-10-01T00:00:00Z"),
                                                         expected_at=pd.Timestamp(due).to_pydatetime()))
            conn.execute(sa.insert(PurchaseOrderLine).values(po_no=po_no, sku="DJ-BLK-L", qty_ordered=qty, qty_received=0))


def plant_listings(engine, world, server) -> None:
    """The promoted SKUs listed in Tmall and JD, the marketplaces showing exactly the push plan
    (a clean reconciliation, as after a stocktake and a push)."""
    catalogue = world.catalogue.set_index("sku")
    rows = []
    for shop, platform, share in (("tmall-flagship", "taobao", 0.4), ("jd-pop", "jd", 0.3)):
        for sku in ("DJ-BLK-L", "DJ-BLK-M"):
            rows.append({"shop_id": shop, "sku": sku, "allocation_share": share, "buffer": 0,
                         "marketplace_item_id": str(wire.item_id(platform, int(catalogue.at[sku, "item_no"]))),
                         "marketplace_sku_id": str(wire.sku_id(platform, int(catalogue.at[sku, "sku_no"])))})
    repository.upsert_listings(engine, pd.DataFrame(rows))
    plan = reconcile_stock_inputs(load_stock_inputs(str(engine.url.render_as_string(hide_password=False))), None,
                                  tolerance=0, undersell_tolerance=2).plan
    for row in plan.itertuples():
        server.state.stock[(row.shop_id, row.sku)] = int(row.planned_qty)


@pytest.fixture(scope="module")
def campaign_env(tmp_path_factory):
    folder = tmp_path_factory.mktemp("promotion")
    world = generate(load_scenario(double11_slice(folder)))
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SHOPOPS_"))}
    env.update(PREFECT_HOME=str(folder / "prefect"), PREFECT_API_URL=api, PREFECT_SERVER_ANALYTICS_ENABLED="false",
               SHOPOPS_DATA_DIR=str(folder / "data"), SHOPOPS_LOCALE="en", SHOPOPS_PII_HASH_KEY="promotion-test",
               **credential_env(world.credentials))
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        with SandboxServer(world) as sandbox:
            env["SHOPOPS_CONFIG_DIR"] = str(write_sandbox_config(folder / "config", sandbox.url))
            url = f"sqlite:///{folder / 'data' / 'warehouse.sqlite'}"
            (folder / "data").mkdir(exist_ok=True)
            migrate.upgrade(url)
            engine = make_engine(url)
            store_catalogue(engine, world.catalogue)
            repository.sync_shops(engine, load_config(Path(env["SHOPOPS_CONFIG_DIR"])).shops)
            for shop in world.shops:
                repository.upsert_orders(engine, world.ground_truth(shop.id))
            plant_stock(engine, world)
            plant_listings(engine, world, sandbox)

            wait_until_answering(f"{api}/health", server, "the Prefect server")
            for command in (["work-pool", "create", "shopops-local", "--type", "process"],
                            ["--no-prompt", "deploy", "--all"]):
                done = subprocess.run([str(BIN / "prefect"), *command], cwd=PROJECT, env=env, capture_output=True,
                                      text=True, timeout=300)
                assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
            yield env, engine, api, folder
            engine.dispose()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def promo(env, *args: str) -> subprocess.CompletedProcess:
    """`shopops promo …`, for real (--live) unless the call asks for the dry run (the default)."""
    live = [] if "--dry-run" in args else ["--live"]
    return subprocess.run([str(BIN / "shopops"), "promo", *args, *live], cwd=PROJECT, env=env, capture_output=True,
                          text=True, timeout=300)


def schedules(api: str, deployment: str) -> list[dict]:
    found = requests.get(f"{api}/deployments/name/{deployment}", timeout=10)
    found.raise_for_status()
    return requests.get(f"{api}/deployments/{found.json()['id']}/schedules", timeout=10).json()


def comparable(listed: list[dict]) -> list[tuple]:
    return sorted((s["slug"] or "", s["active"], json.dumps(s["parameters"], sort_keys=True),
                   json.dumps(s["schedule"], sort_keys=True)) for s in listed)


def artifact(api: str, key: str) -> list[dict]:
    return requests.post(f"{api}/artifacts/filter", json={"artifacts": {"key": {"any_": [key]}}}, timeout=10).json()


def state_of(engine) -> tuple[str, dict]:
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT status, state FROM promotions WHERE name = :n"), {"n": CAMPAIGN}).first()
    return row[0], json.loads(row[1]) if isinstance(row[1], str) else row[1]


def test_double11_prepare_start_report_close(campaign_env):
    env, engine, api, folder = campaign_env
    watched = ("pull-orders/pull-orders", "pull-orders/pull-orders-campaign", "promotion-campaign/promotion-campaign")
    before = {name: schedules(api, name) for name in watched}

    # the custom-run form (issue 23 #8): the registered schema offers the campaigns, dry_run on
    found = requests.get(f"{api}/deployments/name/promotion-campaign/promotion-campaign", timeout=10).json()
    form = found["parameter_openapi_schema"]["properties"]
    assert form["name"]["enum"] == ["double11-2026", "double12-2026"] and form["dry_run"]["default"] is True
    assert found["enforce_parameter_schema"]   # the server refuses a name outside the list
    refused = requests.post(f"{api}/deployments/{found['id']}/create_flow_run", timeout=10,
                            json={"parameters": {"phase": "prepare", "name": "double11-2062"}})
    assert refused.status_code == 409 and "double11-2062" in refused.text, refused.text

    early = promo(env, "start", CAMPAIGN)
    assert early.returncode == 1 and "never prepared: run `prepare` first" in early.stderr, early.stderr[-2000:]

    # prepare: clean prices and reconciliation, the planted shortfalls found and sent to restock
    dry = promo(env, "prepare", CAMPAIGN, "--dry-run")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "SKUs short 2" in dry.stdout and "restock alerts 0" in dry.stdout
    assert repository.read_alerts(engine).empty and state_of_or_none(engine) is None
    prepared = promo(env, "prepare", CAMPAIGN)
    assert prepared.returncode == 0, prepared.stderr[-3000:]
    assert "price errors 0" in prepared.stdout and "reconciliation clean yes" in prepared.stdout, prepared.stdout
    status, state = state_of(engine)
    assert status == "prepared" and state["prepare"]["ready_to_start"]
    # the slice's paid, not yet shipped orders already owe 791 DJ-BLK-L, 309 GIFT-SOCKS and 12 DJ-BLK-M (since
    # issue 18's PDD and Douyin presales: three more orders of the kit wait for their balance, unshipped)
    owed = repository.open_order_lines(engine, ("paid", "presale_deposit_paid")).groupby("sku")["quantity"].sum()
    assert owed[["DJ-BLK-L", "GIFT-SOCKS", "DJ-BLK-M"]].tolist() == [791, 309, 12]
    # DJ-BLK-L: 70 % of 1200 = 840 needed; available 300 − 791 = −491, + 200 due 15 Oct (the 500 due 25 Oct are
    #   late) = −291 ready → 840 + 291 = 1131 short;
    # GIFT-SOCKS: one per DJ-BLK-L → 840 needed, 100 − 309 = −209 available → 1049 short;
    # DJ-BLK-M: 630 needed, 4000 − 12 available
    assert state["prepare"]["shortfall_units"] == 1131 + 1049
    alerts = repository.read_alerts(engine).set_index("sku")
    assert sorted(alerts.index) == ["DJ-BLK-L", "GIFT-SOCKS"]
    assert alerts.loc["DJ-BLK-L", "details"]["shortfall_units"] == 1131
    assert alerts.loc["DJ-BLK-L", "details"]["suggested_qty"] == 1140       # 114 whole cases of 10, MOQ 50
    assert alerts.loc["GIFT-SOCKS", "details"]["suggested_qty"] == 1060     # 53 cases of 20, MOQ 100
    assert artifact(api, f"promotion-{CAMPAIGN}-prepare")
    again = promo(env, "prepare", CAMPAIGN)
    assert again.returncode == 0 and state_of(engine)[0] == "prepared"
    assert len(repository.read_alerts(engine)) == 4 and repository.read_alerts(engine)["suppressed"].sum() == 2

    # start: campaign mode visible in the deployments' schedules
    for run in (promo(env, "start", CAMPAIGN), promo(env, "start", CAMPAIGN)):
        assert run.returncode == 0, run.stderr[-3000:]
    pulls = [s for s in schedules(api, "pull-orders/pull-orders-campaign") if s["slug"] == f"campaign-{CAMPAIGN}"]
    assert len(pulls) == 1 and pulls[0]["active"]
    assert pulls[0]["parameters"] == {"shops": list(CN_SHOPS)}
    assert "FREQ=MINUTELY;INTERVAL=1;UNTIL=20261112T000000" in pulls[0]["schedule"]["rrule"]
    assert "DTSTART:20261111T000000" in pulls[0]["schedule"]["rrule"]
    assert pulls[0]["schedule"]["timezone"] == "Asia/Shanghai"
    reports = [s for s in schedules(api, "promotion-campaign/promotion-campaign") if s["slug"] == f"campaign-{CAMPAIGN}"]
    assert len(reports) == 1 and "INTERVAL=15" in reports[0]["schedule"]["rrule"]
    assert reports[0]["parameters"] == {"phase": "report", "name": CAMPAIGN, "dry_run": False}
    assert comparable(schedules(api, "pull-orders/pull-orders")) == comparable(before["pull-orders/pull-orders"])
    with engine.connect() as conn:
        buffers = conn.execute(sa.select(Listing.buffer)).scalars().all()
    assert buffers and set(buffers) == {2}
    status, state = state_of(engine)
    assert status == "running" and state["campaign_buffer_units"] == 2

    wrong = promo(env, "prepare", CAMPAIGN)
    assert wrong.returncode == 1 and "prepare comes before start" in wrong.stderr

    # report: the live figures as an artifact with a stable key
    live = promo(env, "report", CAMPAIGN)
    assert live.returncode == 0, live.stderr[-3000:]
    orders = int(live.stdout.split("orders ")[1].split()[0])
    assert orders > 100, live.stdout
    assert artifact(api, f"promotion-{CAMPAIGN}-live") and artifact(api, f"promotion-{CAMPAIGN}-live-skus")

    # close: normal cadence exactly as before, buffers back, after-action artifact and .xlsx
    for run in (promo(env, "close", CAMPAIGN), promo(env, "close", CAMPAIGN)):
        assert run.returncode == 0, run.stderr[-3000:]
        assert "schedules restored yes" in run.stdout, run.stdout
    for name in watched:
        assert comparable(schedules(api, name)) == comparable(before[name]), name
    with engine.connect() as conn:
        assert set(conn.execute(sa.select(Listing.buffer)).scalars().all()) == {0}
    status, state = state_of(engine)
    assert status == "closed" and state["after_action"]["orders"] == orders
    assert state["after_action"]["uplift"]["orders"] > 3          # Double 11 at 8× the normal day
    assert artifact(api, f"promotion-{CAMPAIGN}-after-action")
    sheets = list((folder / "data" / "reports" / f"promotion-{CAMPAIGN}-after-action").glob("*.xlsx"))
    assert sheets and set(pd.read_excel(sheets[0], sheet_name=None)) == {"comparison", "periods"}


def state_of_or_none(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT status FROM promotions WHERE name = :n"), {"n": CAMPAIGN}).first()
