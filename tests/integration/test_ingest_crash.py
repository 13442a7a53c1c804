"""A pull killed with SIGKILL anywhere, then rerun, leaves the warehouse exactly right.

The marketplace is a sandbox in a process of its own (``python -m sandbox --scenario smoke``);
the pull runs in another process (``tests/helpers/crash_runner.py``: ``pull_shop`` per shop, as
``shopops ingest`` does; forked by its fork server after the imports), which the test seam
``SHOPOPS_TEST_CRASH_AT=<point>:<n>`` of ``tasks/ingest.py`` kills with SIGKILL the n-th time
it passes ``<point>``: after taking the run guard, after receiving a page, after validating a
chunk, inside the chunk's transaction after archiving raw pages / quarantining / upserting /
moving the watermark (before COMMIT), right after COMMIT, before the capture-log row and before
releasing the run guard. Small chunks and pages of 20 orders put several commits and watermark
moves in each shop (JD: 3 pages, one 1-month window; PDD: ≈50 30-minute windows, a watermark
move per commit).

After the kill, an ordinary incremental rerun (no ``--since``: from the watermark the killed
run left, or the first-pull window) by a *new* run must:
- find the killed run's lease still there, be refused while it is live (the guard works), and
  take it over once it expires — ``run_lease_minutes`` is 0.01 (0.6 s) here, so the rerun
  waits at most that long; in production it is 30 min, the lease a crashed flow run leaves
  behind (a rerun of the *same* flow run renews its own lease at once);
- leave exactly the ground truth: every order, none twice, each at its current version
  (ids, totals, line counts, statuses, modified times compared).

All 12 points run on SQLite (≈80 s on the shared 2-core host), 6 of them on PostgreSQL.
"""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from config.schema import load_config
from helpers.ingest_support import HASH_KEY, assert_equals_truth, credential_env, write_config
from tasks.catalogue import store_catalogue
from tasks.ingest import CRASH_ENV, pull_shop
from warehouse import migrate, repository
from warehouse.db import make_engine

ROOT = Path(__file__).resolve().parents[2]
SHOPS = ["jd-pop", "pdd-main"]  # one 1-month window read in 3 pages; 30-minute windows: many watermark moves
LEASE_MINUTES = 0.01
KILLED_OWNER = "killed-run"

#: (point, n): where the n-th pass kills the pull. The counter runs over the shops in order.
CRASH_POINTS = [
    ("lease", 1),        # guard taken, nothing read
    ("fetch", 1),        # first page in memory, nothing written
    ("fetch", 9),        # mid-scan, earlier chunks committed
    ("validate", 2),     # chunk validated, transaction not begun
    ("archive", 1),      # raw pages inserted, uncommitted
    ("quarantine", 3),   # inside the transaction
    ("upsert", 1),       # orders upserted, watermark not yet moved, uncommitted
    ("watermark", 1),    # watermark moved, COMMIT not reached
    ("watermark", 3),
    ("committed", 3),    # chunk committed, counts not yet taken
    ("capture_log", 2),  # second shop's data all in, its log row not written
    ("release", 1),      # first shop done, guard not given back
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def scenario_name() -> str:
    """The sandbox's scenario (a name or a YAML path); test_proof_crash.py serves a bigger one."""
    return "smoke"


@pytest.fixture(scope="module")
def sandbox_process(scenario_name, tmp_path_factory):
    """``python -m sandbox --scenario <scenario_name>`` in its own process: (base url, credentials)."""
    data_dir = tmp_path_factory.mktemp("sandbox")
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--scenario", scenario_name, "--port", str(port),
                                "--data-dir", str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/_sandbox/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not start: {process.stdout.read().decode(errors='replace')}")
            time.sleep(0.2)
        credentials = json.loads((data_dir / "credentials.json").read_text(encoding="utf-8"))
        yield url, credentials
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def crash_config(sandbox_process, tmp_path_factory):
    url, _ = sandbox_process
    target = write_config(tmp_path_factory.mktemp("crash") / "config", url,
                          connector_options={"page_size": 20}, chunk_orders=20,
                          run_lease_minutes=LEASE_MINUTES, first_pull_hours=26)
    return target


def _lease(engine, shop_id: str):
    with engine.connect() as conn:
        return conn.execute(sa.text("select lease_owner, lease_expires_at from ingest_watermarks "
                                    "where shop_id = :s"), {"s": shop_id}).first()


def _aware(value) -> datetime:
    value = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


#: PostgreSQL runs the points where its transaction semantics matter most (CI time: every
#: point costs ≈7 s there, the whole list ≈90 s on top of SQLite's)
PG_POINTS = [("fetch", 9), ("archive", 1), ("upsert", 1), ("watermark", 3), ("committed", 3), ("release", 1)]
CASES = ([pytest.param(p, n, "sqlite", id=f"sqlite-{p}-{n}") for p, n in CRASH_POINTS]
         + [pytest.param(p, n, "postgresql", id=f"postgresql-{p}-{n}", marks=pytest.mark.postgres)
            for p, n in PG_POINTS])


@pytest.mark.parametrize("point,nth,database_url", CASES, indirect=["database_url"])
def test_kill_9_then_rerun_leaves_exactly_the_ground_truth(point, nth, world, sandbox_process, crash_config,
                                                           database_url, crash_runner, monkeypatch):
    _, credentials = sandbox_process
    env = {**credential_env(credentials), "SHOPOPS_PII_HASH_KEY": HASH_KEY}
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    store_catalogue(engine, world.catalogue)
    clock_at = world.end  # the sandbox's clock is frozen there

    killed = crash_runner.start([crash_config, database_url, clock_at.isoformat(), KILLED_OWNER, *SHOPS],
                                env={**env, CRASH_ENV: f"{point}:{nth}"})
    assert killed.wait(timeout=120) == -signal.SIGKILL, (
        f"the pull was not killed at {point}:{nth} (exit {killed.returncode}): {killed.stderr_text()[-2000:]}")

    # the killed run's guard is still there (held by its run and its process, which is gone) …
    held = [shop for shop in SHOPS if (row := _lease(engine, shop)) is not None and row[0]
            and row[0].split("|")[0] == KILLED_OWNER]
    assert len(held) == 1, f"exactly the shop being pulled keeps the dead run's lease: {held}"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = load_config(crash_config)
    rerun_owner = f"rerun-{point}-{nth}"
    expires = _aware(_lease(engine, held[0])[1])
    # while the dead run's lease is live, another run is refused (asked "as of" just before expiry,
    # so the answer does not depend on how fast this machine is); a refusal changes nothing
    ttl = timedelta(minutes=LEASE_MINUTES)
    assert not repository.acquire_lease(engine, held[0], rerun_owner, ttl, now=expires - timedelta(milliseconds=1))
    dead_holder = _lease(engine, held[0])[0]
    assert dead_holder.split("|")[0] == KILLED_OWNER
    # … and a rerun takes it over at once (issue 19 #2: the killed process is gone): the dead
    # run's guard is made to last another hour (as a production lease of 30 minutes would), so
    # only the detection of the dead holder can let the rerun in — whatever this machine's speed
    from warehouse.models import IngestWatermark

    guards = IngestWatermark.__table__
    with engine.begin() as conn:   # through the model's column type: stored as the warehouse stores times
        conn.execute(guards.update().where(guards.c.shop_id == held[0])
                     .values(lease_expires_at=datetime.now(timezone.utc) + timedelta(hours=1)))
    assert not repository.acquire_lease(engine, held[0], rerun_owner, ttl)     # the guard itself still holds

    results = {shop: pull_shop(config, shop, database_url=database_url, owner=rerun_owner, clock=lambda: clock_at)
               for shop in SHOPS}
    assert {r.status for r in results.values()} == {"ok"}, {s: r.error for s, r in results.items()}
    assert sum(r.quarantined for r in results.values()) == 0
    assert_equals_truth(engine, world, clock_at, SHOPS)
    assert all(_lease(engine, shop)[0] is None for shop in SHOPS), "the rerun released every guard"
    engine.dispose()
