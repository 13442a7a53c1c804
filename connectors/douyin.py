"""Douyin shop (抖店) connector (``POST {base}/order/searchList`` and siblings).

System parameters (``app_key``, ``method``, ``access_token``, ``timestamp``, ``v``,
``sign``, ``sign_method``) go in the query string as the platform's SDKs send them; the
business parameters are the compact sorted JSON ``param_json``, sent as the body and
signed. Errors are ``err_no != 0`` [U: codes]; pages count from 0 and are read from the last
back to page 0 (``Connector._pages_backwards``: rows leaving the window cannot be skipped).
Options: ``sign_method`` (``md5`` default, or ``hmac-sha256``).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from connectors.base import (CLOCK_SKEW_ADVICE, AuthError, Connector, Page, PlatformError, PushResult,
                             ShipmentResult, ThrottledError, utc_now)
from connectors.http import stated_wait_seconds
from connectors.signing import compact_json, douyin_sign
from domain.timeutil import unix_seconds
from domain.windows import Window

SEARCH_METHOD = "order.searchList"
#: [U] Douyin err_no values: 30001 unknown app_key, 30002 bad token, 30005 bad sign,
#: 30007 bad timestamp, 90000/90001 rate limited
_AUTH_CODES = {30001, 30002, 30005}
_THROTTLE_CODES = {90000, 90001, 50002}
BAD_TIMESTAMP = 30007


def check_douyin_body(status: int, body: Any) -> None:
    if not isinstance(body, dict) or "err_no" not in body:
        return
    code = int(body.get("err_no") or 0)
    if code == 0:
        return
    detail = f"Douyin err_no {code} {body.get('message', '')} {body.get('sub_msg', '')}".strip()
    if code in _THROTTLE_CODES:
        raise ThrottledError(detail, retry_after_s=stated_wait_seconds(detail))
    if code in _AUTH_CODES:
        raise AuthError(f"{detail} — renew the shop's access_token or check app_secret / sign_method")
    if code == BAD_TIMESTAMP:
        raise PlatformError(f"{detail} — {CLOCK_SKEW_ADVICE}", code=str(code))
    raise PlatformError(f"{detail} — the request was refused", code=str(code))


class DouyinConnector(Connector):
    platform = "douyin"
    DEFAULTS = dict(page_size=100, max_window=timedelta(days=1), safety_lag=timedelta(minutes=1),
                    throttle_rate_per_s=10.0)

    @staticmethod
    def order_key(record: dict) -> str:
        return str(record["order_id"])

    @staticmethod
    def order_modified(record: dict) -> object:
        return int(record.get("update_time") or 0)

    def _call(self, method: str, business: dict) -> tuple[bytes, dict]:
        param_json = compact_json(business)
        timestamp = str(unix_seconds(utc_now()))  # replay check: wall clock
        sign_method = self.settings.option("sign_method", "md5")
        query = {
            "app_key": self.credentials.app_key, "method": method, "access_token": self.credentials.access_token,
            "timestamp": timestamp, "v": "2", "sign_method": sign_method,
            "sign": douyin_sign(self.credentials.app_key, method, param_json, timestamp,
                                self.credentials.app_secret, sign_method),
        }
        path = "/" + method.replace(".", "/")
        reply = self.http.call("POST", f"{self.settings.base_url}{path}", params=query,
                               data=param_json.encode(), headers={"Content-Type": "application/json"},
                               check=check_douyin_body, what=method)
        self._last_body = (reply.body, reply.raw)
        return reply.raw, (reply.body or {}).get("data") or {}

    def _search_page(self, window: Window, page_no: int) -> tuple[bytes, list[dict], int]:
        raw, data = self._call(SEARCH_METHOD, {
            "update_time_start": unix_seconds(window.start), "update_time_end": unix_seconds(window.end),
            "page": page_no, "size": self.settings.page_size, "order_by": "update_time", "order_asc": True,
        })
        body = self._last_body[0]
        if not (isinstance(body, dict) and "err_no" in body and isinstance(body.get("data"), dict) and "total" in data):
            raise self._unexpected(SEARCH_METHOD, '{"err_no": 0, "data": {"total": …, "shop_order_list": […]}}',
                                   *self._last_body)
        return raw, data.get("shop_order_list") or [], int(data.get("total") or 0)

    def _pages(self, window: Window) -> Iterator[Page]:
        return self._pages_backwards(window, lambda page_no: self._search_page(window, page_no), first_page=0)

    def _window_count(self, window: Window) -> int:
        return self._search_page(window, 0)[2]   # total

    # -- writes [P] --------------------------------------------------------------------------
    def push_stock(self, item_id: str, sku_id: str, quantity: int) -> PushResult:
        _, data = self._call("sku.syncStock", {"product_id": item_id, "sku_id": sku_id,
                                                "stock_num": int(quantity), "incremental": False})
        return PushResult(reply=data, ok=True)  # err_no != 0 has raised already

    def read_stock(self, item_id: str, sku_id: str) -> int:
        _, data = self._call("sku.stockNum", {"product_id": item_id, "sku_id": sku_id})
        try:
            return int(data["stock_num"])
        except (KeyError, TypeError, ValueError):
            raise PlatformError(f"stock of Douyin product {item_id} sku {sku_id} missing in reply {data!r:.200}",
                                platform=self.platform, shop_id=self.shop_id) from None

    def confirm_shipment(self, order_id: str, carrier: str, tracking_no: str) -> ShipmentResult:
        _, data = self._call("order.logisticsAdd", {"order_id": order_id, "company_code": carrier,
                                                     "logistics_code": tracking_no})
        return ShipmentResult(reply=data, ok=True)  # err_no != 0 has raised already
