"""Shopify REST Admin connector (``{base}/admin/api/{version}/…``; base ends in the shop).

Paging is by cursor: the ``Link`` header's ``rel="next"`` URL carries ``page_info``; later
requests may send only ``page_info``, ``limit`` and ``fields`` (Shopify rejects any other
filter next to a cursor), and the first always sends ``status=any`` (the default,
``open``, silently leaves out closed and cancelled orders).

Options: ``api_version`` (default :data:`API_VERSION`), ``fields`` (comma list; default the
fields this product reads, :data:`DOCUMENTED`), ``location_id`` (the inventory location
stock writes and reads use).

API version (issue 18 #9): Shopify releases a version each quarter and supports each for at
least 12 months; a request to a version out of support is served by the oldest supported one
("falls forward"), and the reply's ``X-Shopify-API-Version`` header names the version that
answered (https://shopify.dev/docs/api/usage/versioning). The default is 2026-10 (the REST
Order resource is documented for it: https://shopify.dev/docs/api/admin-rest/2026-10/resources/order,
supported until at least 2027-10-01): set ``api_version`` in the shop's connector options to
move on. A reply served by another version than the one asked for is logged as a warning.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from connectors.base import AuthError, Connector, Page, PlatformError, PushResult, ShipmentResult
from connectors.contract import Documented
from domain.timeutil import parse_iso
from domain.windows import Window

#: the Admin API version asked for unless the shop's options say otherwise (see the module doc)
API_VERSION = "2026-10"

#: List orders, as Shopify documents it (REST Admin API, Order resource, "Retrieves a list of
#: orders": https://shopify.dev/docs/api/admin-rest/2026-10/resources/order#get-orders).
#: ``status`` defaults to ``open`` (closed and cancelled orders left out), so ``status=any`` is
#: required here, and so are the window's start ``updated_at_min`` (an incremental pull never
#: reads the whole history) and ``limit`` (the default is 50; ≤ 250);
#: ``fields`` limits the reply to the listed fields (Shopify returns only those). Later pages
#: carry ``page_info`` (with only ``limit`` and ``fields``). The requested fields are every
#: field ``domain.normalise.shopify`` and this connector read: nothing else (billing address,
#: client IP …) is fetched at all.
DOCUMENTED = Documented(
    method="GET /admin/api/{version}/orders.json",
    source="https://shopify.dev/docs/api/admin-rest/2026-10/resources/order#get-orders",
    required=("status", "updated_at_min", "limit"),
    requested_fields=(
        "id", "created_at", "updated_at", "processed_at", "closed_at", "cancelled_at", "currency",
        "financial_status", "fulfillment_status", "taxes_included", "total_price", "current_total_price",
        "total_tax", "current_total_tax", "total_discounts", "current_total_discounts", "email", "customer",
        "note", "shipping_address", "shipping_lines", "line_items", "fulfillments", "refunds",
    ),
    fields_parameter="fields",
    field_types={"id": "int64", "total_price": "money-str", "current_total_price": "money-str",
                 "line_items.id": "int64", "line_items.price": "money-str", "updated_at": "iso8601-offset"},
)
#: later pages: the cursor, and only ``limit`` and ``fields`` beside it
LATER_PAGE_PARAMS = ("page_info", "limit", "fields")

#: one RFC 8288 link-value: ``<URI>`` then its ``; name=value`` parameters (a value may be a
#: quoted string). The URI may hold raw commas (Shopify's ``fields=id,updated_at``), so the
#: header is read entry by entry, never split on commas (issue 18 #3).
_LINK_VALUE = re.compile(r'\s*<([^>]*)>((?:\s*;\s*[^\s;,=]+(?:\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s;,]*))?)*)\s*(?:,|$)')
_LINK_PARAM = re.compile(r';\s*([^\s;,=]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;,]*))?')


def link_entries(link_header: str | None) -> list[tuple[str, dict[str, str]]]:
    """The entries of a ``Link`` header (RFC 8288 §3): ``(URI, {param: value})``, parameter
    names lower case, quoted values unquoted."""
    entries, pos, text = [], 0, link_header or ""
    while pos < len(text):
        match = _LINK_VALUE.match(text, pos)
        if not match or match.end() == pos:
            break
        params = {name.lower(): value[1:-1] if value.startswith('"') else value
                  for name, value in _LINK_PARAM.findall(match.group(2))}
        entries.append((match.group(1), params))
        pos = match.end()
    return entries


def next_page_info(link_header: str | None) -> str | None:
    """The ``page_info`` cursor of the ``rel="next"`` link, if there is a next page."""
    for url, params in link_entries(link_header):
        if "next" in params.get("rel", "").lower().split():
            values = parse_qs(urlsplit(url).query).get("page_info")
            return values[0] if values else None
    return None


def check_shopify_body(status: int, body: Any) -> None:
    if status < 400 or not isinstance(body, dict):
        return
    errors = body.get("errors") or body.get("error")
    if status in (401, 403):
        raise AuthError(f"Shopify HTTP {status}: {errors} — the admin access token is invalid or lacks the "
                        "read_orders / write_inventory / write_fulfillments scope")
    raise PlatformError(f"Shopify HTTP {status}: {errors}", code=str(status))


class ShopifyConnector(Connector):
    platform = "shopify"
    DEFAULTS = dict(page_size=250, max_window=timedelta(days=7), safety_lag=timedelta(minutes=1),
                    throttle_rate_per_s=2.0, throttle_burst=40)

    @staticmethod
    def order_key(record: dict) -> str:
        return str(record["id"])

    @staticmethod
    def order_modified(record: dict) -> object:
        return parse_iso(record.get("updated_at"))

    def _api_version(self) -> str:
        return str(self.settings.option("api_version") or API_VERSION)

    def _url(self, path: str) -> str:
        return f"{self.settings.base_url}/admin/api/{self._api_version()}/{path}"

    def _get(self, path: str, params: dict, what: str):
        reply = self.http.call("GET", self._url(path), params=params, check=check_shopify_body, what=what,
                               headers={"X-Shopify-Access-Token": self.credentials.access_token,
                                        "Accept": "application/json"})
        served = (reply.headers or {}).get("X-Shopify-API-Version")
        if served and served != self._api_version():
            self.log.warning("Shopify answered %s with API version %s, not %s as asked: version %s is out of "
                             "support; set the shop's connector option api_version to a supported one",
                             what, served, self._api_version(), self._api_version())
        return reply

    def _send(self, method: str, path: str, payload: dict, what: str):
        return self.http.call(method, self._url(path), json_body=payload, check=check_shopify_body, what=what,
                              headers={"X-Shopify-Access-Token": self.credentials.access_token})

    def _pages(self, window: Window) -> Iterator[Page]:
        fields = self.settings.option("fields") or DOCUMENTED.fields_value()
        params: dict[str, Any] = {
            "status": "any", "updated_at_min": window.start.isoformat(),
            "updated_at_max": window.end.isoformat(), "limit": self.settings.page_size, "order": "updated_at asc",
            DOCUMENTED.fields_parameter: fields,
        }
        page_no, cursors = 1, set()
        while True:
            reply = self._get("orders.json", params, what="orders.json")
            if not isinstance(reply.body, dict) or not isinstance(reply.body.get("orders"), list):
                raise self._unexpected("orders.json", '{"orders": […]}', reply.body, reply.raw)
            cursor = next_page_info(reply.headers.get("Link"))
            if not cursor:   # the count at the end of the read, with the same filter (completeness)
                yield self._page(window, page_no, reply.raw, reply.body["orders"], total=self._window_count(window))
                return
            yield self._page(window, page_no, reply.raw, reply.body["orders"])
            self._check_cursor("orders.json", cursor, cursors, page_no)
            params = {"page_info": cursor, "limit": self.settings.page_size, DOCUMENTED.fields_parameter: fields}
            page_no += 1

    def _window_count(self, window: Window) -> int:
        """``GET orders/count.json`` with the list's filter (``status=any``, ``updated_at_min/max``)
        → ``{"count": N}`` (Shopify REST Admin, Order resource, "Retrieves an order count")."""
        reply = self._get("orders/count.json", {"status": "any", "updated_at_min": window.start.isoformat(),
                                                "updated_at_max": window.end.isoformat()}, what="orders/count.json")
        if not isinstance(reply.body, dict) or not isinstance(reply.body.get("count"), int):
            raise self._unexpected("orders/count.json", '{"count": N}', reply.body, reply.raw)
        return reply.body["count"]

    # -- writes ------------------------------------------------------------------------------
    def _location_id(self) -> int:
        location = self.settings.option("location_id")
        if not location:
            raise PlatformError("Shopify stock calls need options.location_id (the inventory location); "
                                "set it in the shop's connector settings", platform=self.platform,
                                shop_id=self.shop_id)
        return int(location)

    def push_stock(self, item_id: str, sku_id: str, quantity: int) -> PushResult:
        """``sku_id`` = the variant's ``inventory_item_id`` (Shopify keeps stock per inventory
        item and location; ``item_id``, the product, is not needed)."""
        payload = {"location_id": self._location_id(), "inventory_item_id": int(sku_id), "available": int(quantity)}
        body = self._send("POST", "inventory_levels/set.json", payload, what="inventory_levels/set").body or {}
        return PushResult(reply=body, ok="inventory_level" in body)

    def read_stock(self, item_id: str, sku_id: str) -> int:
        body = self._get("inventory_levels.json", {"inventory_item_ids": sku_id, "location_ids": self._location_id()},
                         what="inventory_levels").body or {}
        for level in body.get("inventory_levels") or []:
            if str(level.get("inventory_item_id")) == str(sku_id):
                return int(level.get("available") or 0)
        raise PlatformError(f"Shopify has no inventory level for inventory item {sku_id} at location "
                            f"{self._location_id()}", platform=self.platform, shop_id=self.shop_id)

    def confirm_shipment(self, order_id: str, carrier: str, tracking_no: str) -> ShipmentResult:
        """``POST orders/{id}/fulfillments.json`` with the tracking number (the order-level
        fulfilment call; newer API versions route it through fulfillment orders [U])."""
        reply = self._send("POST", f"orders/{order_id}/fulfillments.json", {"fulfillment": {
            "tracking_number": tracking_no, "tracking_company": carrier, "notify_customer": True}},
            what="fulfillments").body or {}
        return ShipmentResult(reply=reply, ok="fulfillment" in reply)
