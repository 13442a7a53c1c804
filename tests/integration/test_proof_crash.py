"""kill -9 at random moments of a big pull, rerun each time: the warehouse ends exactly right.

tests/integration/test_ingest_crash.py kills the pull at each *named* point of the seam;
this test kills it from outside, where the dice say: a seeded random row offset in each
slice of the pull (kill once the warehouse holds that many orders) plus a random delay
(0–300 ms after the offset is reached), so the SIGKILL lands wherever the pull happens to be — mid-HTTP
read, mid-normalise, mid-INSERT, mid-COMMIT — not at a point we chose.

The kill is reached by construction, not by timing: the pull itself (tests/helpers/crash_runner.py)
writes a file when the warehouse holds the offset's orders, goes on pulling, and holds still
before its last shop's capture-log row until it is killed. So however busy the machine, the
SIGKILL always lands mid-pull — somewhere in the work after the offset, or at that last
point when the pull got there within the delay — and never after a pull that ended by itself.
It is a real forked process and a real SIGKILL. After each kill:

- what the warehouse holds is consistent: every stored order is the ground truth's current
  version with all its lines, none twice (a crash never leaves half an order or a stale one);
- the next run is an ordinary incremental pull by a new owner (from the watermark the
  killed run left, after its lease expires), which is killed in turn at the next offset.

After the last kill, one more run completes, and the warehouse equals the ground truth.
Full size (``SHOPOPS_PROOF_SCALE=full``, ``make proof``): a 200,000-order day (normal_day's
shape, scaled) over 7 shops, 20 kills, SQLite and PostgreSQL. CI: the smoke world (≈300
orders) in pages and chunks of 20, 4 kills. The seed is printed (``SHOPOPS_PROOF_SEED``
replays a failing sequence: the same offsets and delays; how far the pull gets within a delay
varies with the machine, so the exact landing points do too).
"""
from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest
import yaml

from helpers.crash_runner import KILL_AFTER_ENV, KILL_READY_ENV
from helpers.ingest_support import HASH_KEY, SHOPS, assert_equals_truth, credential_env, ground_truth, \
    stored_orders, write_config
from sandbox import generate
from sandbox.scenario import Scenario, load_scenario
from tasks.catalogue import store_catalogue
from test_ingest_crash import LEASE_MINUTES, sandbox_process  # noqa: F401 - fixture reused
from warehouse import migrate
from warehouse.db import make_engine

FULL = os.environ.get("SHOPOPS_PROOF_SCALE", "ci") == "full"
KILLS = 20 if FULL else 4
SEED = int(os.environ.get("SHOPOPS_PROOF_SEED") or random.SystemRandom().randrange(10**6))
pytestmark = pytest.mark.slow


def _scenario() -> Scenario:
    if not FULL:
        return load_scenario("smoke")
    base = load_scenario("normal_day").model_dump()
    return Scenario.model_validate({**base, "name": "proof_200k", "orders_per_day": 200_000})


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "proof.yaml"
    path.write_text(yaml.safe_dump(_scenario().model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scenario_name(scenario_file) -> str:
    return str(scenario_file)  # what sandbox_process passes to ``python -m sandbox --scenario``


@pytest.fixture(scope="module")
def world(scenario_file):
    return generate(load_scenario(str(scenario_file)))


@pytest.fixture(scope="module")
def proof_config(sandbox_process, tmp_path_factory):
    url, _ = sandbox_process
    options = {} if FULL else {"page_size": 20}
    rules = {} if FULL else {"chunk_orders": 20}
    return write_config(tmp_path_factory.mktemp("proof") / "config", url, connector_options=options,
                        run_lease_minutes=LEASE_MINUTES, first_pull_hours=26, **rules)


def _assert_consistent(engine, truth) -> int:
    """Every stored order is its ground-truth version with all its lines, none twice."""
    stored = stored_orders(engine, SHOPS)
    assert not stored.duplicated(["shop_id", "order_id"]).any(), "an order is stored twice"
    assert (stored["lines"] == stored["distinct_line_nos"]).all(), "a line is stored twice"
    both = stored.merge(truth, on=["shop_id", "order_id"], how="left", suffixes=("", "_truth"), indicator=True)
    assert (both["_merge"] == "both").all(), f"orders not in the truth: {both[both['_merge'] != 'both'].head()}"
    wrong = ((both["total_minor"].astype(int) != both["total_minor_truth"].astype(int))
             | (both["lines"].astype(int) != both["line_count"].astype(int))
             | (both["status"].astype(str) != both["status_truth"].astype(str)))
    assert not wrong.any(), f"half-written or stale orders after the kill:\n{both[wrong].head(10).to_string()}"
    return len(stored)


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_kill_9_at_random_moments_then_rerun_leaves_exactly_the_ground_truth(world, sandbox_process, proof_config,
                                                                            database_url, crash_runner, tmp_path):
    _, credentials = sandbox_process
    env = {**credential_env(credentials), "SHOPOPS_PII_HASH_KEY": HASH_KEY}
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    store_catalogue(engine, world.catalogue)
    clock_at = world.end  # the sandbox's clock is frozen there
    truth = ground_truth(world, clock_at)
    rng = random.Random(SEED)
    # one random offset in each of KILLS equal slices of the pull (the last 5 % left out, so a
    # kill always lands before the end): every rerun makes progress before it is killed
    stride = len(truth) * 0.95 / KILLS
    offsets = [int((number + rng.random()) * stride) + 1 for number in range(KILLS)]
    delays = [rng.uniform(0, 0.3) for _ in offsets]
    print(f"\nseed {SEED}: {len(truth):,} orders; kill after offsets {offsets} (+ delays in s "
          f"{[round(d, 3) for d in delays]})")

    def pull(owner: str, extra_env: dict[str, str] | None = None):
        """A pull in a process of its own (forked after the imports: tests/helpers/crash_runner.py)."""
        return crash_runner.start([proof_config, database_url, clock_at.isoformat(), owner, *SHOPS],
                                  env={**env, **(extra_env or {})})

    landed = []
    for number, (offset, delay) in enumerate(zip(offsets, delays), start=1):
        ready = tmp_path / f"kill-{number}.ready"
        run = pull(f"killed-{number}", {KILL_AFTER_ENV: str(offset), KILL_READY_ENV: str(ready)})
        while run.poll() is None and not ready.exists():   # the pull says when it holds `offset` orders
            time.sleep(0.02)
        assert ready.exists(), (f"run {number} ended (exit {run.returncode}) before the warehouse held {offset:,} "
                                f"orders: {run.stderr_text()[-3000:]}")
        time.sleep(delay)   # where the kill lands; the pull cannot end before it (it holds at its end)
        run.send_signal(signal.SIGKILL)
        code = run.wait(timeout=60)
        assert code == -signal.SIGKILL, f"run {number} was not ended by the kill (exit {code}): {run.stderr_text()}"
        at_end = ready.with_name(ready.name + ".held").exists()
        held = _assert_consistent(engine, truth)
        landed.append(held)
        print(f"kill {number}: {offset:,} orders reached ({ready.read_text(encoding='utf-8')}) + {delay:.3f} s → "
              f"{'held before its last capture-log row' if at_end else 'mid-pull'}; {held:,} orders held, "
              "consistent", flush=True)
        time.sleep(LEASE_MINUTES * 60 + 0.1)  # the dead run's lease expires; the next run takes over

    final = pull("final")
    assert final.wait(timeout=3600) == 0, final.stderr_text()[-3000:]
    assert len(landed) == KILLS
    assert assert_equals_truth(engine, world, clock_at) == len(truth)
    engine.dispose()
