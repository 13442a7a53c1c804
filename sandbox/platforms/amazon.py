"""Amazon Selling Partner API, Orders v0: ``/amazon/orders/v0/orders`` and ``…/{id}/orderItems``.

Auth header ``x-amz-access-token`` (403 ``Unauthorized`` otherwise). ``getOrders`` needs
``MarketplaceIds`` (``ATVPDKIKX0DER``) and ``LastUpdatedAfter``; ``LastUpdatedBefore`` must be
at least 2 minutes before the server's wall clock; ``MaxResultsPerPage`` ≤ 100; a
``NextToken`` overrides every filter. Orders come oldest-updated first; money is
``{"CurrencyCode","Amount":"11.01"}``; times ISO 8601 UTC; items come from the second call
(``ItemPrice`` is the line's price × quantity, ``PromotionDiscount`` its discount, the
order's shipping charge sits on the first item's ``ShippingPrice``). Errors are
``{"errors":[{"code","message","details"}]}``: 400 ``InvalidInput``, 404 ``NotFound``,
429 ``QuotaExceeded`` with ``Retry-After``.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import wire
from sandbox.generator import NEVER, buyer_email
from sandbox.platforms.common import (
    PageView, PlatformAPI, decimal_string, iso_utc, json_response, order_index, page_of_window, single_order,
)

MAX_RESULTS = 100
BEFORE_LAG_S = 120


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
        return [Route("/orders/v0/orders", self.endpoint(self.get_orders)),
                Route("/orders/v0/orders/{order_id}", self.endpoint(self.get_order)),
                Route("/orders/v0/orders/{order_id}/orderItems", self.endpoint(self.get_items))]

    @staticmethod
    def error(status: int, code: str, message: str) -> Response:
        return json_response({"errors": [{"code": code, "message": message, "details": ""}]}, status=status)

    def throttled(self, retry_after_s: int) -> Response:
        return json_response({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the "
                                          "requested resource.", "details": ""}]}, status=429,
                             headers={"Retry-After": str(retry_after_s), "x-amzn-RateLimit-Limit": "0.0167"})

    def _shop(self, request: Request):
        shop = self.state.shop_by_token("amazon", request.headers.get("x-amz-access-token"))
        if shop is None:
            return None, self.error(403, "Unauthorized", "Access to requested resource is denied.")
        return shop, None

    async def get_orders(self, request: Request, duplicate: bool) -> Response:
        shop, denied = self._shop(request)
        if denied:
            return denied
        params = request.query_params
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
