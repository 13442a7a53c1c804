"""Amazon SP-API Orders v0 connector (``GET {base}/orders/v0/orders`` + ``/orderItems``).

``getOrders`` pages with ``NextToken``; the follow-up request repeats ``MarketplaceIds`` and
``LastUpdatedAfter`` beside the token, as Amazon's own sandbox cases for the operation do
(``TEST_CASE_200_NEXT_TOKEN``: ``CreatedAfter`` + ``MarketplaceIds`` + ``NextToken``), since a
getOrders request without ``CreatedAfter`` or ``LastUpdatedAfter`` is refused (issue 18 #8,
:data:`DOCUMENTED`); each order's items come from a second call with its
own, slower quota (0.5 req/s) and their own ``NextToken``. The items are stored in the
order record under ``"OrderItems"``. ``LastUpdatedBefore`` must be at least two minutes
in the past [V].

Authorisation (issue 18, "Tokens"): every call carries an LWA access token in
``x-amz-access-token``. With an LWA refresh token in the credentials (``refresh_token``; the
app's LWA client id and secret as ``app_key``/``app_secret``) the connector gets the access token
itself from LWA (:data:`LWA_TOKEN_URL`, option ``lwa_token_url``) before the first call and again
``lwa_refresh_margin_s`` (default 60) before it ends (LWA gives it for 3600 s), and once more if a
call is refused for its token; without one, ``access_token`` is sent as given.

Options: ``marketplace_ids`` (list, default ``["ATVPDKIKX0DER"]``, amazon.com),
``items_rate_per_s`` (default 0.5), ``seller_id`` (stock writes via the Listings API),
``product_type`` (the ``productType`` sent with stock patches, default ``PRODUCT``).

Writes:

- ``push_stock`` / ``read_stock``: Listings Items API 2021-08-01,
  ``PATCH|GET {base}/listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=…``. The
  listing is keyed by the **seller SKU** (pass it as ``sku_id``; ``item_id``, the ASIN, is
  not used); the quantity is the merchant-fulfilled one (``fulfillment_availability``,
  channel ``DEFAULT``). The seller id (the selling partner's merchant token, "A…") comes
  from the option ``seller_id`` or else ``Credentials.extras["seller_id"]``; without it the
  stock calls raise ``PlatformError`` before sending anything. A PATCH succeeds when the
  reply's ``status`` is ``ACCEPTED``; any other status (``INVALID``) is ``ok=False`` with
  the reply (its ``issues``) kept in ``PushResult.reply``.
- ``confirm_shipment``: Orders v0 ``POST {base}/orders/v0/orders/{orderId}/shipmentConfirmation``
  with one package holding every item of the order (from ``getOrderItems``) at its ordered
  quantity (items ordered 0 times left out); ``carrier`` goes in ``carrierCode``. Amazon answers **204 with no body** on
  success. An unknown order is a 404 and raises ``PlatformError`` (code ``NotFound``).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from connectors.base import (AuthError, Connector, Credentials, Page, PlatformError, PushResult, ShipmentResult,
                             TokenExpiredError, renewed)
from connectors.contract import Documented
from connectors.http import TokenBucket
from domain.timeutil import format_iso_utc, parse_iso
from domain.windows import Window

US_MARKETPLACE = "ATVPDKIKX0DER"

#: getOrders as Amazon documents it (selling-partner-api-models, models/orders-api-model/
#: ordersV0.json, operation getOrders: ``MarketplaceIds`` "required: true"; "Either the
#: CreatedAfter parameter or the LastUpdatedAfter parameter is required"). Money is
#: ``{"CurrencyCode", "Amount": "<decimal string>"}``; ``AmazonOrderId`` is a string
#: ("902-3159896-1390916"); ``IsGift`` and other flags may be JSON booleans or the strings
#: "true"/"false". Amazon returns every field (no fields parameter).
DOCUMENTED = Documented(
    method="GET /orders/v0/orders (getOrders)",
    source="https://github.com/amzn/selling-partner-api-models/blob/main/models/orders-api-model/ordersV0.json",
    required=("MarketplaceIds",),
    field_types={"AmazonOrderId": "str", "OrderTotal": "money-object", "LastUpdateDate": "iso8601-utc",
                 "IsGift": "bool-or-str"},
)
#: Login with Amazon's token endpoint: ``POST`` form ``grant_type=refresh_token``, ``refresh_token``,
#: ``client_id``, ``client_secret`` → ``{"access_token", "token_type": "bearer", "expires_in": 3600,
#: "refresh_token"}``; refused with HTTP 400/401 ``{"error": "invalid_grant" | "invalid_client" …,
#: "error_description"}`` (RFC 6749 §5.2). Source: SP-API docs "Connecting to the Selling Partner API",
#: step 1 (developer-docs.amazon.com), and Login with Amazon "Access tokens" (developer.amazon.com).
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"

#: one of these is required as well (the window's start, by creation or by last update)
REQUIRED_ONE_OF = ("CreatedAfter", "LastUpdatedAfter")


def missing_parameters(params: dict) -> list[str]:
    """What Amazon refuses a getOrders request for lacking (empty when it is complete)."""
    missing = DOCUMENTED.missing(params)
    if not any(params.get(name) for name in REQUIRED_ONE_OF):
        missing.append(" or ".join(REQUIRED_ONE_OF))
    return missing


def check_lwa_body(status: int, body: Any) -> None:
    """LWA refuses with HTTP 400/401 ``{"error", "error_description"}``."""
    if status >= 400 and isinstance(body, dict) and body.get("error"):
        raise AuthError(f"LWA HTTP {status} {body.get('error')}: {body.get('error_description') or ''}".strip())


def check_amazon_body(status: int, body: Any) -> None:
    """SP-API errors: ``{"errors": [{"code", "message", "details"}]}`` with a 4xx status."""
    if status < 400 or not isinstance(body, dict):
        return
    errors = body.get("errors") or []
    detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or str(body)[:200]
    codes = {e.get("code") for e in errors}
    if status in (401, 403) or codes & {"Unauthorized", "InvalidSignature", "AccessDenied"}:
        # "The access token you provided has expired." / "… is revoked, malformed or invalid.": a
        # new LWA access token cures it; "Access to requested resource is denied." does not
        token = "access token" in detail.lower()
        raise (TokenExpiredError if token else AuthError)(
            f"Amazon HTTP {status} {detail} — refresh the LWA access token or check the app's roles")
    code = next((e.get("code") for e in errors if e.get("code")), str(status))
    if status == 404:
        raise PlatformError(f"Amazon HTTP 404 {detail} — no such order or listing for this seller and marketplace",
                            code=code)
    raise PlatformError(f"Amazon HTTP {status} {detail} — fix the request parameters named above", code=code)


class AmazonConnector(Connector):
    platform = "amazon"
    #: window_deadline_s: at getOrders' 1 call a minute and getOrderItems' 0.5 a second, a busy
    #: day takes hours by quota alone
    DEFAULTS = dict(page_size=100, max_window=timedelta(days=1), safety_lag=timedelta(minutes=2),
                    throttle_rate_per_s=0.0167, throttle_burst=20, window_deadline_s=8 * 3600.0)
    REFRESHABLE = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.items_bucket = TokenBucket(self.settings.option("items_rate_per_s", 0.5), 30, self.http.sleep)
        self.lwa_bucket = TokenBucket(1.0, 5, self.http.sleep)   # LWA is not getOrders' quota

    @staticmethod
    def order_key(record: dict) -> str:
        return str(record["AmazonOrderId"])

    @staticmethod
    def order_modified(record: dict) -> object:
        return parse_iso(record.get("LastUpdateDate"))

    def _headers(self) -> dict[str, str]:
        margin = timedelta(seconds=float(self.settings.option("lwa_refresh_margin_s", 60)))
        if self.can_refresh() and (not self.credentials.access_token or self.token_expires_within(margin)):
            self.refresh_credentials("no LWA access token yet" if not self.credentials.access_token
                                     else "the LWA access token ends soon")
        return {"x-amz-access-token": self.credentials.access_token, "Accept": "application/json"}

    def _send(self, method: str, url: str, *, what: str, **kwargs: Any):
        """One SP-API call with a current LWA access token (renewed once if it is refused)."""
        return self._with_fresh_token(lambda: self.http.call(method, url, headers=self._headers(),
                                                             check=check_amazon_body, what=what, **kwargs))

    def _get(self, path: str, params: dict, what: str, bucket: TokenBucket | None = None):
        return self._send("GET", f"{self.settings.base_url}{path}", params=params, what=what, bucket=bucket)

    def _refresh(self, now: datetime) -> Credentials:
        """A new access token from LWA (see :data:`LWA_TOKEN_URL`)."""
        creds = self.credentials
        reply = self.http.call("POST", self.settings.option("lwa_token_url", LWA_TOKEN_URL),
                               data={"grant_type": "refresh_token", "refresh_token": creds.refresh_token,
                                     "client_id": creds.app_key, "client_secret": creds.app_secret},
                               check=check_lwa_body, what="LWA token", bucket=self.lwa_bucket)
        body = reply.body if isinstance(reply.body, dict) else {}
        if not body.get("access_token") or not body.get("expires_in"):
            raise self._unexpected("LWA token", '{"access_token": …, "expires_in": 3600, …}', reply.body, reply.raw)
        return renewed(creds, now, str(body["access_token"]), float(body["expires_in"]),
                       refresh_token=body.get("refresh_token"))

    def _marketplaces(self) -> str:
        return ",".join(self.settings.option("marketplace_ids", [US_MARKETPLACE]))

    def _pages(self, window: Window) -> Iterator[Page]:
        params = {"MarketplaceIds": self._marketplaces(), "LastUpdatedAfter": format_iso_utc(window.start),
                  "LastUpdatedBefore": format_iso_utc(window.end), "MaxResultsPerPage": self.settings.page_size}
        page_no, tokens = 1, set()
        while True:
            reply = self._get("/orders/v0/orders", params, what="getOrders")
            payload = reply.body.get("payload") if isinstance(reply.body, dict) else None
            if not isinstance(payload, dict) or not isinstance(payload.get("Orders"), list):
                raise self._unexpected("getOrders", '{"payload": {"Orders": […]}}', reply.body, reply.raw)
            orders = payload["Orders"]
            related = []
            for order in orders:
                order["OrderItems"], bodies = self._order_items(str(order["AmazonOrderId"]))
                related.extend(bodies)
            yield self._page(window, page_no, reply.raw, orders, related)
            token = payload.get("NextToken")
            if not token:
                return
            self._check_cursor("getOrders", token, tokens, page_no)
            params = {"MarketplaceIds": self._marketplaces(), "LastUpdatedAfter": params["LastUpdatedAfter"],
                      "NextToken": token}
            page_no += 1

    def _order_items(self, order_id: str) -> tuple[list[dict], list[bytes]]:
        items, bodies, params, tokens = [], [], {}, set()
        while True:
            what = f"getOrderItems {order_id}"
            reply = self._get(f"/orders/v0/orders/{order_id}/orderItems", params, what=what, bucket=self.items_bucket)
            payload = reply.body.get("payload") if isinstance(reply.body, dict) else None
            if not isinstance(payload, dict) or not isinstance(payload.get("OrderItems"), list):
                raise self._unexpected(what, '{"payload": {"OrderItems": […]}}', reply.body, reply.raw)
            items.extend(payload["OrderItems"])
            bodies.append(reply.raw)
            if not payload.get("NextToken"):
                return items, bodies
            self._check_cursor(what, payload["NextToken"], tokens, len(bodies))
            params = {"NextToken": payload["NextToken"]}

    # -- writes (Listings Items API / confirmShipment) ----------------------------------------
    LISTINGS_PATH = "/listings/2021-08-01/items"

    def _seller_id(self) -> str:
        seller = self.settings.option("seller_id") or self.credentials.extras.get("seller_id")
        if not seller:
            raise PlatformError("Amazon stock calls need the seller id: set the connector option seller_id or "
                                "the credentials' extras.seller_id", platform=self.platform, shop_id=self.shop_id)
        return str(seller)

    def _listing_url(self, sku_id: str) -> str:
        if not sku_id:
            raise PlatformError("Amazon listings are keyed by the seller SKU: pass it as sku_id",
                                platform=self.platform, shop_id=self.shop_id)
        seller = quote(self._seller_id(), safe="")
        return f"{self.settings.base_url}{self.LISTINGS_PATH}/{seller}/{quote(sku_id, safe='')}"

    def push_stock(self, item_id: str, sku_id: str, quantity: int) -> PushResult:
        """``sku_id`` = the seller SKU; sets the merchant-fulfilled quantity (a full overwrite)."""
        patch = {"productType": self.settings.option("product_type", "PRODUCT"), "patches": [{
            "op": "replace", "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": int(quantity)}]}]}
        reply = self._send("PATCH", self._listing_url(sku_id), params={"marketplaceIds": self._marketplaces()},
                           json_body=patch, what=f"patchListingsItem {sku_id}")
        body = reply.body if isinstance(reply.body, dict) else {}
        return PushResult(reply=body, ok=body.get("status") == "ACCEPTED")

    def read_stock(self, item_id: str, sku_id: str) -> int:
        """The merchant-fulfilled (``DEFAULT`` channel) quantity of the seller SKU ``sku_id``."""
        body = self._send("GET", self._listing_url(sku_id),
                          params={"marketplaceIds": self._marketplaces(), "includedData": "fulfillmentAvailability"},
                          what=f"getListingsItem {sku_id}").body
        availability = (body or {}).get("fulfillmentAvailability") if isinstance(body, dict) else None
        for entry in availability or []:
            if entry.get("fulfillmentChannelCode") == "DEFAULT":
                return int(entry.get("quantity") or 0)
        raise PlatformError(f"Amazon listing {sku_id} has no merchant-fulfilled (DEFAULT) availability",
                            platform=self.platform, shop_id=self.shop_id)

    def confirm_shipment(self, order_id: str, carrier: str, tracking_no: str) -> ShipmentResult:
        """Every item of the order in one package; success is HTTP 204 (no body)."""
        items, _ = self._order_items(order_id)   # an unknown order fails here: 404 → PlatformError
        payload = {"marketplaceId": self._marketplaces().split(",")[0], "packageDetail": {
            "packageReferenceId": "1", "carrierCode": carrier, "trackingNumber": tracking_no,
            "shipDate": format_iso_utc(self.clock()),
            "orderItems": [{"orderItemId": str(i["OrderItemId"]), "quantity": int(i.get("QuantityOrdered") or 0)}
                           for i in items if int(i.get("QuantityOrdered") or 0) > 0]}}
        reply = self._send("POST", f"{self.settings.base_url}/orders/v0/orders/{quote(order_id, safe='')}"
                                   "/shipmentConfirmation", json_body=payload, what=f"confirmShipment {order_id}")
        return ShipmentResult(reply=reply.body if isinstance(reply.body, dict) else {}, ok=200 <= reply.status < 300)
