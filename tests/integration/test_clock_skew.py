"""Clock skew between this host and the marketplace: within tolerance the pull goes through,
beyond it every signing platform refuses and the shop fails with an error that says so.

The skew is real, not simulated in the client: the sandbox's wall clock — what it checks a
signed request's timestamp against — is moved through its control API
(``POST /_sandbox/faults {"clock_skew_seconds": s}``), as when a marketplace's clock and
ours disagree; the connectors sign with this host's clock as always. Tolerances: TOP, PDD and
Douyin ±``timestamp_tolerance_minutes`` of the scenario (10 min), JD ±6 min. Shopify (token
header) and Amazon (this sandbox does not check SigV4's date) sign no timestamp: they must
work at any skew. Both directions of skew are tried.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from config.schema import load_config
from connectors.base import CLOCK_SKEW_ADVICE
from helpers.ingest_support import HASH_KEY, SHOPS, assert_equals_truth, credential_env, write_config
from sandbox.server import SandboxServer
from tasks.catalogue import store_catalogue
from tasks.ingest import pull_shop
from warehouse import migrate
from warehouse.db import make_engine

SIGNED = {"tmall-flagship": "TOP error 31", "taobao-cstore": "TOP error 31", "jd-pop": "JD error 8",
          "pdd-main": "PDD error 10017", "douyin-main": "Douyin error 30007"}
UNSIGNED = [shop for shop in SHOPS if shop not in SIGNED]
WITHIN_S = 5 * 60       # inside every platform's tolerance (JD's ±6 min is the narrowest)
BEYOND_S = 11 * 60      # outside every one (TOP/PDD/Douyin ±10 min)


@pytest.fixture
def skewed(world, tmp_path, monkeypatch):
    """(set_skew, config, warehouse url): a fresh sandbox, its skew set over HTTP."""
    with SandboxServer(world) as server:
        server.set_clock(world.end)
        for name, value in {**credential_env(world.credentials), "SHOPOPS_PII_HASH_KEY": HASH_KEY}.items():
            monkeypatch.setenv(name, value)

        def set_skew(seconds: float) -> None:
            reply = requests.post(f"{server.url}/_sandbox/faults", json={"clock_skew_seconds": seconds}, timeout=5)
            assert reply.ok and reply.json()["clock_skew_seconds"] == seconds

        url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        store_catalogue(engine, world.catalogue)
        engine.dispose()
        yield set_skew, load_config(write_config(tmp_path / "config", server.url)), url


def _pull(config, url, world, shops):
    return {shop: pull_shop(config, shop, database_url=url, clock=lambda: world.end,
                            since=world.scenario.start - timedelta(hours=1)) for shop in shops}


@pytest.mark.parametrize("direction", [1, -1], ids=["sandbox-ahead", "sandbox-behind"])
def test_skew_within_tolerance_is_accepted(world, skewed, direction):
    set_skew, config, url = skewed
    set_skew(direction * WITHIN_S)
    results = _pull(config, url, world, SHOPS)
    assert {shop: r.status for shop, r in results.items()} == {shop: "ok" for shop in SHOPS}, \
        {s: r.error for s, r in results.items() if r.error}
    engine = make_engine(url)
    assert assert_equals_truth(engine, world, world.end) > 0
    engine.dispose()


@pytest.mark.parametrize("direction", [1, -1], ids=["sandbox-ahead", "sandbox-behind"])
def test_skew_beyond_tolerance_fails_each_signing_shop_with_a_clear_error(world, skewed, direction):
    set_skew, config, url = skewed
    set_skew(direction * BEYOND_S)
    results = _pull(config, url, world, SHOPS)
    for shop, platform_error in SIGNED.items():
        result = results[shop]
        assert result.status == "failed" and result.pages == 0, (shop, result)
        # names the platform's refusal and says what to do about it
        assert platform_error in result.error, result.error
        assert "clock" in result.error and ("NTP" in result.error or "±6 min" in result.error), result.error
        assert "unexpected" not in result.error  # a known refusal, not a crash with a traceback
    assert CLOCK_SKEW_ADVICE in results["tmall-flagship"].error
    assert {shop: results[shop].status for shop in UNSIGNED} == {shop: "ok" for shop in UNSIGNED}
    engine = make_engine(url)
    assert assert_equals_truth(engine, world, world.end, UNSIGNED) > 0  # the others went on and are exact
    engine.dispose()
