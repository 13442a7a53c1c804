"""Where secrets come from: a Prefect Secret block (production) or the environment (tests,
local runs). Never from a parameter (Prefect stores parameters in clear text), never logged.

Shop credentials: environment ``SHOPOPS_CRED_<SHOP_ID>`` (upper case, dashes as
underscores) holding JSON ``{"app_key", "app_secret", "access_token", "extras", "expires_at"}``, else the
Secret block named by ``credentials_block`` in shops.yaml holding the same JSON. ``expires_at``
(ISO 8601, optional): when the access token ends — authorisation time + the ``expires_in`` TOP,
PDD, Douyin and JD return — watched by the daily warehouse check (``expiring_tokens``).
``refresh_token`` (optional; for Amazon the LWA refresh token, with the LWA client id and secret
as ``app_key``/``app_secret``) and ``refresh_expires_at``: what renews the access token; a renewed
token is written back where the credentials came from (``store_credentials``).
The PII hash key (one-way buyer/address hashes): ``SHOPOPS_PII_HASH_KEY`` or the Secret
block ``shopops-pii-hash-key``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from config.schema import ShopConfig
from connectors import Credentials
from shopops.logmask import register_secret

PII_HASH_KEY_BLOCK = "shopops-pii-hash-key"


class MissingSecretError(RuntimeError):
    """A secret is not configured; the message says where to put it."""


def _env_name(shop_id: str) -> str:
    return "SHOPOPS_CRED_" + shop_id.upper().replace("-", "_")


def _load_block(name: str) -> object:
    from prefect.blocks.system import Secret

    try:
        return Secret.load(name).get()
    except ValueError as exc:  # Prefect raises ValueError for a block that does not exist
        raise MissingSecretError(str(exc)) from None


def shop_credentials(shop: ShopConfig) -> Credentials:
    raw = os.environ.get(_env_name(shop.id))
    if raw is None:
        if not shop.credentials_block:
            raise MissingSecretError(
                f"shop {shop.id} has no credentials: set credentials_block in config/shops.yaml and create that "
                f"Prefect Secret block, or set the environment variable {_env_name(shop.id)}")
        try:
            raw = _load_block(shop.credentials_block)
        except MissingSecretError:
            raise MissingSecretError(
                f"shop {shop.id}: the Prefect Secret block '{shop.credentials_block}' does not exist; create it "
                "(docs/RUNBOOK.md, 'adding a shop') or set " + _env_name(shop.id)) from None
    where = (_env_name(shop.id) if _env_name(shop.id) in os.environ
             else f"the Prefect Secret block '{shop.credentials_block}'")
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:  # the message names line and column only, never the secret's text
        raise MissingSecretError(f"shop {shop.id}: {where} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                                 f"column {exc.colno}); write "
                                 '{"app_key": "...", "app_secret": "...", "access_token": "..."}') from None
    if isinstance(data, Mapping):
        data = dict(data)
    else:
        raise MissingSecretError(f"shop {shop.id}: {where} must be a JSON object "
                                 '{"app_key": "...", "app_secret": "...", "access_token": "..."}, '
                                 f"not a {type(data).__name__}")
    for value in (data.get("app_secret"), data.get("access_token"), data.get("refresh_token"),
                  *(data.get("extras") or {}).values()):
        register_secret(str(value) if value else None)
    return Credentials(app_key=data.get("app_key", ""), app_secret=data.get("app_secret", ""),
                       access_token=data.get("access_token", ""), extras=data.get("extras") or {},
                       expires_at=_expires_at(data.get("expires_at"), shop.id, where),
                       refresh_token=data.get("refresh_token", "") or "",
                       refresh_expires_at=_expires_at(data.get("refresh_expires_at"), shop.id, where))


def credentials_json(credentials: Credentials) -> str:
    """The JSON ``shop_credentials`` reads, for ``credentials``."""
    def iso(value: datetime | None) -> str | None:
        return value.astimezone(timezone.utc).isoformat() if value is not None else None

    data = {"app_key": credentials.app_key, "app_secret": credentials.app_secret,
            "access_token": credentials.access_token, "refresh_token": credentials.refresh_token,
            "expires_at": iso(credentials.expires_at), "refresh_expires_at": iso(credentials.refresh_expires_at),
            "extras": dict(credentials.extras)}
    return json.dumps({k: v for k, v in data.items() if v not in (None, "", {})})


def store_credentials(shop: ShopConfig, credentials: Credentials) -> str:
    """Write renewed ``credentials`` back where ``shop_credentials`` reads them, so the next run
    uses them: the environment variable when that is the source (this process and the ones it
    starts; a variable cannot outlive them, so production keeps credentials in a Secret block),
    else the shop's Prefect Secret block. The new token and refresh token are masked in logs
    from now on. Returns where they went (never a value)."""
    for value in credentials.secrets():
        register_secret(value)
    text = credentials_json(credentials)
    name = _env_name(shop.id)
    if name in os.environ or not shop.credentials_block:
        os.environ[name] = text
        return name
    from prefect.blocks.system import Secret

    Secret(value=text).save(shop.credentials_block, overwrite=True)
    return f"the Prefect Secret block '{shop.credentials_block}'"


def _expires_at(value: object, shop_id: str, where: str) -> datetime | None:
    """``expires_at`` of the credentials (ISO 8601; UTC when no offset is given), or None."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise MissingSecretError(f"shop {shop_id}: expires_at in {where} is not a time; write it as ISO 8601, e.g. "
                                 '"2026-12-31T00:00:00+08:00" (authorisation time + the expires_in the platform '
                                 "returned)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class TokenExpiry:
    shop_id: str
    expires_at: datetime | None
    days_left: float | None
    message: str


#: platforms whose access tokens expire (TOP session, PDD/Douyin/JD access_token); Shopify's
#: admin token does not, Amazon's LWA refresh gives an hourly access token by itself
EXPIRING_PLATFORMS = frozenset({"taobao", "pdd", "douyin", "jd"})


def expiring_tokens(shops, warning_days: int, now: datetime | None = None) -> list[TokenExpiry]:
    """Enabled shops whose token expires within ``warning_days`` (or has expired), and shops of
    an expiring platform whose credentials do not say when: each with the message to show."""
    from shopops.i18n import t, when

    now = now or datetime.now(timezone.utc)
    found = []
    for shop in shops:
        if not shop.enabled or shop.platform == "file":
            continue
        try:
            expires = shop_credentials(shop).expires_at
        except MissingSecretError as exc:
            found.append(TokenExpiry(shop.id, None, None, str(exc)))
            continue
        if expires is None:
            if shop.platform in EXPIRING_PLATFORMS:
                found.append(TokenExpiry(shop.id, None, None, t("tok_unknown", shop=shop.id)))
            continue
        left = (expires - now).total_seconds() / 86400
        at = when(expires)
        if left <= 0:
            found.append(TokenExpiry(shop.id, expires, round(left, 1), t("tok_expired", shop=shop.id, at=at)))
        elif left <= warning_days:
            found.append(TokenExpiry(shop.id, expires, round(left, 1),
                                     t("tok_expiring", shop=shop.id, at=at, days=int(left))))
    return found


def pii_hash_key() -> str:
    key = os.environ.get("SHOPOPS_PII_HASH_KEY")
    if key:
        register_secret(key)
        return key
    try:
        value = _load_block(PII_HASH_KEY_BLOCK)
    except MissingSecretError:
        raise MissingSecretError(
            f"no PII hash key: create the Prefect Secret block '{PII_HASH_KEY_BLOCK}' (a long random string; "
            "`make demo` creates one) or set SHOPOPS_PII_HASH_KEY") from None
    register_secret(str(value))
    return str(value)
