"""A copy of the configuration with every shop pointed at the local sandbox marketplace.

Used by the demo (``data/demo-config/``) and the tests: the demo must never reach a real
marketplace, and the sandbox has no quota, so the connectors' client-side throttles are
opened wide there. Everything else is the project's own configuration, unchanged.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from config.settings import CONFIG_DIR

#: the sandbox has no quota: don't spend minutes in the connectors' throttles
SANDBOX_CONNECTOR_OPTIONS = {"throttle_rate_per_s": 500.0, "throttle_burst": 500, "items_rate_per_s": 500.0}


def _token_urls(platform: str, base_url: str) -> dict[str, str]:
    """The token endpoints that live on other hosts in reality (JD's OAuth host, Amazon's LWA),
    where the sandbox serves them."""
    return {"jd": {"oauth_url": base_url}, "amazon": {"lwa_token_url": f"{base_url}/auth/o2/token"}}.get(platform, {})


def write_sandbox_config(target: Path, sandbox_url: str, *, source: Path = CONFIG_DIR,
                         connector_options: dict[str, Any] | None = None,
                         order_rules: dict[str, Any] | None = None) -> Path:
    """``source`` copied to ``target`` (replaced if there), each marketplace shop's
    ``base_url`` under ``sandbox_url``, and ``rules.yaml: orders`` keys from ``order_rules``."""
    target = Path(target)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shops = yaml.safe_load((target / "shops.yaml").read_text(encoding="utf-8"))
    for shop in shops["shops"]:
        if shop["platform"] == "file":
            continue
        suffix = f"/{shop['id']}" if shop["platform"] == "shopify" else ""
        shop["base_url"] = f"{sandbox_url.rstrip('/')}/{shop['platform']}{suffix}"
        shop["connector_options"] = {**SANDBOX_CONNECTOR_OPTIONS, **_token_urls(shop["platform"], shop["base_url"]),
                                     **(shop.get("connector_options") or {}), **(connector_options or {})}
    (target / "shops.yaml").write_text("# a copy pointed at the sandbox marketplace (config/overlay.py)\n"
                                       + yaml.safe_dump(shops, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if order_rules:
        rules = yaml.safe_load((target / "rules.yaml").read_text(encoding="utf-8"))
        rules["orders"].update(order_rules)
        (target / "rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target
