"""Access tokens renewed where the platform allows (issue 18, "Tokens"), against the sandbox.

TOP ``taobao.top.auth.token.refresh``, PDD ``pdd.pop.auth.token.refresh``, Douyin ``token.refresh``
and JD's ``/oauth2/refresh_token`` renew an access token from the shop's refresh token; Amazon's
connector gets its hourly access token from LWA (``/auth/o2/token``). The sandbox serves each
endpoint, refuses a wrong refresh token with the platform's error body, and lets a test end a
shop's token (``/_sandbox/tokens``: in simulated time, so nothing here waits on a clock).

- a shop whose access token expired in the sandbox: the pull refreshes once, stores the new
  token, refresh token and ``expires_at`` back where the credentials came from, and completes;
- a token that ends within ``orders.token_refresh_before_hours``: renewed before the first call;
- a wrong refresh token: the pull fails with the catalogue's message naming the shop and what to
  do, and no watermark moves;
- Amazon: the access token comes from LWA and is renewed once the sandbox has ended it.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import requests

from config.schema import load_config
from connectors import TokenRefreshError
from helpers.ingest_support import HASH_KEY, stored_orders, write_config
from helpers.sandbox_connector import sandbox_connector
from sandbox import generate
from sandbox.server import SandboxServer
from tasks.catalogue import store_catalogue
from tasks.ingest import pull_shop
from tasks.secrets import _env_name
from warehouse import migrate, repository
from warehouse.db import make_engine

REFRESHING = ["tmall-flagship", "pdd-main", "jd-pop", "douyin-main"]


@pytest.fixture(scope="module")
def world():
    return generate("smoke")


def _credentials(world, shop_id: str, **changes) -> dict:
    secret = world.credentials[shop_id]
    data = {"app_key": secret.app_key, "app_secret": secret.app_secret, "access_token": secret.access_token,
            "refresh_token": secret.refresh_token, **changes}
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def pull(world, database_url, tmp_path, monkeypatch):
    """A sandbox per test, a warehouse, and ``pull(shop)`` of the whole smoke day; ``pull.creds``
    sets a shop's credentials (``SHOPOPS_CRED_*``), ``pull.stored`` reads them back."""
    with SandboxServer(world) as server:
        config = load_config(write_config(tmp_path / "config", server.url, connector_options={"page_size": 50}))
        monkeypatch.setenv("SHOPOPS_PII_HASH_KEY", HASH_KEY)
        migrate.upgrade(database_url)
        engine = make_engine(database_url)
        store_catalogue(engine, world.catalogue)

        def run(shop_id: str):
            return pull_shop(config, shop_id, database_url=database_url, clock=lambda: world.end,
                             since=world.scenario.start - timedelta(hours=1))

        def creds(shop_id: str, **changes) -> None:
            monkeypatch.setenv(_env_name(shop_id), json.dumps(_credentials(world, shop_id, **changes)))

        run.server, run.engine, run.creds = server, engine, creds
        run.stored = lambda shop_id: json.loads(os.environ[_env_name(shop_id)])
        run.control = lambda path, body=None: (requests.post(f"{server.url}/_sandbox/{path}", json=body, timeout=10)
                                               if body is not None else requests.get(f"{server.url}/_sandbox/{path}",
                                                                                      timeout=10)).json()
        yield run
        engine.dispose()


def _refreshes(pull, platform: str) -> int:
    return pull.control("stats").get(platform, {}).get("token_refreshes", 0)


@pytest.mark.parametrize("shop_id", REFRESHING)
def test_a_token_the_platform_refuses_as_expired_is_refreshed_once_stored_and_the_pull_completes(world, pull,
                                                                                                  shop_id):
    platform = world.shop(shop_id).platform
    pull.creds(shop_id)                                   # no expires_at: nothing says it will end
    pull.control("tokens", {"shop_id": shop_id, "expire": True})
    result = pull(shop_id)
    assert result.status == "ok", result.error
    assert _refreshes(pull, platform) == 1
    stored = pull.stored(shop_id)
    old = world.credentials[shop_id]
    assert stored["access_token"] != old.access_token and stored["refresh_token"] != old.refresh_token
    ends = datetime.fromisoformat(stored["expires_at"])
    assert timedelta(days=29) < ends - datetime.now(timezone.utc) <= timedelta(days=30)   # the sandbox's 30 days
    assert len(stored_orders(pull.engine, [shop_id])) > 0
    assert repository.get_watermark(pull.engine, shop_id) is not None
    # the next run starts from the stored credentials, and they work without another refresh
    again = pull(shop_id)
    assert again.status == "ok", again.error
    assert _refreshes(pull, platform) == 1


def test_a_token_ending_within_the_configured_hours_is_renewed_before_the_first_call(world, pull):
    soon = datetime.now(timezone.utc) + timedelta(hours=2)   # within orders.token_refresh_before_hours (24)
    pull.creds("pdd-main", expires_at=soon.isoformat())
    result = pull("pdd-main")
    assert result.status == "ok", result.error
    assert _refreshes(pull, "pdd") == 1
    assert datetime.fromisoformat(pull.stored("pdd-main")["expires_at"]) > soon + timedelta(hours=20)
    far = datetime.now(timezone.utc) + timedelta(days=10)   # not within: used as it is
    pull.creds("tmall-flagship", expires_at=far.isoformat())
    assert pull("tmall-flagship").status == "ok"
    assert _refreshes(pull, "taobao") == 0


@pytest.mark.parametrize("shop_id", ["tmall-flagship", "pdd-main"])
def test_a_wrong_refresh_token_fails_the_pull_with_what_to_do_and_moves_no_watermark(world, pull, english,
                                                                                     shop_id):
    pull.creds(shop_id, refresh_token="wrong-refresh-token-1234")
    pull.control("tokens", {"shop_id": shop_id, "expire": True})
    result = pull(shop_id)
    assert result.status == "failed"
    assert f"{shop_id} ({world.shop(shop_id).platform}): the access token could not be renewed" in result.error
    assert "Authorise the app again" in result.error and "refresh_token" in result.error
    assert "wrong-refresh-token-1234" not in result.error
    assert repository.get_watermark(pull.engine, shop_id) is None
    assert len(stored_orders(pull.engine, [shop_id])) == 0
    assert _refreshes(pull, world.shop(shop_id).platform) == 0


def test_amazon_gets_its_access_token_from_lwa_and_renews_it_once_the_sandbox_ended_it(world, pull):
    pull.creds("amazon-us", access_token=None)   # the LWA client id/secret and refresh token only
    pull.control("tokens", {"platform": "amazon", "lifetime_s": 120})   # short-lived: a parameter, no sleeping
    first = pull("amazon-us")
    assert first.status == "ok", first.error
    assert _refreshes(pull, "amazon") == 1
    stored = pull.stored("amazon-us")
    assert stored["access_token"].startswith("amazon-sandbox-")
    assert datetime.fromisoformat(stored["expires_at"]) - datetime.now(timezone.utc) <= timedelta(seconds=120)
    # the same connector, once the sandbox's clock passed the token's end: refused, renewed, read
    connector = sandbox_connector(world, pull.server, "amazon-us",
                                  lwa_token_url=f"{pull.server.url}/amazon/auth/o2/token")
    connector.credentials = replace(connector.credentials, access_token="",
                                    refresh_token=world.credentials["amazon-us"].refresh_token)
    window = (world.end - timedelta(hours=3), world.end - timedelta(hours=1))
    assert sum(len(p.records) for p in connector.pull_orders(*window)) > 0
    assert _refreshes(pull, "amazon") == 2             # its own first token
    pull.control("clock", {"advance_seconds": 121})
    assert pull.control("tokens")["amazon-us"]["lwa_tokens"]
    assert sum(len(p.records) for p in connector.pull_orders(*window)) > 0
    assert _refreshes(pull, "amazon") == 3             # refused as expired once, renewed, read
    # and renewed before it ends by the connector's own reckoning (no refusal needed)
    connector.token_clock = lambda: datetime.now(timezone.utc) + timedelta(seconds=100)
    assert sum(len(p.records) for p in connector.pull_orders(*window)) > 0
    assert _refreshes(pull, "amazon") == 4


def test_a_refused_lwa_refresh_token_is_a_token_refresh_error(world, pull):
    connector = sandbox_connector(world, pull.server, "amazon-us",
                                  lwa_token_url=f"{pull.server.url}/amazon/auth/o2/token")
    connector.credentials = replace(connector.credentials, access_token="", refresh_token="Atzr|wrong")
    with pytest.raises(TokenRefreshError, match="invalid_grant"):
        list(connector.pull_orders(world.end - timedelta(hours=2), world.end - timedelta(hours=1)))


@pytest.mark.parametrize("platform, call", [
    ("taobao", lambda url, c: requests.post(f"{url}/taobao/router/rest", timeout=10, data=_top_refresh(c))),
    ("pdd", lambda url, c: requests.post(f"{url}/pdd/api/router", timeout=10, data=_pdd_refresh(c))),
    ("jd", lambda url, c: requests.get(f"{url}/jd/oauth2/refresh_token", timeout=10, params={
        "app_key": c.app_key, "app_secret": c.app_secret, "grant_type": "refresh_token", "refresh_token": "wrong"})),
    ("amazon", lambda url, c: requests.post(f"{url}/amazon/auth/o2/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": "wrong", "client_id": c.app_key,
        "client_secret": c.app_secret})),
])
def test_the_sandbox_refuses_a_wrong_refresh_token_in_the_platforms_error_body(world, pull, platform, call):
    shop = next(s for s in world.shops if s.platform == platform)
    reply = call(pull.server.url, world.credentials[shop.id])
    body = reply.json()
    if platform in ("taobao", "pdd"):
        assert reply.status_code == 200 and "error_response" in body
    elif platform == "jd":
        assert reply.status_code == 200 and body["code"] != 0 and "access_token" not in body
    else:
        assert reply.status_code == 400 and body["error"] == "invalid_grant"
    assert _refreshes(pull, platform) == 0


def _top_refresh(c) -> dict:
    from connectors.signing import top_sign
    from domain.timeutil import format_beijing

    params = {"method": "taobao.top.auth.token.refresh", "app_key": c.app_key, "sign_method": "md5", "v": "2.0",
              "format": "json", "timestamp": format_beijing(datetime.now(timezone.utc)), "refresh_token": "wrong"}
    return {**params, "sign": top_sign(params, c.app_secret, "md5")}


def _pdd_refresh(c) -> dict:
    from connectors.signing import pdd_sign

    params = {"type": "pdd.pop.auth.token.refresh", "client_id": c.app_key, "data_type": "JSON", "version": "V1",
              "timestamp": str(int(datetime.now(timezone.utc).timestamp())), "refresh_token": "wrong"}
    return {**params, "sign": pdd_sign(params, c.app_secret)}
