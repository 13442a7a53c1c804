"""Amazon Selling Partner API, Orders v0: ``/amazon/orders/v0/orders`` and ``…/{id}/orderItems``.

Auth header ``x-amz-access-token`` (403 ``Unauthorized`` otherwise). ``getOrders`` refuses
(400 ``InvalidInput``) a request without what ``connectors.amazon.DOCUMENTED`` declares
required: ``MarketplaceIds`` (``ATVPDKIKX0DER``) and ``CreatedAfter`` or ``LastUpdatedAfter``,
also next to a ``NextToken`` (Amazon's own sandbox case sends them with it); the sandbox
serves ``LastUpdatedAfter`` windows only. ``LastUpdatedBefore`` must be at least 2 minutes
before the server's wall clock; ``MaxResultsPerPage`` ≤ 100; a ``NextToken`` overrides the
window's filters. Orders come oldest-updated first; money is
``{"CurrencyCode","Amount":"11.01"}``; times ISO 8601 UTC; items come from the second call
(``ItemPrice`` is the line's price × quantity, ``PromotionDiscount`` its discount, the
order's shipping charge sits on the first item's ``ShippingPrice``). Errors are
``{"errors":[{"code","message","details"}]}``: 400 ``InvalidInput``, 404 ``NotFound``,
429 ``QuotaExceeded`` with ``Retry-After``.

Writes (recorded like every platform's: ``/_sandbox/writes``):

- ``POST /orders/v0/orders/{orderId}/shipmentConfirmation`` (Orders v0 confirmShipment) with
  ``{"marketplaceId", "packageDetail": {"packageReferenceId", "carrierCode", "trackingNumber",
  "shipDate" (ISO 8601), "orderItems": [{"orderItemId", "quantity"}]}}`` → **204, no body**;
  400 ``InvalidInput`` for a missing field, an item that is not the order's or a quantity
  above the ordered one, and for a Pending (unpaid) or Canceled order [U]; 404 ``NotFound``
  for an unknown order.
- Listings Items API 2021-08-01, keyed by ``{sellerId}/{sku}`` (the seller SKU, URL-encoded)
  and ``marketplaceIds=ATVPDKIKX0DER``: ``PATCH`` with ``{"productType", "patches": [{"op":
  "replace", "path": "/attributes/fulfillment_availability", "value":
  [{"fulfillment_channel_code": "DEFAULT", "quantity": n}]}]}`` sets the merchant-fulfilled
  quantity → ``{"sku", "status": "ACCEPTED", "submissionId", "issues": []}``; ``GET`` with
  ``includedData`` (default ``summaries``) returns ``summaries`` and/or
  ``fulfillmentAvailability: [{"fulfillmentChannelCode": "DEFAULT", "quantity": n}]``.
  A seller id other than the shop's (:func:`seller_id`) is 403 ``Unauthorized`` [U]; an
  unknown SKU 404 ``NOT_FOUND`` [U]; a malformed patch 400 ``InvalidInput``.
"""
from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timezone

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.amazon import missing_parameters
from sandbox import wire
from sandbox.generator import NEVER, buyer_email
from sandbox.platforms.common import (
    Listings, PageView, PlatformAPI, decimal_string, iso_utc, json_response, order_index, page_of_window,
    record_shipment, rendered_orders, request_params, set_stock, single_order,
)

MAX_RESULTS = 100
BEFORE_LAG_S = 120
LISTINGS_VERSION = "2021-08-01"
FULFILLMENT_PATH = "/attributes/fulfillment_availability"
UNSHIPPABLE = {"Pending", "PendingAvailability", "Canceled"}


def seller_id(shop_id: str) -> str:
    """The shop's selling-partner id as the sandbox knows it (the ``{sellerId}`` of the
    Listings Items API): ``A`` + 13 characters, stable per shop id."""
    digest = base64.b32encode(hashlib.sha256(f"sandbox-seller:{shop_id}".encode()).digest()).decode()
    return "A" + digest[:13]


def money(minor: int, currency: str) -> dict:
    return {"CurrencyCode": currency, "Amount": decimal_string(minor)}


def render_order(view: PageView, j: int) -> dict:
    o, ln, x = view.orders, view.lines, view.extra
    positions = view.line_positions(j)
    units = sum(ln["quantity"][p] for p in positions)
    shipped = o["shipped_at"][j] != NEVER
    b = x["buyer"][j]
    order = {
        "AmazonOrderId": o["order_id"][j], "SellerOrderId": o["order_id"][j],
        "PurchaseDate": iso_utc(o["created_at"][j]), "LastUpdateDate": iso_utc(o["modified_at"][j]),
        "OrderStatus": o["platform_status"][j], "FulfillmentChannel": "MFN", "SalesChannel": "Amazon.com",
        "ShipServiceLevel": "Std US D2D Dom", "OrderTotal": money(o["total_minor"][j], view.shop.currency),
        "NumberOfItemsShipped": units if shipped else 0, "NumberOfItemsUnshipped": 0 if shipped else units,
        "PaymentMethod": "Other", "PaymentMethodDetails": ["Standard"], "MarketplaceId": wire.MARKETPLACE_ID_US,
        "ShipmentServiceLevelCategory": "Standard", "OrderType": "StandardOrder",
        "IsBusinessOrder": False, "IsPrime": bool(b % 3 == 0), "IsPremiumOrder": False, "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": "false", "IsSoldByAB": False, "IsISPU": False, "IsAccessPointOrder": False,
        "ShippingAddress": {"City": o["city"][j], "StateOrRegion": o["province"][j],
                            "PostalCode": view.extra["postcode"][j], "CountryCode": "US"},
        "BuyerInfo": {"BuyerEmail": buyer_email(b)},
    }
    if order["OrderStatus"] == "Pending":
        del order["OrderTotal"]   # documented: a Pending order carries no OrderTotal yet (ordersV0.json)
    if o["paid_at"][j] != NEVER:
        order["EarliestShipDate"] = iso_utc(o["paid_at"][j])
        order["LatestShipDate"] = iso_utc(o["ship_by_at"][j])
    return order


def render_items(view: PageView, j: int) -> dict:
    o, ln = view.orders, view.lines
    cur = view.shop.currency
    shipped = o["shipped_at"][j] != NEVER
    items = []
    for k, p in enumerate(view.line_positions(j)):
        items.append({
            "ASIN": ln["marketplace_item_id"][p], "SellerSKU": ln["sku"][p], "OrderItemId": ln["line_id"][p],
            "Title": f"{ln['title'][p]} {ln['variant'][p]}", "QuantityOrdered": ln["quantity"][p],
            "QuantityShipped": ln["quantity"][p] if shipped else 0,
            "ItemPrice": money(ln["unit_price_minor"][p] * ln["quantity"][p], cur),
            "ShippingPrice": money(o["post_fee_minor"][j] if k == 0 else 0, cur),
            "ItemTax": money(0, cur), "PromotionDiscount": money(ln["discount_minor"][p], cur),
            "ShippingDiscount": money(0, cur), "PromotionIds": ["SANDBOX-PROMO"] if ln["discount_minor"][p] else [],
            "IsGift": "false", "ConditionId": "New", "ConditionSubtypeId": "New", "IsTransparency": False,
            "SerialNumberRequired": False,
        })
    return {"AmazonOrderId": o["order_id"][j], "OrderItems": items}


def _token(payload: dict) -> str:
    return base64.b64encode(orjson.dumps(payload)).decode()


def _untoken(text: str) -> dict:
    return orjson.loads(base64.b64decode(text))


def _parse(text: str) -> int:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return int(value.timestamp())


class AmazonAPI(PlatformAPI):
    platform = "amazon"

    def routes(self) -> list[Route]:
        return [Route("/auth/o2/token", self.endpoint(self.lwa_token), methods=["POST"]),
                Route("/orders/v0/orders", self.endpoint(self.get_orders)),
                Route("/orders/v0/orders/{order_id}", self.endpoint(self.get_order)),
                Route("/orders/v0/orders/{order_id}/orderItems", self.endpoint(self.get_items)),
                Route("/orders/v0/orders/{order_id}/shipmentConfirmation", self.endpoint(self.confirm_shipment),
                      methods=["POST"]),
                Route(f"/listings/{LISTINGS_VERSION}/items/{{seller_id}}/{{sku:path}}",
                      self.endpoint(self.listings_item), methods=["GET", "PATCH"])]

    @staticmethod
    def error(status: int, code: str, message: str) -> Response:
        return json_response({"errors": [{"code": code, "message": message, "details": ""}]}, status=status)

    def throttled(self, retry_after_s: int) -> Response:
        return json_response({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the "
                                          "requested resource.", "details": ""}]}, status=429,
                             headers={"Retry-After": str(retry_after_s), "x-amzn-RateLimit-Limit": "0.0167"})

    def _shop(self, request: Request):
        token = request.headers.get("x-amz-access-token")
        shop = self.state.shop_by_token("amazon", token)
        if shop is None:
            if self.state.token_expired(token):
                return None, self.error(403, "Unauthorized", "The access token you provided has expired.")
            return None, self.error(403, "Unauthorized", "Access to requested resource is denied.")
        return shop, None

    async def lwa_token(self, request: Request, duplicate: bool) -> Response:
        """Login with Amazon's token endpoint (``connectors.amazon.LWA_TOKEN_URL``): a form with
        ``grant_type=refresh_token``, ``refresh_token``, ``client_id``, ``client_secret`` → an access
        token for ``/_sandbox/tokens``' lifetime (3600 s by default); RFC 6749 errors otherwise."""
        params = await request_params(request)

        def refused(status: int, error: str, description: str) -> Response:
            return json_response({"error_description": description, "error": error}, status=status)

        if params.get("grant_type") != "refresh_token" or not params.get("refresh_token"):
            return refused(400, "invalid_request", "The request is missing a required parameter : grant_type "
                                                   "or refresh_token")
        shop = self.state.shop_by_app_key("amazon", params.get("client_id"))
        if shop is None or params.get("client_secret") != self.state.secret(shop):
            return refused(401, "invalid_client", "Client authentication failed")
        if not self.state.refresh_token_ok(shop, params["refresh_token"]):
            return refused(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
        token, lifetime, refresh = self.state.issue_token(shop)
        return json_response({"access_token": token, "refresh_token": refresh, "token_type": "bearer",
                              "expires_in": lifetime})

    async def get_orders(self, request: Request, duplicate: bool) -> Response:
        shop, denied = self._shop(request)
        if denied:
            return denied
        params = request.query_params
        missing = missing_parameters(dict(params))
        if missing:
            return self.error(400, "InvalidInput", f"Missing required parameter: {', '.join(missing)}")
        if wire.MARKETPLACE_ID_US not in params.get("MarketplaceIds", "").split(","):
            return self.error(400, "InvalidInput", f"MarketplaceIds must include {wire.MARKETPLACE_ID_US}")
        try:
            size = int(params.get("MaxResultsPerPage", MAX_RESULTS))
        except ValueError:
            return self.error(400, "InvalidInput", "MaxResultsPerPage must be an integer")
        if not 1 <= size <= MAX_RESULTS:
            return self.error(400, "InvalidInput", f"MaxResultsPerPage must be between 1 and {MAX_RESULTS}")
        if "NextToken" in params:
            try:
                token = _untoken(params["NextToken"])
                low, high, offset = token["after"], token["before"], token["offset"]
            except (ValueError, KeyError, TypeError):
                return self.error(400, "InvalidInput", "Invalid NextToken")
        else:
            if "LastUpdatedAfter" not in params:
                return self.error(400, "InvalidInput", "LastUpdatedAfter is required (the sandbox does not serve CreatedAfter)")
            try:
                low = _parse(params["LastUpdatedAfter"])
                high = _parse(params["LastUpdatedBefore"]) if "LastUpdatedBefore" in params else None
            except ValueError:
                return self.error(400, "InvalidInput", "LastUpdatedAfter/LastUpdatedBefore must be ISO 8601")
            latest = int(self.state.wall_now()) - BEFORE_LAG_S
            if high is not None and high > latest:
                return self.error(400, "InvalidInput", "LastUpdatedBefore must be no later than 2 minutes before now")
            high = min(high if high is not None else latest, NEVER - 1)
            offset = 0
        window = self.state.window(shop.id, low, high, newest_first=False)
        orders = page_of_window(self.state, shop, window, offset, size, duplicate, render_order, "order")
        payload: dict = {"Orders": orders, "LastUpdatedBefore": iso_utc(min(high, self.state.now_s()))}
        if offset + size < len(window[0]):
            payload["NextToken"] = _token({"after": low, "before": high, "offset": offset + size})
        return json_response({"payload": payload})

    def _order(self, request: Request):
        shop, denied = self._shop(request)
        if denied:
            return None, None, denied
        i = order_index(self.state, shop, request.path_params["order_id"])
        if i is None:
            return None, None, self.error(404, "NotFound", f"Order {request.path_params['order_id']} not found")
        return shop, i, None

    async def get_order(self, request: Request, duplicate: bool) -> Response:
        shop, i, problem = self._order(request)
        if problem:
            return problem
        return json_response({"payload": single_order(self.state, shop, i, render_order, "order")})

    async def get_items(self, request: Request, duplicate: bool) -> Response:
        shop, i, problem = self._order(request)
        if problem:
            return problem
        return json_response({"payload": single_order(self.state, shop, i, render_items, "items")})

    # --- writes ---------------------------------------------------------------------------

    def _current(self, shop, i: int, render, variant: str) -> dict:
        """Order ``i`` as the read calls show it now (same rendering cache), as a dict."""
        idx = np.array([i])
        modified = self.state.world.orders[shop.id].modified_as_of(idx, self.state.now_s())
        return orjson.loads(rendered_orders(self.state, shop, idx, modified, render, variant)[0])

    async def confirm_shipment(self, request: Request, duplicate: bool) -> Response:
        shop, i, problem = self._order(request)
        if problem:
            return problem
        order_id = request.path_params["order_id"]
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return self.error(400, "InvalidInput", "The request body is not valid JSON")
        if not isinstance(body, dict) or body.get("marketplaceId") != wire.MARKETPLACE_ID_US:
            return self.error(400, "InvalidInput", f"marketplaceId must be {wire.MARKETPLACE_ID_US}")
        package = body.get("packageDetail")
        if not isinstance(package, dict):
            return self.error(400, "InvalidInput", "packageDetail is required")
        missing = [k for k in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
                   if not package.get(k)]
        if missing:
            return self.error(400, "InvalidInput", f"packageDetail.{missing[0]} is required")
        try:
            _parse(str(package["shipDate"]))
        except ValueError:
            return self.error(400, "InvalidInput", "packageDetail.shipDate must be ISO 8601")
        order = self._current(shop, i, render_order, "order")
        if order["OrderStatus"] in UNSHIPPABLE:
            return self.error(400, "InvalidInput", f"Order {order_id} is {order['OrderStatus']} and cannot be shipped")
        items = self._current(shop, i, render_items, "items")["OrderItems"]
        ordered = {item["OrderItemId"]: item["QuantityOrdered"] for item in items}
        entries = package["orderItems"]
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return self.error(400, "InvalidInput", "packageDetail.orderItems must be a list of {orderItemId, quantity}")
        for entry in entries:
            item_id = entry.get("orderItemId")
            if not isinstance(item_id, str) or item_id not in ordered:
                return self.error(400, "InvalidInput", f"orderItemId {item_id!r} is not an item of order {order_id}")
            quantity = entry.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= ordered[item_id]:
                return self.error(400, "InvalidInput",
                                  f"quantity of orderItemId {item_id} must be between 1 and {ordered[item_id]}")
        record_shipment(self.state, shop, order_id, str(package["carrierCode"]), str(package["trackingNumber"]))
        return Response(status_code=204)

    async def listings_item(self, request: Request, duplicate: bool) -> Response:
        shop, denied = self._shop(request)
        if denied:
            return denied
        if request.path_params["seller_id"] != seller_id(shop.id):
            return self.error(403, "Unauthorized", "Access to requested resource is denied: the seller id is not "
                                                   "the one this access token was issued for.")
        if wire.MARKETPLACE_ID_US not in request.query_params.get("marketplaceIds", "").split(","):
            return self.error(400, "InvalidInput", f"marketplaceIds must include {wire.MARKETPLACE_ID_US}")
        sku = request.path_params["sku"]
        listings = Listings.of(self.state, "amazon")
        if sku not in listings.ids_by_sku:
            return self.error(404, "NOT_FOUND", f"SKU '{sku}' not found in marketplace {wire.MARKETPLACE_ID_US}")
        if request.method == "PATCH":
            return await self._patch_listing(request, shop, sku)
        included = set(filter(None, request.query_params.get("includedData", "summaries").split(",")))
        payload: dict = {"sku": sku}
        if "summaries" in included:
            name, variant = listings.title_by_sku[sku]
            payload["summaries"] = [{
                "marketplaceId": wire.MARKETPLACE_ID_US, "asin": self._asin(sku), "productType": "PRODUCT",
                "conditionType": "new_new", "status": ["BUYABLE", "DISCOVERABLE"], "itemName": f"{name} {variant}",
                "createdDate": iso_utc(int(self.state.world.scenario.start.timestamp())),
                "lastUpdatedDate": iso_utc(self.state.now_s())}]
        if "fulfillmentAvailability" in included:
            payload["fulfillmentAvailability"] = [{"fulfillmentChannelCode": "DEFAULT",
                                                   "quantity": self.state.stock[(shop.id, sku)]}]
        return json_response(payload)

    def _asin(self, sku: str) -> str:
        """The SKU's ASIN, as getOrderItems shows it."""
        asins = getattr(self, "_asins", None)
        if asins is None:
            world = self.state.world
            asins = self._asins = dict(zip(world.catalogue["sku"], world.listing_id_tables["amazon"][0]))
        return str(asins[sku])

    async def _patch_listing(self, request: Request, shop, sku: str) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return self.error(400, "InvalidInput", "The request body is not valid JSON")
        if not isinstance(body, dict) or not body.get("productType"):
            return self.error(400, "InvalidInput", "productType is required")
        patches = body.get("patches")
        if not isinstance(patches, list) or not patches:
            return self.error(400, "InvalidInput", "patches must be a non-empty list")
        quantity = None
        for patch in patches:
            if not isinstance(patch, dict) or patch.get("op") not in ("add", "replace", "delete"):
                return self.error(400, "InvalidInput", "each patch needs op add, replace or delete")
            if patch.get("path") != FULFILLMENT_PATH:
                continue   # other attributes are accepted and not modelled
            values = patch.get("value")
            entry = values[0] if isinstance(values, list) and values and isinstance(values[0], dict) else {}
            quantity = entry.get("quantity")
            if entry.get("fulfillment_channel_code") != "DEFAULT" or not isinstance(quantity, int) \
                    or isinstance(quantity, bool) or quantity < 0:
                return self.error(400, "InvalidInput", f"{FULFILLMENT_PATH} needs [{{\"fulfillment_channel_code\": "
                                                      f"\"DEFAULT\", \"quantity\": n ≥ 0}}]")
        if quantity is not None:
            set_stock(self.state, shop, sku, quantity, incremental=False)
        return json_response({"sku": sku, "status": "ACCEPTED", "submissionId": uuid.uuid4().hex, "issues": []})
