"""The ingestion path end to end, without mocks: the sandbox marketplace over real HTTP, the
real connectors, normalisation, GX validation, and a real warehouse (SQLite and PostgreSQL).

The warehouse must equal the generator's ground truth; reruns change nothing; a later tick
picks up late refunds; an overlapping run does nothing; quarantined orders are released by a
recheck once their cause is fixed.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from config.schema import load_config
from sandbox.platforms import common as sandbox_common
from tasks.catalogue import store_catalogue
from tasks.ingest import pull_shop
from tasks.quarantine import recheck_quarantine
from warehouse import migrate, repository
from warehouse.db import make_engine
from tests.helpers.ingest_support import (HASH_KEY, SHOPS, assert_equals_truth, credential_env, ground_truth,
                                          stored_orders, write_config)



@pytest.fixture
def config(world, server, tmp_path, monkeypatch):
    """config/ copied, with every shop pointed at the test's sandbox and its credentials in env."""
    for name, value in credential_env(world.credentials).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SHOPOPS_PII_HASH_KEY", HASH_KEY)
    return load_config(write_config(tmp_path / "config", server.url))


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


def test_a_backfill_starting_after_the_watermark_leaves_it_where_it_was(config, world, server, warehouse):
    """issue 19 #7: pulled up to the morning, then a backfill of the evening only: the watermark
    must stay at the morning, so the next pull still reads the afternoon (the sandbox case:
    29 of 41 JD orders never pulled)."""
    url, engine = warehouse
    lag = timedelta(minutes=config.rules.orders.safety_lag_minutes)
    morning = world.scenario.start + timedelta(hours=8)
    server.set_clock(morning)
    try:
        first = pull_shop(config, "jd-pop", database_url=url, clock=lambda: morning,
                          since=world.scenario.start - timedelta(hours=1))
    finally:
        server.set_clock(world.end)
    assert first.status == "ok" and first.orders_new > 0, first.error
    assert repository.get_watermark(engine, "jd-pop") == morning - lag

    evening = world.end - timedelta(hours=4)
    backfill = pull_shop(config, "jd-pop", database_url=url, clock=lambda: world.end, since=evening,
                         until=world.end - lag)
    assert backfill.status == "ok" and backfill.orders_new > 0, backfill.error
    assert repository.get_watermark(engine, "jd-pop") == morning - lag  # the afternoon was not read

    tick = pull_shop(config, "jd-pop", database_url=url, clock=lambda: world.end)  # incremental
    assert tick.status == "ok", tick.error
    assert_equals_truth(engine, world, world.end, ["jd-pop"])
    assert repository.get_watermark(engine, "jd-pop") == world.end - lag


def test_re_reading_still_invalid_orders_keeps_one_row_per_version_until_a_valid_version_closes_it(
        config, world, server, warehouse):
    """issue 19 #10: every re-read of a still-invalid order added a quarantine row (118 rows for
    59 orders); now one row per order version, refreshed by each re-read, and closed once a
    valid version of the order is stored."""
    url, engine = warehouse
    truth = world.ground_truth("douyin-main", world.end)
    missing_sku = truth.lines["sku"].value_counts().index[0]
    with engine.begin() as conn:
        conn.execute(sa.text("delete from skus where sku = :s"), {"s": missing_sku})
    since = world.scenario.start - timedelta(hours=1)
    for clock in (world.end - timedelta(hours=3), world.end, world.end):  # the last two read the same versions
        server.set_clock(clock)
        try:
            result = pull_shop(config, "douyin-main", database_url=url, clock=lambda c=clock: c, since=since)
        finally:
            server.set_clock(world.end)
        assert result.status == "ok" and result.quarantined > 0, result.error

    with engine.connect() as conn:
        rows = conn.execute(sa.text("select order_id, record_modified_at, first_seen_at, last_checked_at "
                                    "from quarantine where status = 'open'")).all()
    versions = {(r.order_id, r.record_modified_at) for r in rows}
    assert len(rows) == len(versions), f"{len(rows)} open rows for {len(versions)} order versions"
    affected = set(truth.lines.loc[truth.lines["sku"] == missing_sku, "order_id"])
    assert {r.order_id for r in rows} == affected
    newest = {}
    for r in rows:
        newest[r.order_id] = max(newest.get(r.order_id, r), r, key=lambda x: x.record_modified_at)
    assert all(r.last_checked_at > r.first_seen_at for r in newest.values())  # re-read, refreshed

    store_catalogue(engine, world.catalogue[world.catalogue["sku"] == missing_sku])  # the cause is fixed
    result = pull_shop(config, "douyin-main", database_url=url, clock=lambda: world.end, since=since)
    assert result.status == "ok" and result.quarantined == 0 and result.orders_new == len(affected)
    assert repository.open_quarantine(engine, "douyin-main") == []
    with engine.connect() as conn:
        assert set(conn.scalars(sa.text("select distinct status from quarantine"))) == {"superseded"}
    assert_equals_truth(engine, world, world.end, ["douyin-main"])


class _OneUndecodableOrder:
    """Wraps the sandbox's page assembly (``common.json_array``), constructed so that the first
    JD order it serves carries one byte that is not UTF-8 (0xFF) inside its ``pin`` field, as a
    marketplace answer with one corrupt record would: the rest of the page stays good."""

    def __init__(self, real):
        self.real, self.corrupted, self.order = real, None, None

    def __call__(self, parts: list[bytes]):
        parts = list(parts)
        for n, part in enumerate(parts):
            found = re.search(rb'"orderId":"?(\d+)', part)
            if found and b'"pin":"' in part and self.order in (None, found.group(1)):
                self.order = found.group(1)  # the same order, every time it is served
                parts[n] = self.corrupted = part.replace(b'"pin":"', b'"pin":"\xff', 1)
        return self.real(parts)


def test_an_undecodable_byte_quarantines_its_order_and_keeps_the_rest_of_the_page(config, world, server, warehouse,
                                                                                  monkeypatch):
    """issue 19 #8: one byte that is not UTF-8 in one order's field made the whole page
    unreadable (retried, then the shop failed and its good orders were dropped). Now that
    order is quarantined with a reason naming the field, the rest land (constructed case)."""
    url, engine = warehouse
    server.set_clock(world.end)
    construction = _OneUndecodableOrder(sandbox_common.json_array)
    monkeypatch.setattr(sandbox_common, "json_array", construction)
    result = pull_shop(config, "jd-pop", database_url=url, clock=lambda: world.end,
                       since=world.scenario.start - timedelta(hours=1))
    assert construction.corrupted is not None, "the construction did not reach a JD order"
    bad_id = construction.order.decode()
    assert result.status == "ok", result.error
    assert result.quarantined == 1
    held = repository.open_quarantine(engine, "jd-pop")
    assert [row["order_id"] for row in held] == [bad_id]
    assert any("pin" in reason and "UTF-8" in reason for reason in held[0]["reasons"]), held[0]["reasons"]
    truth = world.ground_truth("jd-pop", world.end)
    assert set(stored_orders(engine)["order_id"]) == set(truth.orders["order_id"]) - {bad_id}
    # the bytes are gone: a recheck cannot make the order readable, it stays for a person
    outcome = recheck_quarantine(config, url, HASH_KEY, "jd-pop", now=world.end)
    assert (outcome.released, outcome.still_open) == (0, 1)


def test_a_run_guard_whose_process_is_gone_is_taken_over_at_once(config, world, server, warehouse):
    """Issue 19 #2: after kill -9 the crashed run's lease would keep the shop skipped for up to
    30 minutes. A holder whose process has exited (or whose flow run the server says ended) is
    replaced at once; a live holder still makes the run leave the shop alone, and says who."""
    import subprocess
    import sys

    from tasks.ingest import lease_holder_id

    url, engine = warehouse
    server.set_clock(world.end)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)                     # that process has exited: its pid names no live process
    dead_holder = lease_holder_id("killed-run")[: -len(str(__import__("os").getpid()))] + str(dead_pid)
    assert repository.acquire_lease(engine, "jd-pop", dead_holder, timedelta(minutes=30))
    result = pull_shop(config, "jd-pop", database_url=url, clock=lambda: world.end, since=world.scenario.start)
    assert result.status == "ok", result.error
    assert not stored_orders(engine).empty
    assert repository.read_lease(engine, "jd-pop") == (None, None)      # released after the pull

    # a holder alive in this very process (another run of ours): skipped, and the holder named
    live_holder = lease_holder_id("scheduled-run")
    assert repository.acquire_lease(engine, "jd-pop", live_holder, timedelta(minutes=30))
    again = pull_shop(config, "jd-pop", database_url=url, clock=lambda: world.end, since=world.scenario.start)
    assert again.status == "skipped"
    assert "scheduled-run" in again.error and "left it alone" in again.error
    assert re.search(r"lasts until \d{4}-\d{2}-\d{2} \d{2}:\d{2}\)", again.error), again.error  # the shop's clock
