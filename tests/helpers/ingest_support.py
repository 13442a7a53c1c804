"""Shared helpers of the ingestion integration tests (faults, crash, bad orders).

A copied ``config/`` pointed at a sandbox, the shops' credentials as ``SHOPOPS_CRED_*``
variables, and the comparison of the warehouse with the sandbox's ground truth: the same
order ids (no lost order, no duplicate), and per order the same total, line count, status
and modified time (no stale version).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from config.overlay import write_sandbox_config
from connectors import default_settings

HASH_KEY = "ingest-test-hash-key"
SHOPS = ["tmall-flagship", "taobao-cstore", "jd-pop", "pdd-main", "douyin-main", "shopify-global", "amazon-us"]


def write_config(target: Path, base_url: str, *, connector_options: dict | None = None, **order_rules) -> Path:
    """``config/`` copied to ``target``, pointed at the sandbox at ``base_url``, with
    ``rules.yaml: orders`` keys replaced by ``order_rules``."""
    return write_sandbox_config(target, base_url, connector_options=connector_options, order_rules=order_rules)


def credential_env(credentials: dict) -> dict[str, str]:
    """``SHOPOPS_CRED_<SHOP>`` values of a sandbox's credentials (``world.credentials`` or
    the ``credentials.json`` a ``python -m sandbox`` process writes)."""
    env = {}
    for shop_id, secret in credentials.items():
        get = secret.get if isinstance(secret, dict) else lambda k, s=secret: getattr(s, k)
        env["SHOPOPS_CRED_" + shop_id.upper().replace("-", "_")] = (
            '{"app_key": "%s", "app_secret": "%s", "access_token": "%s"}'
            % (get("app_key"), get("app_secret"), get("access_token")))
    return env


def sandbox_warehouse(world, server_url: str, database_url: str, config_dir: Path, monkeypatch, **order_rules):
    """(config, engine) for pulling ``world`` from the sandbox at ``server_url``: ``config/``
    copied to ``config_dir`` and pointed at it, every shop's credentials and the PII hash key in
    the environment (``monkeypatch``), a migrated warehouse at ``database_url`` with the catalogue."""
    from config.schema import load_config
    from tasks.catalogue import store_catalogue
    from warehouse import migrate
    from warehouse.db import make_engine

    config = load_config(write_config(config_dir, server_url, **order_rules))
    for name, value in {**credential_env(world.credentials), "SHOPOPS_PII_HASH_KEY": HASH_KEY}.items():
        monkeypatch.setenv(name, value)
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    store_catalogue(engine, world.catalogue)
    return config, engine


def stored_orders(engine, shops: list[str] | None = None) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text(
            "select o.shop_id, o.order_id, o.status, o.total_minor, o.modified_at, "
            "(select count(*) from order_lines l where l.platform = o.platform and l.shop_id = o.shop_id "
            " and l.order_id = o.order_id) as lines, "
            "(select count(distinct l.line_no) from order_lines l where l.platform = o.platform and "
            " l.shop_id = o.shop_id and l.order_id = o.order_id) as distinct_line_nos "
            "from orders o"), conn)
    return frame[frame["shop_id"].isin(shops)] if shops is not None else frame


def ground_truth(world, clock_at: datetime, shops: list[str] = SHOPS, lag=timedelta(minutes=1),
                 until: datetime | None = None) -> pd.DataFrame:
    """Each order's current version at ``clock_at`` if it was modified by ``clock_at`` minus the
    shop's safety lag — the larger of ``lag`` and its platform's own (PDD 3 min, Amazon 2 min):
    an order changed in those last minutes is left for the next tick, as a real pull does.
    ``until``: the pulls ended at this explicit time instead (a backfill's ``until``)."""
    platform = {spec.id: spec.platform for spec in world.shops}
    frames = []
    for shop in shops:
        orders = world.ground_truth(shop, clock_at).orders
        end = until if until is not None else clock_at - max(lag, default_settings(platform[shop], "").safety_lag)
        frames.append(orders[orders["modified_at"] <= end].assign(shop_id=shop))
    truth = pd.concat(frames, ignore_index=True)
    return truth[["shop_id", "order_id", "status", "total_minor", "line_count", "modified_at"]]


def _utc(series: pd.Series) -> pd.Series:
    """Times from SQLite come back naive (stored as UTC), from PostgreSQL aware."""
    values = pd.to_datetime(series)
    if values.dt.tz is None:
        values = values.dt.tz_localize("UTC")
    return values.dt.tz_convert("UTC").dt.floor("s")


def assert_equals_truth(engine, world, clock_at: datetime, shops: list[str] = SHOPS,
                        until: datetime | None = None) -> int:
    """The warehouse holds exactly the ground truth of ``shops`` (pulled up to ``until``, or to
    each shop's safety lag before ``clock_at``); returns the order count."""
    stored = stored_orders(engine, shops)
    assert not stored.duplicated(["shop_id", "order_id"]).any(), "an order is stored twice"
    assert (stored["lines"] == stored["distinct_line_nos"]).all(), "a line is stored twice"
    stored = stored.set_index(["shop_id", "order_id"]).sort_index()
    truth = ground_truth(world, clock_at, shops, until=until).set_index(["shop_id", "order_id"]).sort_index()
    lost = truth.index.difference(stored.index)
    extra = stored.index.difference(truth.index)
    assert lost.empty and extra.empty, f"lost orders: {list(lost)[:10]}; orders not in the truth: {list(extra)[:10]}"
    both = stored.join(truth, rsuffix="_truth")
    checks = {
        "total": both["total_minor"].astype(int) != both["total_minor_truth"].astype(int),
        "lines": both["lines"].astype(int) != both["line_count"].astype(int),
        "status": both["status"].astype(str) != both["status_truth"].astype(str),
        "modified_at (stale version)": _utc(both["modified_at"]) != _utc(both["modified_at_truth"]),
    }
    for what, wrong in checks.items():
        assert not wrong.any(), f"{what} differs from the ground truth:\n{both[wrong].head(10).to_string()}"
    return len(truth)
