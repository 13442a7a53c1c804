"""A day pulled through a misbehaving marketplace still equals the ground truth.

The sandbox answers 10 % of requests with HTTP 503, 5 % with a throttle (each platform's own
throttling answer — TOP's "ban will last N more seconds", JD/PDD/Douyin error codes, HTTP 429
with ``Retry-After`` for Shopify and Amazon — with a 1 s wait), 2 % with a body cut in half,
3 % only after 1 s (longer than the client's 0.5 s timeout: it gives up and retries) and
5 % with rows repeated; and once, mid-run, the marketplace restarts: its server closes every
connection, refuses new ones for half a second and comes back with fresh state (caches,
statistics, fault streams), on the same port.

The pull must end ``ok`` for every shop with the warehouse exactly equal to the ground truth
(the duplicated rows removed, nothing lost, no stale version); its retries must be bounded —
one retry per injected 5xx, truncated body or slow answer, one wait per throttle, and for
the restart at least one and at most ``max_retries`` more (one request is in flight) — and
the run's result and capture log must count exactly that. CI: the smoke world (≈300
orders); ``SHOPOPS_PROOF_SCALE=full``: normal_day (≈10k orders, ≈50 throttle waits of 1 s).
"""
from __future__ import annotations

import os
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from config.schema import load_config
from helpers.ingest_support import HASH_KEY, SHOPS, assert_equals_truth, credential_env, stored_orders, write_config
from sandbox import generate
from sandbox.server import SandboxServer
from tasks.catalogue import store_catalogue
from tasks.ingest import pull_shop
from warehouse import migrate
from warehouse.db import make_engine

FULL = os.environ.get("SHOPOPS_PROOF_SCALE", "ci") == "full"
FAULTS = dict(server_error=0.10, throttle=0.05, truncated_body=0.02, slow=0.03, duplicate_rows=0.05,
              slow_seconds=1.0, throttle_retry_after_seconds=1, seed=11)
TIMEOUT_S = 0.5  # below slow_seconds: every slow answer is a timeout and a retry
MAX_RETRIES = 6  # per call; 15 % transient failures make 6 in a row ≈ 1e-5
DOWNTIME_S = 0.5
COUNTED = ("server_error", "throttle", "truncated_body", "slow", "duplicate_rows")


@pytest.fixture(scope="module")
def world():
    return generate("normal_day" if FULL else "smoke")


class RestartingSandbox:
    """A sandbox that restarts once, after ``after_requests`` API requests, on the same port."""

    def __init__(self, world, after_requests: int):
        self.world, self.after_requests = world, after_requests
        self.server = self._start(port=0)
        self.port = self.server.port
        self.stats_before_restart: dict = {}
        self.restarted = threading.Event()
        self._watcher = threading.Thread(target=self._restart_when_due, daemon=True)
        self._watcher.start()

    def _start(self, port: int) -> SandboxServer:
        server = SandboxServer(self.world, port=port).start()
        server.set_clock(self.world.end)
        server.faults.configure(**FAULTS)
        return server

    def _restart_when_due(self) -> None:
        while sum(s.get("requests", 0) for s in self.server.state.stats_json().values()) < self.after_requests:
            time.sleep(0.005)
        self.stats_before_restart = self.server.state.stats_json()
        self.server.stop()
        time.sleep(DOWNTIME_S)
        self.server = self._start(self.port)
        self.restarted.set()

    def stats(self) -> Counter:
        """Every counter of both lives of the sandbox, summed over platforms."""
        total = Counter()
        for stats in (self.stats_before_restart, self.server.state.stats_json()):
            for platform_stats in stats.values():
                total.update(platform_stats)
        return total

    def stop(self) -> None:
        self._watcher.join(timeout=60)
        self.server.stop()


def test_fault_mix_and_a_restart_pull_equals_ground_truth_with_bounded_counted_retries(world, database_url,
                                                                                      tmp_path, monkeypatch):
    # the restart comes about a third into the day's requests
    sandbox = RestartingSandbox(world, after_requests=400 if FULL else 25)
    try:
        config = load_config(write_config(
            tmp_path / "config", f"http://127.0.0.1:{sandbox.port}",
            # fast backoff for 5xx (but outlasting the restart: ≥ 0.9 s over 6 retries);
            # throttle waits follow the sandbox's Retry-After (1 s)
            connector_options={"backoff_base_s": 0.05, "backoff_cap_s": 0.5, "max_retries": MAX_RETRIES,
                               "timeout_s": TIMEOUT_S}))
        for name, value in {**credential_env(world.credentials), "SHOPOPS_PII_HASH_KEY": HASH_KEY}.items():
            monkeypatch.setenv(name, value)
        migrate.upgrade(database_url)
        engine = make_engine(database_url)
        store_catalogue(engine, world.catalogue)

        results = {shop: pull_shop(config, shop, database_url=database_url, clock=lambda: world.end,
                                   since=world.scenario.start - timedelta(hours=1)) for shop in SHOPS}
        assert sandbox.restarted.is_set(), "the sandbox was not restarted during the pull"
        stats = sandbox.stats()
    finally:
        sandbox.stop()

    assert {r.status for r in results.values()} == {"ok"}, {s: r.error for s, r in results.items() if r.error}
    assert sum(r.quarantined for r in results.values()) == 0
    orders = assert_equals_truth(engine, world, world.end)
    assert sum(r.orders_new for r in results.values()) == orders  # duplicated rows were not counted twice

    injected = {kind: stats[f"fault:{kind}"] for kind in COUNTED}
    assert all(injected.values()), f"the fault mix did not exercise every fault: {injected}"
    retries = sum(r.retries for r in results.values())
    waits = sum(r.throttle_waits for r in results.values())
    # bounded: each injected transient failure cost exactly one retry, each throttle one wait;
    # the restart cost at least one retry (a refused or dropped connection) and at most max_retries
    by_faults = injected["server_error"] + injected["truncated_body"] + injected["slow"]
    assert 1 <= retries - by_faults <= MAX_RETRIES, f"{retries} retries for {injected} and one restart"
    assert waits == injected["throttle"] > 0
    assert sum(r.throttle_wait_s for r in results.values()) == pytest.approx(waits * 1.0)
    assert retries + waits < stats["requests"]

    with engine.connect() as conn:
        logged = conn.execute(sa.text("select sum(retries), sum(throttle_waits), count(*) from capture_log "
                                      "where status = 'ok'")).one()
    assert (int(logged[0]), int(logged[1]), int(logged[2])) == (retries, waits, len(SHOPS))
    engine.dispose()


# --- hostile answers through the whole pull (issue 19: 4, 5, 6, 8) ------------------------------

HOSTILE = [  # (shop, forced answer, connector options of the pull)
    ("shopify-global", "empty_body", {}),
    ("taobao-cstore", "empty_object", {}),
    ("jd-pop", "lying_total", {"page_size": 2}),
    ("douyin-main", "inflated_total", {}),
    ("amazon-us", "repeat_cursor", {"page_size": 2}),
    ("pdd-main", "oversized_body", {"max_body_bytes": 256 * 1024}),
    ("tmall-flagship", "cross_host_redirect", {}),
    ("taobao-cstore", "html_body", {"max_retries": 1}),
    ("douyin-main", "slow_drip", {"call_deadline_s": 2.0, "max_retries": 1}),   # the drip lasts 30 s
]


@pytest.mark.parametrize("shop_id, kind, options", HOSTILE, ids=[f"{s}-{k}" for s, k, _ in HOSTILE])
def test_a_hostile_answer_fails_the_shop_and_leaves_the_watermark_before_unread_data(
        world, database_url, tmp_path, monkeypatch, shop_id, kind, options):
    """A first pull to the middle of the day; the second meets the hostile answer: it fails
    naming the platform, stores nothing more and leaves the watermark where it was; once the
    marketplace behaves, a rerun brings the warehouse to the ground truth (nothing was skipped)."""
    from helpers.recorder import Recorder
    from warehouse import repository

    middle = world.scenario.start + (world.end - world.scenario.start) / 2
    recorder = Recorder()
    with SandboxServer(world) as server:
        config = load_config(write_config(tmp_path / "config", server.url,
                                          connector_options={"backoff_base_s": 0.01, **options}))
        for name, value in {**credential_env(world.credentials), "SHOPOPS_PII_HASH_KEY": HASH_KEY}.items():
            monkeypatch.setenv(name, value)
        migrate.upgrade(database_url)
        engine = make_engine(database_url)
        store_catalogue(engine, world.catalogue)
        first = pull_shop(config, shop_id, database_url=database_url, clock=lambda: middle,
                          since=world.scenario.start - timedelta(hours=1))
        assert first.status == "ok", first.error
        watermark, stored = repository.get_watermark(engine, shop_id), len(stored_orders(engine, [shop_id]))

        platform = world.shop(shop_id).platform
        server.faults.configure(redirect_url=recorder.url, oversized_body_bytes=1024 * 1024)
        server.faults.force(kind, platform, count=100_000)
        hostile = pull_shop(config, shop_id, database_url=database_url, clock=lambda: world.end)
        assert hostile.status == "failed" and f"[{platform} {shop_id}]" in hostile.error, hostile
        assert repository.get_watermark(engine, shop_id) == watermark
        assert len(stored_orders(engine, [shop_id])) == stored
        assert recorder.seen == []

        server.faults.clear()
        again = pull_shop(config, shop_id, database_url=database_url, clock=lambda: world.end)
    recorder.close()
    assert again.status == "ok", again.error
    assert_equals_truth(engine, world, world.end, shops=[shop_id])
    engine.dispose()
