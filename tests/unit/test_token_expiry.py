"""Access tokens that expire (TOP, PDD, Douyin, JD) are named N days before (issue 18, "Tokens").

The shop's credentials JSON carries ``expires_at`` (authorisation time + the ``expires_in`` the
platform returned); ``expiring_tokens`` names the shops whose token ends within
``orders.token_expiry_warning_days`` or has ended, and the shops of those platforms whose
credentials do not say when. Constructed credentials (no real token is involved).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from config.schema import ShopConfig
from tasks.secrets import MissingSecretError, expiring_tokens, shop_credentials

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def _shop(shop_id: str, platform: str) -> ShopConfig:
    return ShopConfig(id=shop_id, platform=platform, name=shop_id)


def _creds(monkeypatch, shop_id: str, **extra) -> None:
    monkeypatch.setenv("SHOPOPS_CRED_" + shop_id.upper().replace("-", "_"),
                       json.dumps({"app_key": "k", "app_secret": "secret-1234", "access_token": "token-1234", **extra}))


def test_tokens_ending_within_the_warning_days_or_ended_or_of_unknown_end_are_named(monkeypatch, english):
    shops = [_shop("tmall-a", "taobao"), _shop("jd-a", "jd"), _shop("pdd-a", "pdd"), _shop("douyin-a", "douyin"),
             _shop("shopify-a", "shopify")]
    _creds(monkeypatch, "tmall-a", expires_at=(NOW + timedelta(days=3, hours=1)).isoformat())
    _creds(monkeypatch, "jd-a", expires_at="2026-12-30T00:00:00+08:00")            # far off: not named
    _creds(monkeypatch, "pdd-a", expires_at="2026-12-01T00:00:00Z")                # ended
    _creds(monkeypatch, "douyin-a")                                                # unknown end
    _creds(monkeypatch, "shopify-a")                                               # does not expire
    found = {x.shop_id: x for x in expiring_tokens(shops, warning_days=7, now=NOW)}
    assert set(found) == {"tmall-a", "pdd-a", "douyin-a"}
    assert found["tmall-a"].days_left == pytest.approx(3.0)
    assert "expires on 2026-12-07 21:00 (3 day(s) left)" in found["tmall-a"].message  # Beijing time (issue 23 #1)
    assert "expired on 2026-12-01 08:00" in found["pdd-a"].message and found["pdd-a"].days_left < 0
    assert "no expires_at" in found["douyin-a"].message
    assert all("secret-1234" not in x.message and "token-1234" not in x.message for x in found.values())


def test_expires_at_is_read_with_its_offset_and_a_malformed_one_is_explained(monkeypatch):
    _creds(monkeypatch, "jd-a", expires_at="2026-12-30T08:00:00+08:00")
    assert shop_credentials(_shop("jd-a", "jd")).expires_at == datetime(2026, 12, 30, tzinfo=timezone.utc)
    _creds(monkeypatch, "jd-a", expires_at="next tuesday")
    with pytest.raises(MissingSecretError, match="expires_at in SHOPOPS_CRED_JD_A is not a time"):
        shop_credentials(_shop("jd-a", "jd"))
