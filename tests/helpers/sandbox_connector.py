"""A connector of one sandbox shop, its client limits opened wide (the tests measure
behaviour, not the marketplaces' rate limits)."""
from __future__ import annotations

from connectors import Credentials, build_connector, default_settings


def sandbox_connector(world, server, shop_id: str, **overrides):
    shop = world.shop(shop_id)
    base_url = f"{server.url}/{shop.platform}" + (f"/{shop_id}" if shop.platform == "shopify" else "")
    settings = default_settings(shop.platform, base_url, throttle_rate_per_s=500.0, throttle_burst=500,
                                items_rate_per_s=500.0, backoff_base_s=0.05, backoff_cap_s=0.2, **overrides)
    secret = world.credentials[shop_id]
    credentials = Credentials(app_key=secret.app_key, app_secret=secret.app_secret, access_token=secret.access_token)
    return build_connector(shop.platform, shop_id, settings, credentials)
