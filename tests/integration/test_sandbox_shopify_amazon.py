"""Shopify and Amazon connectors against the sandbox, on the points their documentation fixes
(issue 18 #3, #8 and the conformance section): the connector builds its requests from its
``DOCUMENTED`` declaration and the sandbox refuses what the platform refuses."""
from __future__ import annotations

import pytest
import requests

sandbox_server = pytest.importorskip("sandbox.server", reason="the sandbox marketplace is not available")

from connectors import Credentials, build_connector, default_settings  # noqa: E402


def connector(world, server, shop_id: str, **overrides):
    shop = world.shop(shop_id)
    base_url = f"{server.url}/{shop.platform}" + (f"/{shop_id}" if shop.platform == "shopify" else "")
    settings = default_settings(shop.platform, base_url, throttle_rate_per_s=500.0, throttle_burst=500,
                                items_rate_per_s=500.0, backoff_base_s=0.05, backoff_cap_s=0.2, **overrides)
    secret = world.credentials[shop_id]
    credentials = Credentials(app_key=secret.app_key, app_secret=secret.app_secret, access_token=secret.access_token)
    return build_connector(shop.platform, shop_id, settings, credentials)


def pulled_records(world, server, shop_id: str, **overrides) -> tuple[list[dict], int]:
    records, pages = [], 0
    with connector(world, server, shop_id, **overrides) as client:
        for page in client.pull_orders(world.scenario.start, world.end):
            records.extend(page.records)
            pages += 1
    return records, pages


# --- Shopify ---------------------------------------------------------------------------------

def test_shopify_with_fields_pages_past_the_commas_in_the_link_url(world, server):
    """issue 18 #3: with ``fields`` Shopify's ``Link`` URLs hold raw commas
    (``fields=id,updated_at``); splitting the header on commas lost every page after the first
    while the pull said ok."""
    truth = world.ground_truth("shopify-global", world.end)
    fields = "id,updated_at,financial_status,line_items,total_price,currency"
    records, pages = pulled_records(world, server, "shopify-global", page_size=5, fields=fields)
    assert pages > 1
    assert {str(r["id"]) for r in records} == set(truth.orders["order_id"])
    # Shopify returns only the requested fields
    assert set().union(*(r.keys() for r in records)) <= set(fields.split(","))
