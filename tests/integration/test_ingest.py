"""The ingestion path end to end, without mocks: the sandbox marketplace over real HTTP, the
real connectors, normalisation, GX validation, and a real warehouse (SQLite and PostgreSQL).

The warehouse must equal the generator's ground truth; reruns change nothing; a later tick
picks up late refunds; an overlapping run does nothing; quarantined orders are released by a
recheck once their cause is fixed.
"""
from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from config.schema import load_config
from config.settings import CONFIG_DIR
from sandbox import generate
from sandbox.server import SandboxServer
from tasks.catalogue import store_catalogue
from tasks.ingest import pull_shop
from tasks.quarantine import recheck_quarantine
from warehouse import migrate, repository
from warehouse.db import make_engine

HASH_KEY = "ingest-test-hash-key"
SHOPS = ["tmall-flagship", "taobao-cstore", "jd-pop", "pdd-main", "douyin-main", "shopify-global", "amazon-us"]


@pytest.fixture(scope="module")
def world():
    return generate("smoke")


@pytest.fixture(scope="module")
def server(world):
    with SandboxServer(world) as running:
        yield running


@pytest.fixture
def config(world, server, tmp_path, monkeypatch):
    """config/ copied, with every shop pointed at the test's sandbox and its credentials in env."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shops = yaml.safe_load((target / "shops.yaml").read_text(encoding="utf-8"))
    for shop in shops["shops"]:
        suffix = f"/{shop['id']}" if shop["platform"] == "shopify" else ""
        shop["base_url"] = f"{server.url}/{shop['platform']}{suffix}"
        # the sandbox has no quota: don't spend test time in the client-side throttle
        shop["connector_options"] = {"throttle_rate_per_s": 500.0, "throttle_burst": 500, "items_rate_per_s": 500.0}
    (target / "shops.yaml").write_text(yaml.safe_dump(shops, allow_unicode=True), encoding="utf-8")
    for shop_id, secret in world.credentials.items():
        monkeypatch.setenv("SHOPOPS_CRED_" + shop_id.upper().replace("-", "_"), (
            '{"app_key": "%s", "app_secret": "%s", "access_token": "%s"}'
            % (secret.app_key, secret.app_secret, secret.access_token)))
    monkeypatch.setenv("SHOPOPS_PII_HASH_KEY", HASH_KEY)
    return load_config(target)


@pytest.fixture
def warehouse(database_url, world):
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    store_catalogue(engine, world.catalogue)
    yield database_url, engine
    engine.dispose()


def pull_all(config, world, database_url, clock_at, since=None):
    return {shop: pull_shop(config, shop, database_url=database_url, since=since, clock=lambda: clock_at)
            for shop in SHOPS}


def stored_orders(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text("select o.shop_id, o.order_id, o.status, o.total_minor, o.modified_at, "
                                   "(select count(*) from order_lines l where l.platform = o.platform and "
                                   "l.shop_id = o.shop_id and l.order_id = o.order_id) as lines "
                                   "from orders o"), conn)


def ground_truth(world, clock_at, lag=timedelta(minutes=1)) -> pd.DataFrame:
    """What the marketplace shows at ``clock_at`` for windows ending at ``clock_at − lag``:
    each order's current version, if that version was modified by the window's end (an
    order changed in the last minute is left for the next tick, as a real pull would)."""
    frames = [world.ground_truth(shop, clock_at).orders.assign(shop_id=shop) for shop in SHOPS]
    truth = pd.concat(frames, ignore_index=True)
    truth = truth[truth["modified_at"] <= clock_at - lag]
    return truth[["shop_id", "order_id", "status", "total_minor", "line_count"]]


def assert_equals_truth(engine, world, clock_at):
    stored = stored_orders(engine).set_index(["shop_id", "order_id"]).sort_index()
    truth = ground_truth(world, clock_at).set_index(["shop_id", "order_id"]).sort_index()
    assert list(stored.index) == list(truth.index), "same orders, no more, no fewer"
    assert (stored["total_minor"].astype(int) == truth["total_minor"].astype(int)).all()
    assert (stored["lines"].astype(int) == truth["line_count"].astype(int)).all()
    status = stored[["status"]].join(truth["status"].astype(str), rsuffix="_truth")
    mismatched = status[status["status"] != status["status_truth"]]
    assert mismatched.empty, mismatched.to_string()


def test_first_pull_equals_ground_truth_and_a_rerun_changes_nothing(config, world, server, warehouse):
    url, engine = warehouse
    end = world.end
    server.set_clock(end)
    results = pull_all(config, world, url, clock_at=end, since=world.scenario.start - timedelta(hours=1))

    assert {r.status for r in results.values()} == {"ok"}, {s: r.error for s, r in results.items() if r.error}
    assert sum(r.quarantined for r in results.values()) == 0
    assert_equals_truth(engine, world, end)
    assert sum(r.orders_new for r in results.values()) == len(ground_truth(world, end))
    counts = repository.table_counts(engine)
    assert counts["raw_pages"] >= sum(r.pages for r in results.values())
    assert counts["capture_log"] >= len(SHOPS)
    lag = timedelta(minutes=config.rules.orders.safety_lag_minutes)
    assert repository.get_watermark(engine, "jd-pop") == end - lag

    again = pull_all(config, world, url, clock_at=end, since=world.scenario.start - timedelta(hours=1))
    assert sum(r.orders_new + r.orders_updated for r in again.values()) == 0
    assert sum(r.orders_unchanged for r in again.values()) == len(ground_truth(world, end))
    assert_equals_truth(engine, world, end)


def test_a_later_tick_picks_up_late_refunds_and_shipments(config, world, server, warehouse):
    url, engine = warehouse
    end = world.end
    server.set_clock(end)
    pull_all(config, world, url, clock_at=end, since=world.scenario.start - timedelta(hours=1))
    # refunds settle up to ≈3 days after the order; Amazon's sandbox (like Amazon) refuses a
    # LastUpdatedBefore later than its wall clock − 2 min, so stay in the real past
    later = end + timedelta(days=2, hours=12)
    server.set_clock(later)
    try:
        results = pull_all(config, world, url, clock_at=later)  # incremental: from the watermark
    finally:
        server.set_clock(end)
    assert {r.status for r in results.values()} == {"ok"}, {s: r.error for s, r in results.items() if r.error}
    assert sum(r.orders_updated for r in results.values()) > 0
    assert sum(r.late_updates for r in results.values()) > 0
    assert_equals_truth(engine, world, later)


def test_an_overlapping_run_leaves_the_shop_alone(config, world, server, warehouse):
    url, engine = warehouse
    assert repository.acquire_lease(engine, "jd-pop", "scheduled-run", timedelta(minutes=30))
    result = pull_shop(config, "jd-pop", database_url=url, clock=lambda: world.end,
                       since=world.scenario.start)
    assert result.status == "skipped" and "another run" in result.error
    assert stored_orders(engine).empty
    assert repository.get_watermark(engine, "jd-pop") is None


def test_unknown_sku_is_quarantined_then_released_by_a_recheck(config, world, server, warehouse):
    url, engine = warehouse
    server.set_clock(world.end)
    truth = world.ground_truth("douyin-main", world.end)
    missing_sku = truth.lines["sku"].value_counts().index[0]
    with engine.begin() as conn:
        conn.execute(sa.text("delete from skus where sku = :s"), {"s": missing_sku})
    result = pull_shop(config, "douyin-main", database_url=url, clock=lambda: world.end,
                       since=world.scenario.start - timedelta(hours=1))
    affected = truth.lines.loc[truth.lines["sku"] == missing_sku, "order_id"].nunique()
    assert result.quarantined == affected > 0
    assert result.orders_new == len(truth.orders) - affected  # the rest of the pages still landed
    held = repository.open_quarantine(engine, "douyin-main")
    assert len(held) == affected
    assert all(any(f"SKU '{missing_sku}' is not in the catalogue" in r for r in row["reasons"]) for row in held)

    store_catalogue(engine, world.catalogue[world.catalogue["sku"] == missing_sku])
    outcome = recheck_quarantine(config, url, HASH_KEY, "douyin-main", now=world.end)
    assert (outcome.released, outcome.still_open) == (affected, 0)
    assert len(stored_orders(engine)) == len(truth.orders)
    assert repository.open_quarantine(engine, "douyin-main") == []
