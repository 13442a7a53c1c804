"""``bench/bench_ingest.py --baseline-tree``: this code against a baseline commit's from the same
run, per step and per shop, with the client's CPU time next to the wall time (issue 18, 'Done
when': the ingestion benchmarks rerun, not slower than before by more than noise)."""
from __future__ import annotations

from bench.bench_ingest import PEER_SHOP, STEPS, versus_baseline


def _pull(seconds: float, cpu: float, per_shop: dict[str, tuple[float, float]]) -> dict:
    return {"seconds": seconds, "cpu_s": cpu, "orders": 30, "rss_mb": 300.0,
            "per_shop": {shop: {"seconds": s, "cpu_s": c, "orders": 10} for shop, (s, c) in per_shop.items()}}


def test_each_step_and_each_shop_against_the_baseline_measured_in_the_same_run():
    ours = {STEPS[0]: [_pull(9.0, 6.0, {"jd-pop": (3.0, 1.0), PEER_SHOP: (2.0, 0.5)}),
                       _pull(11.0, 6.4, {"jd-pop": (3.4, 1.2), PEER_SHOP: (2.2, 0.7)})],
            STEPS[3]: [{"seconds": 2.6, "cpu_s": 2.4, "orders": 486, "rss_mb": 300.0}]}
    theirs = {STEPS[0]: [_pull(10.0, 5.0, {"jd-pop": (3.0, 1.0), PEER_SHOP: (2.0, 0.4)}),
                         _pull(10.0, 5.0, {"jd-pop": (3.0, 1.0), PEER_SHOP: (2.0, 0.4)})],
              STEPS[3]: [{"seconds": 2.5, "cpu_s": 2.4, "orders": 486, "rss_mb": 300.0}]}
    text = "\n".join(versus_baseline(ours, {"samples": theirs, "commit": "0b7bafa before issue 18"}))
    assert "commit `0b7bafa before issue 18`" in text
    assert f"| {STEPS[0]} | 10.00 (9.00–11.00) | 10.00 (10.00–10.00) | 1.00× | 6.20 (6.00–6.40) | 5.00 (5.00–5.00) | 1.24× |" in text
    assert "| jd-pop | 10 | 3.20 | 3.00 | 1.10 | 1.00 | 1.10× |" in text
    assert f"| {PEER_SHOP} | 10 | 2.10 | 2.00 | 0.60 | 0.40 | 1.50× |" in text
    assert f"| {PEER_SHOP} alone | 486 | 2.60 | 2.50 | 2.40 | 2.40 | 1.00× |" in text


def test_a_step_the_baseline_did_not_run_is_left_out():
    ours = {STEPS[0]: [_pull(9.0, 6.0, {"jd-pop": (3.0, 1.0)})], STEPS[2]: [{"seconds": 4.0, "cpu_s": 1.0}]}
    theirs = {STEPS[0]: [_pull(9.0, 6.0, {"jd-pop": (3.0, 1.0)})]}
    text = "\n".join(versus_baseline(ours, {"samples": theirs, "commit": "abc"}))
    assert f"| {STEPS[2]} |" not in text and f"| {STEPS[0]} |" in text
