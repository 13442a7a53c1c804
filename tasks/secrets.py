"""Where secrets come from: a Prefect Secret block (production) or the environment (tests,
local runs). Never from a parameter (Prefect stores parameters in clear text), never logged.

Shop credentials: environment ``SHOPOPS_CRED_<SHOP_ID>`` (upper case, dashes as
underscores) holding JSON ``{"app_key", "app_secret", "access_token", "extras"}``, else the
Secret block named by ``credentials_block`` in shops.yaml holding the same JSON.
The PII hash key (one-way buyer/address hashes): ``SHOPOPS_PII_HASH_KEY`` or the Secret
block ``shopops-pii-hash-key``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping

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
    for value in (data.get("app_secret"), data.get("access_token"), *(data.get("extras") or {}).values()):
        register_secret(str(value) if value else None)
    return Credentials(app_key=data.get("app_key", ""), app_secret=data.get("app_secret", ""),
                       access_token=data.get("access_token", ""), extras=data.get("extras") or {})


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
