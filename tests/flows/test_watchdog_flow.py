"""The watchdog flow (issue 19 #19) on a real SQLite warehouse and the test Prefect server:
each kind of staleness planted once is found once, and what is fresh is not."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import sqlalchemy as sa
from prefect.client.orchestration import get_client
from prefect.states import Cancelled, Running

from config.schema import load_config
from flows.watchdog import watchdog
from warehouse import migrate, repository
from warehouse.db import make_engine
from warehouse.models import Settlement, ShippingBatch


def _month(at: datetime, by: int) -> str:
    index = at.year * 12 + at.month - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def test_the_watchdog_finds_each_kind_of_staleness_once(warehouse_env):
    url = warehouse_env.warehouse_url
    migrate.upgrade(url)
    engine = make_engine(url)
    config = load_config()
    # judged 3 h after the wall clock: the run started below has then been Running for 3 h
    now = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=3)
    enabled = [s.id for s in config.shops if s.enabled]
    try:
        repository.sync_shops(engine, config.shops)
        with engine.begin() as conn:
            for shop_id in enabled:
                # jd-pop last pulled 2 h ago (limit 3 × 10 min); the others 5 minutes ago
                repository.set_watermark(conn, shop_id, now - (timedelta(hours=2) if shop_id == "jd-pop"
                                                               else timedelta(minutes=5)))
            for batch_id, age in (("HZ01-SF-single-old", 30), ("HZ01-SF-single-new", 1)):
                conn.execute(sa.insert(ShippingBatch).values(
                    batch_id=batch_id, warehouse="HZ01", carrier="SF", kind="single", status="created",
                    order_count=1, unit_count=1, created_at=now - timedelta(hours=age)))
            # November's statement waits past its deadline; next month's is far from its own
            for month in (_month(now, -2), _month(now, 1)):
                conn.execute(sa.insert(Settlement).values(month=month, preset="seed_commission", version=1,
                                                          inputs_sha256="x" * 64, status="awaiting_approval"))
        repository.record_stock_pushes(engine, pd.DataFrame([
            {"shop_id": "pdd-main", "marketplace_item_id": "1", "marketplace_sku_id": "1", "sku": "DJ-BLK-L",
             "before_qty": 5, "planned_qty": 3, "after_qty": None, "outcome": "failed", "reply": {"error": "refused"}},
            {"shop_id": "jd-pop", "marketplace_item_id": "2", "marketplace_sku_id": "2", "sku": "DJ-BLK-L",
             "before_qty": 5, "planned_qty": 3, "after_qty": 3, "outcome": "confirmed", "reply": {}},
        ]), flow_run_id="t", now=now - timedelta(minutes=30))
    finally:
        engine.dispose()

    with get_client(sync_client=True) as client:
        run = client.create_flow_run(flow=watchdog, name="lost-its-process", state=Running())
    try:
        counts = watchdog(now=now)
    finally:
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(run.id, Cancelled(), force=True)
    assert counts == {"shop_stale": 1, "batch_past_cutoff": 1, "push_failing": 1, "approval_due": 1, "run_stuck": 1}
    report = sorted((warehouse_env.report_folder / "watchdog").glob("*.xlsx"))[-1]
    found = pd.read_excel(report, sheet_name="findings")
    subjects = set(found.iloc[:, 1].astype(str))
    assert {"jd-pop", "HZ01-SF-single-old", "pdd-main", f"{_month(now, -2)} seed_commission v1",
            "watchdog/lost-its-process"} <= subjects
    assert "HZ01-SF-single-new" not in subjects and f"{_month(now, 1)} seed_commission v1" not in subjects
