"""Shopify and Amazon connectors against the sandbox, on the points their documentation fixes
(issue 18 #3, #8 and the conformance section): the connector builds its requests from its
``DOCUMENTED`` declaration and the sandbox refuses what the platform refuses."""
from __future__ import annotations

import pytest
import requests

sandbox_server = pytest.importorskip("sandbox.server", reason="the sandbox marketplace is not available")

from helpers.sandbox_connector import sandbox_connector  # noqa: E402
from connectors.shopify import DOCUMENTED as DOCUMENTED_SHOPIFY  # noqa: E402


def pulled_records(world, server, shop_id: str, **overrides) -> tuple[list[dict], int]:
    records, pages = [], 0
    with sandbox_connector(world, server, shop_id, **overrides) as client:
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


def shopify_get(world, server, version: str = "2026-10", **params):
    cred = world.credentials["shopify-global"]
    return requests.get(f"{server.url}/shopify/shopify-global/admin/api/{version}/orders.json", params=params,
                        headers={"X-Shopify-Access-Token": cred.access_token}, timeout=10)


@pytest.mark.parametrize("left_out", DOCUMENTED_SHOPIFY.required)
def test_sandbox_refuses_a_shopify_list_without_a_documented_required_parameter(world, server, left_out):
    params = {"status": "any", "updated_at_min": world.scenario.start.isoformat(), "limit": 5}
    assert shopify_get(world, server, **params).status_code == 200
    del params[left_out]
    reply = shopify_get(world, server, **params)
    assert reply.status_code == 400 and left_out in reply.json()["errors"]  # Shopify's {"errors": {param: […]}}


def test_shopify_connector_asks_for_the_documented_fields_and_a_supported_version(world, server):
    """issue 18 #9: 2024-10 is out of support (Shopify answers with the oldest supported
    version, and says so in X-Shopify-API-Version); the connector's default is a supported one
    and it asks for exactly the fields it reads."""
    from connectors.shopify import API_VERSION
    old = shopify_get(world, server, "2024-10", status="any", updated_at_min=world.scenario.start.isoformat(), limit=5)
    assert old.headers["X-Shopify-API-Version"] != "2024-10"
    current = shopify_get(world, server, API_VERSION, status="any", updated_at_min=world.scenario.start.isoformat(),
                          limit=5)
    assert current.headers["X-Shopify-API-Version"] == API_VERSION
    records, _ = pulled_records(world, server, "shopify-global")
    assert records and set().union(*(r.keys() for r in records)) <= set(DOCUMENTED_SHOPIFY.requested_fields)
    assert "billing_address" not in records[0] and "client_details" not in records[0]


# --- Amazon ----------------------------------------------------------------------------------

def amazon_get(world, server, **params):
    cred = world.credentials["amazon-us"]
    return requests.get(f"{server.url}/amazon/orders/v0/orders", params=params,
                        headers={"x-amz-access-token": cred.access_token}, timeout=10)


@pytest.mark.parametrize("left_out", [("MarketplaceIds",), ("LastUpdatedAfter",)])
def test_sandbox_refuses_get_orders_without_a_documented_required_parameter(world, server, left_out):
    """Amazon's own 400 body: ``{"errors": [{"code": "InvalidInput", …}]}`` (as the real
    getOrders_400_sandbox0 case, whose request lacks MarketplaceIds)."""
    params = {"MarketplaceIds": "ATVPDKIKX0DER", "LastUpdatedAfter": world.scenario.start.isoformat()}
    assert amazon_get(world, server, **params).status_code == 200
    for name in left_out:
        del params[name]
    reply = amazon_get(world, server, **params)
    assert reply.status_code == 400 and reply.json()["errors"][0]["code"] == "InvalidInput"


def test_amazon_next_token_follow_up_repeats_the_window_start_and_reads_every_page(world, server):
    """issue 18 #8: Amazon's sandbox case sends ``CreatedAfter`` + ``MarketplaceIds`` with the
    ``NextToken``; a follow-up with the token alone is refused, so every page is read only when
    the connector repeats them."""
    truth = world.ground_truth("amazon-us", world.end)
    start = world.scenario.start.isoformat()
    first = amazon_get(world, server, MarketplaceIds="ATVPDKIKX0DER", LastUpdatedAfter=start, MaxResultsPerPage=5)
    token = first.json()["payload"]["NextToken"]
    token_only = amazon_get(world, server, MarketplaceIds="ATVPDKIKX0DER", NextToken=token)
    assert token_only.status_code == 400 and token_only.json()["errors"][0]["code"] == "InvalidInput"
    assert amazon_get(world, server, MarketplaceIds="ATVPDKIKX0DER", LastUpdatedAfter=start,
                      NextToken=token).status_code == 200
    records, pages = pulled_records(world, server, "amazon-us", page_size=5)
    assert pages > 1
    assert {r["AmazonOrderId"] for r in records} == set(truth.orders["order_id"])
