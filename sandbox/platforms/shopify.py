"""Shopify Admin REST: ``/shopify/{shop_id}/admin/api/{version}/…``.

Versions: every ``YYYY-MM`` path is served; one older than 12 months before the sandbox's
clock is answered by the oldest supported version, as Shopify "falls forward", and each
reply names the version that answered in ``X-Shopify-API-Version``.

Auth header ``X-Shopify-Access-Token`` (401 otherwise). ``GET orders.json`` needs the
parameters ``connectors.shopify.DOCUMENTED`` declares required (``status=any``, the
``updated_at_min``/``updated_at_max`` window, ``limit``): without one the sandbox answers 400
in Shopify's error shape ``{"errors": {"<param>": ["…"]}}``, so a connector cannot silently
miss closed and cancelled orders or read an unbounded window. ``limit`` ≤ 250; ``fields``
returns only the listed top-level fields, as Shopify does. Paging is by cursor:
``Link: <…page_info=X>; rel="next"`` (and ``rel="previous"``); the URLs repeat ``fields``
with its raw commas, as Shopify's do. A request with ``page_info`` may carry only ``page_info``,
``limit`` and ``fields`` — anything else is a 400, as on Shopify. Orders are returned in id
order; their times carry the shop's UTC offset; money is decimal strings plus ``*_set``;
refunds are nested (``refunds[].refund_line_items[]``); PII is sent in clear, as Shopify does.

Writes: ``POST inventory_levels/set.json`` {location_id, inventory_item_id, available},
``GET inventory_levels.json?inventory_item_ids=…``, ``POST orders/{id}/fulfillments.json``.
429 + ``Retry-After`` when throttled.
"""
from __future__ import annotations

import base64
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.contract import only_requested
from connectors.shopify import DOCUMENTED, LATER_PAGE_PARAMS
from sandbox import wire
from sandbox.generator import NEVER, US_PLACES
from sandbox.platforms.common import (
    Listings, PageView, PlatformAPI, decimal_string, iso_in_zone, json_response, order_index, page_of_window,
    record_shipment, set_stock,
)

MAX_LIMIT = 250
#: Shopify supports a stable version for at least 12 months after its release
SUPPORT_MONTHS = 12
STATE_NAMES = {code: name for name, code, _city, _zip in US_PLACES}
INVENTORY_ITEM_OFFSET = 2_000_000_000_000


def money_set(minor: int, currency: str) -> dict:
    amount = {"amount": decimal_string(minor), "currency_code": currency}
    return {"shop_money": amount, "presentment_money": amount}


def inventory_item_id(variant_id: str) -> int:
    return int(variant_id) + INVENTORY_ITEM_OFFSET


def render_order(view: PageView, j: int, buyers) -> dict:
    o, ln, x = view.orders, view.lines, view.extra
    shop, cur = view.shop, view.shop.currency
    zone = shop.timezone
    positions = view.line_positions(j)
    order_id = int(o["order_id"][j])
    shipped = o["shipped_at"][j] != NEVER
    b = x["buyer"][j]
    first, last = buyers.name[b].split(" ", 1)
    address = {"first_name": first, "last_name": last, "name": buyers.name[b],
               "address1": f"{buyers.house_no[b]} {buyers.street[b]}", "address2": "", "city": buyers.city[b],
               "province": STATE_NAMES.get(buyers.province[b], buyers.province[b]), "province_code": buyers.province[b],
               "zip": buyers.postcode[b], "country": "United States", "country_code": "US", "phone": buyers.phone[b],
               "company": None}
    line_items = []
    for p in positions:
        line = {
            "id": int(ln["line_id"][p]), "admin_graphql_api_id": f"gid://shopify/LineItem/{ln['line_id'][p]}",
            "variant_id": int(ln["marketplace_sku_id"][p]), "product_id": int(ln["marketplace_item_id"][p]),
            "sku": ln["sku"][p], "title": ln["title"][p], "variant_title": ln["variant"][p],
            "name": f"{ln['title'][p]} - {ln['variant'][p]}", "quantity": ln["quantity"][p],
            "current_quantity": ln["quantity"][p], "fulfillable_quantity": 0 if shipped else ln["quantity"][p],
            "price": decimal_string(ln["unit_price_minor"][p]), "price_set": money_set(ln["unit_price_minor"][p], cur),
            "total_discount": decimal_string(ln["discount_minor"][p]),
            "total_discount_set": money_set(ln["discount_minor"][p], cur),
            "discount_allocations": [{"amount": decimal_string(ln["discount_minor"][p]),
                                      "amount_set": money_set(ln["discount_minor"][p], cur),
                                      "discount_application_index": 0}] if ln["discount_minor"][p] else [],
            "fulfillment_status": "fulfilled" if shipped else None, "fulfillment_service": "manual",
            "gift_card": False, "requires_shipping": True, "taxable": True, "grams": 500, "vendor": "shopops",
            "properties": [{"name": "_free_gift", "value": "true"}] if ln["is_gift"][p] else [],
            "product_exists": True, "tax_lines": [],
        }
        line_items.append(line)
    gross = sum(ln["unit_price_minor"][p] * ln["quantity"][p] for p in positions)
    discounts = sum(ln["discount_minor"][p] for p in positions) + o["discount_minor"][j]
    subtotal = gross - discounts
    order = {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{1000 + x['seq'][j]}", "order_number": 1000 + x["seq"][j],
        "email": f"{first.lower()}.{last.lower()}@example.com", "contact_email": f"{first.lower()}.{last.lower()}@example.com",
        "created_at": iso_in_zone(o["created_at"][j], zone), "updated_at": iso_in_zone(o["modified_at"][j], zone),
        "processed_at": iso_in_zone(o["created_at"][j], zone),
        "closed_at": iso_in_zone(x["completed_at"][j], zone), "cancelled_at": iso_in_zone(x["cancelled_at"][j], zone),
        "cancel_reason": "customer" if x["cancelled_at"][j] != NEVER else None,
        "currency": cur, "presentment_currency": cur, "financial_status": o["platform_status"][j],
        "fulfillment_status": "fulfilled" if shipped else None, "confirmed": True, "test": False,
        "taxes_included": False, "total_tax": "0.00", "total_tax_set": money_set(0, cur),
        "total_line_items_price": decimal_string(gross), "total_line_items_price_set": money_set(gross, cur),
        "total_discounts": decimal_string(discounts), "total_discounts_set": money_set(discounts, cur),
        "subtotal_price": decimal_string(subtotal), "subtotal_price_set": money_set(subtotal, cur),
        "total_price": decimal_string(o["total_minor"][j]), "total_price_set": money_set(o["total_minor"][j], cur),
        # after edits and refunds (the refund below, if any, is taken off)
        "current_total_price": decimal_string(o["total_minor"][j]),
        "current_total_price_set": money_set(o["total_minor"][j], cur),
        "current_total_tax": "0.00", "current_total_discounts": decimal_string(discounts),
        "total_shipping_price_set": money_set(o["post_fee_minor"][j], cur),
        "shipping_lines": [{"id": order_id + 3, "code": "Standard", "title": "Standard Shipping", "source": "shopify",
                            "price": decimal_string(o["post_fee_minor"][j]), "price_set": money_set(o["post_fee_minor"][j], cur),
                            "discounted_price": decimal_string(o["post_fee_minor"][j]), "tax_lines": []}],
        "discount_codes": [{"code": "WELCOME5", "amount": decimal_string(o["discount_minor"][j]), "type": "fixed_amount"}]
        if o["discount_minor"][j] else [],
        "note": o["buyer_remark"][j], "note_attributes": [], "tags": o["seller_remark"][j] or "",
        "gateway": "shopify_payments", "source_name": "web",
        "customer": {"id": int(wire.SHOPIFY_CUSTOMER_BASE + b), "first_name": first, "last_name": last,
                     "email": f"{first.lower()}.{last.lower()}@example.com", "phone": buyers.phone[b]},
        "shipping_address": address, "billing_address": address,
        "line_items": line_items,
        "fulfillments": [{"id": order_id + 5, "order_id": order_id, "status": "success", "service": "manual",
                          "created_at": iso_in_zone(o["shipped_at"][j], zone), "updated_at": iso_in_zone(o["shipped_at"][j], zone),
                          "tracking_company": o["carrier"][j], "tracking_number": o["tracking_no"][j],
                          "tracking_numbers": [o["tracking_no"][j]], "line_items": line_items}] if shipped else [],
        "refunds": [],
    }
    r = view.refund_of.get(j)
    if r is not None:
        refunds = view.refunds
        refund_id = int(refunds["refund_id"][r])
        refunded_line = next(line for line in line_items if str(line["id"]) == refunds["line_id"][r])
        amount = refunds["amount_minor"][r]
        current = o["total_minor"][j] - amount
        order["current_total_price"], order["current_total_price_set"] = decimal_string(current), money_set(current, cur)
        order["refunds"] = [{
            "id": refund_id, "order_id": order_id, "created_at": iso_in_zone(refunds["created_at"][r], zone),
            "processed_at": iso_in_zone(refunds["created_at"][r], zone), "note": "Customer return", "restock": True,
            "refund_line_items": [{"id": refund_id + 1, "line_item_id": refunded_line["id"], "quantity": refunds["quantity"][r],
                                   "subtotal": decimal_string(amount), "subtotal_set": money_set(amount, cur),
                                   "total_tax": "0.00", "total_tax_set": money_set(0, cur), "line_item": refunded_line}],
            "transactions": [{"id": refund_id + 2, "order_id": order_id, "amount": decimal_string(amount), "kind": "refund",
                              "status": "success", "currency": cur, "gateway": "shopify_payments",
                              "created_at": iso_in_zone(refunds["created_at"][r], zone)}],
            "order_adjustments": [],
        }]
    return order


def served_version(asked: str, now_s: int) -> str:
    """The version that answers a request for ``asked``: itself while supported, else the
    oldest supported one (Shopify's fall-forward); ``asked`` when it is not ``YYYY-MM``."""
    try:
        year, month = (int(part) for part in asked.split("-"))
    except ValueError:
        return asked
    now = datetime.fromtimestamp(now_s, tz=ZoneInfo("UTC"))
    oldest = now.year * 12 + now.month - 1 - SUPPORT_MONTHS + 1      # months since year 0
    oldest -= oldest % 3                                              # releases: Jan, Apr, Jul, Oct
    if year * 12 + month - 1 >= oldest:
        return asked
    return f"{oldest // 12:04d}-{oldest % 12 + 1:02d}"


def _cursor(payload: dict) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def _uncursor(text: str) -> dict:
    return orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _parse_time(text: str, zone: str) -> int:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    return int(value.timestamp())


class ShopifyAPI(PlatformAPI):
    platform = "shopify"

    def routes(self) -> list[Route]:
        base = "/{shop_id}/admin/api/{version}"
        return [Route(f"{base}/orders.json", self.endpoint(self.orders)),
                Route(f"{base}/orders/count.json", self.endpoint(self.count)),
                Route(f"{base}/inventory_levels/set.json", self.endpoint(self.set_inventory), methods=["POST"]),
                Route(f"{base}/inventory_levels.json", self.endpoint(self.inventory_levels)),
                Route(base + "/orders/{order_id}/fulfillments.json", self.endpoint(self.fulfill), methods=["POST"])]

    def throttled(self, retry_after_s: int) -> Response:
        return json_response({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
                                        "uninterrupted service."}, status=429,
                             headers={"Retry-After": f"{float(retry_after_s):.1f}"})

    def _shop(self, request: Request):
        shop_id = request.path_params["shop_id"]
        shop = self.state.shop_by_token("shopify", request.headers.get("x-shopify-access-token"))
        if shop is None or shop.id != shop_id:
            return None, json_response({"errors": "[API] Invalid API key or access token (unrecognized login or wrong "
                                                  "password)"}, status=401)
        return shop, None

    async def orders(self, request: Request, duplicate: bool) -> Response:
        shop, denied = self._shop(request)
        if denied:
            return denied
        params = dict(request.query_params)
        version = {"X-Shopify-API-Version": served_version(request.path_params["version"], self.state.now_s())}
        if "page_info" not in params:
            missing = DOCUMENTED.missing(params)
            if missing:
                return json_response({"errors": {name: ["is required (this sandbox refuses what the connector must "
                                                        "send: connectors.shopify.DOCUMENTED)"] for name in missing}},
                                     status=400, headers=version)
        try:
            limit = int(params.get("limit", 50))
        except ValueError:
            return json_response({"errors": {"limit": ["is not a number"]}}, status=400)
        if not 1 <= limit <= MAX_LIMIT:
            return json_response({"errors": {"limit": [f"must be between 1 and {MAX_LIMIT}"]}}, status=400)
        if "page_info" in params:
            extra = sorted(set(params) - set(LATER_PAGE_PARAMS))
            if extra:
                return json_response({"errors": {"page_info": [
                    f"cannot be combined with {', '.join(extra)}; on later pages send only page_info, limit, fields"]}},
                    status=400)
            try:
                cursor = _uncursor(params["page_info"])
                low, high = cursor["min"], cursor["max"]
            except (ValueError, KeyError, TypeError):
                return json_response({"errors": {"page_info": ["Invalid value."]}}, status=400)
        else:
            if params.get("status") != "any":
                return json_response({"errors": {"status": [
                    "the sandbox requires status=any (without it Shopify returns only open orders)"]}}, status=400)
            try:
                low = _parse_time(params["updated_at_min"], shop.timezone) if "updated_at_min" in params else 0
                high = _parse_time(params["updated_at_max"], shop.timezone) if "updated_at_max" in params else NEVER - 1
            except ValueError:
                return json_response({"errors": {"updated_at": ["must be ISO 8601, e.g. 2026-11-11T00:00:00-08:00"]}},
                                     status=400)
            cursor = {"min": low, "max": high, "after": -1}
        idx, modified = self.state.window(shop.id, low, high)
        by_id = np.argsort(idx, kind="stable")
        idx, modified = idx[by_id], modified[by_id]
        if "before" in cursor:
            end = int(np.searchsorted(idx, cursor["before"], side="left"))
            start = max(0, end - limit)
        else:
            start = int(np.searchsorted(idx, cursor["after"], side="right"))
            end = min(len(idx), start + limit)
        page = page_of_window(self.state, shop, (idx, modified), start, end - start, duplicate,
                              lambda view, j: render_order(view, j, self.state.world.buyers_of(shop)))
        if params.get("fields"):
            wanted = [f.strip() for f in params["fields"].split(",")]
            page = orjson.Fragment(orjson.dumps([only_requested(o, wanted) for o in orjson.loads(orjson.dumps(page))]))
        links = []
        base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}?limit={limit}"
        if "fields" in params:
            base += f"&fields={params['fields']}"
        if start > 0:
            links.append(f'<{base}&page_info={_cursor({"min": low, "max": high, "before": int(idx[start])})}>; rel="previous"')
        if end < len(idx):
            links.append(f'<{base}&page_info={_cursor({"min": low, "max": high, "after": int(idx[end - 1])})}>; rel="next"')
        headers = {"Link": ", ".join(links), **version} if links else version
        return json_response({"orders": page}, headers=headers)

    async def count(self, request: Request, duplicate: bool) -> Response:
        """``GET orders/count.json``: ``{"count": N}`` of the orders the same filter lists
        (``status`` defaults to ``open`` on Shopify: the sandbox requires ``any``, as for the list)."""
        shop, denied = self._shop(request)
        if denied:
            return denied
        params = request.query_params
        if params.get("status") != "any":
            return json_response({"errors": {"status": ["the sandbox requires status=any"]}}, status=400)
        try:
            low, high = (_parse_time(params[name], shop.timezone) if name in params else default
                         for name, default in (("updated_at_min", 0), ("updated_at_max", NEVER - 1)))
        except ValueError:
            return json_response({"errors": {"updated_at": ["must be ISO 8601"]}}, status=400)
        return json_response({"count": int(len(self.state.window(shop.id, low, high)[0]))})

    async def set_inventory(self, request: Request, duplicate: bool) -> Response:
        shop, denied = self._shop(request)
        if denied:
            return denied
        body = await request.json()
        listings = Listings.of(self.state, "shopify")
        variant = str(int(body.get("inventory_item_id", 0)) - INVENTORY_ITEM_OFFSET)
        sku = listings.sku_by_variant_id.get(variant)
        if sku is None or "available" not in body or body.get("location_id") != wire.SHOPIFY_LOCATION_ID:
            return json_response({"errors": {"inventory_item_id": ["not found at this location"]}}, status=422)
        available = set_stock(self.state, shop, sku, int(body["available"]), incremental=False)
        return json_response({"inventory_level": {"inventory_item_id": int(body["inventory_item_id"]),
                                                  "location_id": wire.SHOPIFY_LOCATION_ID, "available": available,
                                                  "updated_at": iso_in_zone(self.state.now_s(), shop.timezone)}})

    async def inventory_levels(self, request: Request, duplicate: bool) -> Response:
        shop, denied = self._shop(request)
        if denied:
            return denied
        listings = Listings.of(self.state, "shopify")
        levels = []
        for item in filter(None, request.query_params.get("inventory_item_ids", "").split(",")):
            sku = listings.sku_by_variant_id.get(str(int(item) - INVENTORY_ITEM_OFFSET))
            if sku:
                levels.append({"inventory_item_id": int(item), "location_id": wire.SHOPIFY_LOCATION_ID,
                               "available": self.state.stock[(shop.id, sku)]})
        return json_response({"inventory_levels": levels})

    async def fulfill(self, request: Request, duplicate: bool) -> Response:
        shop, denied = self._shop(request)
        if denied:
            return denied
        order_id = request.path_params["order_id"]
        fulfillment = (await request.json()).get("fulfillment") or {}
        if order_index(self.state, shop, order_id) is None:
            return json_response({"errors": "Not Found"}, status=404)
        if not fulfillment.get("tracking_number"):
            return json_response({"errors": {"tracking_number": ["can't be blank"]}}, status=422)
        record_shipment(self.state, shop, order_id, fulfillment.get("tracking_company", ""), fulfillment["tracking_number"])
        return json_response({"fulfillment": {"order_id": int(order_id), "status": "success",
                                              "tracking_company": fulfillment.get("tracking_company"),
                                              "tracking_number": fulfillment["tracking_number"]}}, status=201)
