"""Amazon SP-API Orders v0 connector (``GET {base}/orders/v0/orders`` + ``/orderItems``).

``getOrders`` pages with ``NextToken``, which replaces every filter (only
``MarketplaceIds`` is sent with it); each order's items come from a second call with its
own, slower quota (0.5 req/s) and their own ``NextToken``. The items are stored in the
order record under ``"OrderItems"``. ``LastUpdatedBefore`` must be at least two minutes
in the past [V].

Options: ``marketplace_ids`` (list, default ``["ATVPDKIKX0DER"]``, amazon.com),
``items_rate_per_s`` (default 0.5), ``seller_id`` (stock writes via the Listings API).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from connectors.base import AuthError, Connector, Page, PlatformError, PushResult, ShipmentResult
from connectors.http import TokenBucket
from domain.timeutil import format_iso_utc, parse_iso
from domain.windows import Window

US_MARKETPLACE = "ATVPDKIKX0DER"


def check_amazon_body(status: int, body: Any) -> None:
    """SP-API errors: ``{"errors": [{"code", "message", "details"}]}`` with a 4xx status."""
    if status < 400 or not isinstance(body, dict):
        return
    errors = body.get("errors") or []
    detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or str(body)[:200]
    codes = {e.get("code") for e in errors}
    if status in (401, 403) or codes & {"Unauthorized", "InvalidSignature", "AccessDenied"}:
        raise AuthError(f"Amazon HTTP {status} {detail} — refresh the LWA access token or check the app's roles")
    raise PlatformError(f"Amazon HTTP {status} {detail} — fix the request parameters named above",
                        code=next(iter(codes), str(status)))


class AmazonConnector(Connector):
    platform = "amazon"
    DEFAULTS = dict(page_size=100, max_window=timedelta(days=1), safety_lag=timedelta(minutes=2),
                    throttle_rate_per_s=0.0167, throttle_burst=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.items_bucket = TokenBucket(self.settings.option("items_rate_per_s", 0.5), 30, self.http.sleep)

    @staticmethod
    def order_key(record: dict) -> str:
        return str(record["AmazonOrderId"])

    @staticmethod
    def order_modified(record: dict) -> object:
        return parse_iso(record.get("LastUpdateDate"))

    def _headers(self) -> dict[str, str]:
        return {"x-amz-access-token": self.credentials.access_token, "Accept": "application/json"}

    def _get(self, path: str, params: dict, what: str, bucket: TokenBucket | None = None):
        return self.http.call("GET", f"{self.settings.base_url}{path}", params=params, headers=self._headers(),
                              check=check_amazon_body, what=what, bucket=bucket)

    def _marketplaces(self) -> str:
        return ",".join(self.settings.option("marketplace_ids", [US_MARKETPLACE]))

    def _pages(self, window: Window) -> Iterator[Page]:
        params = {"MarketplaceIds": self._marketplaces(), "LastUpdatedAfter": format_iso_utc(window.start),
                  "LastUpdatedBefore": format_iso_utc(window.end), "MaxResultsPerPage": self.settings.page_size}
        page_no = 1
        while True:
            reply = self._get("/orders/v0/orders", params, what="getOrders")
            payload = (reply.body or {}).get("payload") or {}
            orders = payload.get("Orders") or []
            related = []
            for order in orders:
                order["OrderItems"], bodies = self._order_items(str(order["AmazonOrderId"]))
                related.extend(bodies)
            yield self._page(window, page_no, reply.raw, orders, related)
            token = payload.get("NextToken")
            if not token:
                return
            params = {"MarketplaceIds": self._marketplaces(), "NextToken": token}
            page_no += 1

    def _order_items(self, order_id: str) -> tuple[list[dict], list[bytes]]:
        items, bodies, params = [], [], {}
        while True:
            reply = self._get(f"/orders/v0/orders/{order_id}/orderItems", params, what=f"getOrderItems {order_id}",
                              bucket=self.items_bucket)
            payload = (reply.body or {}).get("payload") or {}
            items.extend(payload.get("OrderItems") or [])
            bodies.append(reply.raw)
            if not payload.get("NextToken"):
                return items, bodies
            params = {"NextToken": payload["NextToken"]}

    # -- writes (Listings Items API / confirmShipment) ----------------------------------------
    def _seller_id(self) -> str:
        seller = self.settings.option("seller_id") or self.credentials.extras.get("seller_id")
        if not seller:
            raise PlatformError("Amazon stock calls need the seller id (options.seller_id)",
                                platform=self.platform, shop_id=self.shop_id)
        return seller

    def push_stock(self, item_id: str, sku_id: str, quantity: int) -> PushResult:
        """``sku_id`` = the seller SKU; sets merchant-fulfilled quantity."""
        patch = {"productType": "PRODUCT", "patches": [{
            "op": "replace", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": int(quantity)}]}]}
        reply = self.http.call("PATCH", f"{self.settings.base_url}/listings/2021-08-01/items/{self._seller_id()}/{sku_id}",
                               params={"marketplaceIds": self._marketplaces()}, json_body=patch,
                               headers=self._headers(), check=check_amazon_body, what="patchListingsItem")
        body = reply.body or {}
        return PushResult(reply=body, ok=body.get("status") == "ACCEPTED")

    def read_stock(self, item_id: str, sku_id: str) -> int:
        body = self._get(f"/listings/2021-08-01/items/{self._seller_id()}/{sku_id}",
                         {"marketplaceIds": self._marketplaces(), "includedData": "fulfillmentAvailability"},
                         what="getListingsItem").body or {}
        availability = body.get("fulfillmentAvailability") or []
        return int(availability[0].get("quantity") or 0) if availability else 0

    def confirm_shipment(self, order_id: str, carrier: str, tracking_no: str) -> ShipmentResult:
        items, _ = self._order_items(order_id)
        payload = {"marketplaceId": self._marketplaces().split(",")[0], "packageDetail": {
            "packageReferenceId": "1", "carrierCode": carrier, "trackingNumber": tracking_no,
            "shipDate": format_iso_utc(self.clock()),
            "orderItems": [{"orderItemId": i["OrderItemId"], "quantity": int(i.get("QuantityOrdered") or 0)}
                           for i in items]}}
        reply = self.http.call("POST", f"{self.settings.base_url}/orders/v0/orders/{order_id}/shipmentConfirmation",
                               json_body=payload, headers=self._headers(), check=check_amazon_body,
                               what="confirmShipment")
        return ShipmentResult(reply=reply.body or {}, ok=reply.status < 300)
