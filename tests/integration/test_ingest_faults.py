"""The smoke day pulled through a misbehaving marketplace still equals the ground truth.

The sandbox answers 10 % of requests with HTTP 503, 5 % with a throttle (each platform's own
throttling answer, with a 1 s retry-after), 2 % with a body cut in half, and 5 % with rows
repeated. The pull must end ``ok`` for every shop with the warehouse exactly equal to the
ground truth (the duplicated rows removed, nothing lost, no stale version), its retries must
be bounded — exactly one retry per injected 5xx or truncated body, one wait per throttle,
none beyond ``max_retries`` — and the result and the capture log must count them.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from config.schema import load_config
from helpers.ingest_support import HASH_KEY, SHOPS, assert_equals_truth, credential_env, write_config
from sandbox.server import SandboxServer
from tasks.catalogue import store_catalogue
from tasks.ingest import pull_shop
from warehouse import migrate
from warehouse.db import make_engine

FAULTS = dict(server_error=0.10, throttle=0.05, truncated_body=0.02, duplicate_rows=0.05,
              throttle_retry_after_seconds=1, seed=11)
MAX_RETRIES = 6  # per call; 10 % + 2 % transient failures make 6 in a row ≈ 3e-6


@pytest.fixture
def server(world):
    with SandboxServer(world) as running:  # fresh per test: its fault stats are the test's
        running.set_clock(world.end)
        yield running


def test_fault_mix_pull_equals_ground_truth_with_bounded_counted_retries(world, server, database_url, tmp_path,
                                                                         monkeypatch):
    config = load_config(write_config(
        tmp_path / "config", server.url,
        # fast backoff for 5xx; throttle waits follow the sandbox's Retry-After (1 s)
        connector_options={"backoff_base_s": 0.02, "backoff_cap_s": 0.1, "max_retries": MAX_RETRIES}))
    for name, value in {**credential_env(world.credentials), "SHOPOPS_PII_HASH_KEY": HASH_KEY}.items():
        monkeypatch.setenv(name, value)
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    store_catalogue(engine, world.catalogue)
    server.faults.configure(**FAULTS)

    results = {shop: pull_shop(config, shop, database_url=database_url, clock=lambda: world.end,
                               since=world.scenario.start - timedelta(hours=1)) for shop in SHOPS}
    stats = server.state.stats_json()
    server.faults.clear()

    assert {r.status for r in results.values()} == {"ok"}, {s: r.error for s, r in results.items() if r.error}
    assert sum(r.quarantined for r in results.values()) == 0
    orders = assert_equals_truth(engine, world, world.end)
    assert sum(r.orders_new for r in results.values()) == orders  # duplicated rows were not counted twice

    injected = {kind: sum(s.get(f"fault:{kind}", 0) for s in stats.values())
                for kind in ("server_error", "throttle", "truncated_body", "duplicate_rows")}
    assert all(injected.values()), f"the fault mix did not exercise every fault: {injected}"
    retries = sum(r.retries for r in results.values())
    waits = sum(r.throttle_waits for r in results.values())
    # bounded: each injected transient failure cost exactly one retry, each throttle one wait
    assert retries == injected["server_error"] + injected["truncated_body"] > 0
    assert waits == injected["throttle"] > 0
    assert sum(r.throttle_wait_s for r in results.values()) == pytest.approx(waits * 1.0)
    requests = sum(s.get("requests", 0) for s in stats.values())
    assert retries + waits < requests

    with engine.connect() as conn:
        logged = conn.execute(sa.text("select sum(retries), sum(throttle_waits), count(*) from capture_log "
                                      "where status = 'ok'")).one()
    assert (int(logged[0]), int(logged[1]), int(logged[2])) == (retries, waits, len(SHOPS))
    engine.dispose()
