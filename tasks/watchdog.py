"""The watchdog's inputs from the warehouse and the Prefect server, and its findings as a
report and events (``domain.watchdog`` has the rules)."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from config.schema import AppConfig
from domain.watchdog import Finding, WatchdogRules, find
from warehouse import repository
from warehouse import shipping as store
from warehouse.db import make_engine
from warehouse.models import Settlement


def watchdog_rules(config: AppConfig) -> WatchdogRules:
    block = config.rules.watchdog
    return WatchdogRules(pull_cadence_minutes=block.pull_cadence_minutes, stale_pull_cadences=block.stale_pull_cadences,
                         batch_cutoff_hours=block.batch_cutoff_hours,
                         push_failure_window_hours=block.push_failure_window_hours,
                         approval_warning_days=block.approval_warning_days, run_stuck_minutes=block.run_stuck_minutes,
                         confirmation_day=config.rules.settlement.confirmation_day,
                         timezone=config.rules.orders.default_timezone)


def running_runs(except_id: str | None = None) -> pd.DataFrame:
    """Flow runs the Prefect server holds as Running (name, flow_name, state, start_time),
    without ``except_id`` (the watchdog's own run)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.RUNNING]))), limit=200)
        flows = {f.id: f.name for f in client.read_flows(limit=200)}
    return pd.DataFrame([{"name": r.name, "flow_name": flows.get(r.flow_id, "?"), "state": r.state_type.value,
                          "start_time": pd.Timestamp(r.start_time) if r.start_time else pd.NaT}
                         for r in runs if str(r.id) != str(except_id)],
                        columns=["name", "flow_name", "state", "start_time"])


@task(name="watchdog-findings", cache_policy=NO_CACHE)
def watchdog_findings(config: AppConfig, database_url: str, now: datetime, own_run_id: str | None) -> list[Finding]:
    engine = make_engine(database_url)
    try:
        shops = pd.DataFrame([{"shop_id": s.id, "pulled_until": repository.get_watermark(engine, s.id)}
                              for s in config.shops if s.enabled], columns=["shop_id", "pulled_until"])
        shops["pulled_until"] = pd.to_datetime(shops["pulled_until"], utc=True)
        batches = store.read_batches(engine, store.LIVE_BATCH_STATUSES)
        pushes = repository.read_stock_pushes(engine)
        with engine.connect() as conn:
            table = Settlement.__table__
            settlements = pd.read_sql(sa.select(table.c.month, table.c.preset, table.c.version, table.c.status), conn)
    finally:
        engine.dispose()
    return find(now, watchdog_rules(config), shops=shops, batches=batches, pushes=pushes, settlements=settlements,
                runs=running_runs(except_id=own_run_id))
