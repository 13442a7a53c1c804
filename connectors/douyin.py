"""Douyin shop (抖店) connector (``POST {base}/order/searchList`` and siblings).

System parameters (``app_key``, ``method``, ``access_token``, ``timestamp``, ``v``,
``sign``, ``sign_method``) go in the query string as the platform's SDKs send them; the
business parameters are the compact sorted JSON ``param_json``, sent as the body and
signed. Pages count from 0 and are read from the last back to page 0
(``Connector._pages_backwards``: rows leaving the window cannot be skipped).
Options: ``sign_method`` (``md5`` default, or ``hmac-sha256``).

Envelopes (issue 18 #2): the current one is ``{"code", "msg", "sub_code", "sub_msg",
"log_id", "data"}`` with success ``code == 10000``; the official SDKs (Java, Go, Python) send
the header ``x-open-no-old-err-code: 1`` to opt out of the old ``{"err_no", "message"}`` one,
and so does this connector. Both are read: a body with ``code`` succeeds only with 10000, one
with only ``err_no`` only with 0, anything else (neither key, no ``data.total``) is an error
naming what came back. Authorization failures (expired or invalid token, app key, signature)
are ``AuthError`` in either envelope. Numeric codes other than 10000 are [U]; ``sub_code``
names (``isv.access-token-expired`` …) are what the classification reads first.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from connectors.base import (CLOCK_SKEW_ADVICE, AuthError, Connector, Credentials, Page, PlatformError, PushResult,
                             ShipmentResult, ThrottledError, TokenExpiredError, renewed, utc_now)
from connectors.contract import Documented
from connectors.http import stated_wait_seconds
from connectors.signing import compact_json, douyin_sign
from domain.timeutil import unix_seconds
from domain.windows import Window

SEARCH_METHOD = "order.searchList"
#: what Douyin documents for the order search (抖店 open platform, order.searchList: ``page``
#: from 0 and ``size`` ≤ 100 are 必填; the reply carries every field, there is no fields
#: parameter). Field types as in the official documentation example
#: (../shared/fixtures/marketplaces/douyin/d2…): money int fen, times unix s, ids strings.
DOCUMENTED = {
    SEARCH_METHOD: Documented(
        method=SEARCH_METHOD, source="抖店开放平台 order.searchList (request parameters, response example)",
        required=("page", "size"),
        field_types={"order_id": "int64-as-str", "pay_amount": "int-fen", "post_amount": "int-fen",
                     "sku_order_list.origin_amount": "int-fen (unit price)",
                     "sku_order_list.sum_amount": "int-fen (unit × item_num)", "update_time": "unix-s"},
    ),
}
#: the current envelope's success code (documented) and the SDKs' opt-out of the old one
#: Douyin's token refresh (issue 18, "Tokens"): method ``token.refresh`` (path ``/token/refresh``),
#: ``param_json`` ``{"grant_type": "refresh_token", "refresh_token": …}`` (both required; the refresh
#: token lasts 14 days), signed with the app, no ``access_token``; ``data`` answers
#: ``access_token``, ``expires_in`` (s), ``refresh_token``, ``scope``, ``shop_id``, ``shop_name``.
#: Source: 抖店开放平台 ``token.refresh`` as the official Go SDK generates it (zsmhub/doudian-sdk
#: ``api/token_refresh/request/token_refresh_request.go``).
REFRESH_METHOD = "token.refresh"
SUCCESS_CODE = 10000
NO_OLD_ERR_CODE_HEADER = {"x-open-no-old-err-code": "1"}
#: [U] numeric codes, old ``err_no`` and current ``code`` alike: 30001 unknown app_key,
#: 30002 bad token, 30005 bad sign, 30007 bad timestamp, 90000/90001 rate limited
_AUTH_CODES = {30001, 30002, 30005}
_TOKEN_CODE = 30002   # the access_token itself refused (``isv.access-token-expired``): a refresh may cure it
_THROTTLE_CODES = {90000, 90001, 50002}
BAD_TIMESTAMP = 30007
#: words in a current-envelope ``sub_code`` (``isv.access-token-expired`` …) that say what failed
_AUTH_WORDS = ("access-token", "access_token", "token", "app-key", "app_key", "appkey", "sign", "auth",
               "permission")
_THROTTLE_WORDS = ("limit", "frequen", "flow-control")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check_douyin_body(status: int, body: Any) -> None:
    """Raise Douyin's error, current envelope (``code`` ≠ 10000) or old (``err_no`` ≠ 0).
    Bodies in neither envelope pass here and are refused by the caller as unexpected."""
    if not isinstance(body, dict):
        return
    if "code" in body:
        code = _int(body.get("code"))
        if code == SUCCESS_CODE:
            return
        sub_code = str(body.get("sub_code") or "")
        detail = (f"Douyin error {body.get('code')} {sub_code} {body.get('msg') or ''} "
                  f"{body.get('sub_msg') or ''}").strip()
    elif "err_no" in body:
        code, sub_code = _int(body.get("err_no")), ""
        if code == 0:
            return
        detail = f"Douyin error {body.get('err_no')} {body.get('message', '')} {body.get('sub_msg', '')}".strip()
    else:
        return
    lowered = sub_code.lower()
    if code in _THROTTLE_CODES or any(word in lowered for word in _THROTTLE_WORDS):
        raise ThrottledError(detail, retry_after_s=stated_wait_seconds(detail))
    if code == BAD_TIMESTAMP or "timestamp" in lowered:
        raise PlatformError(f"{detail} — {CLOCK_SKEW_ADVICE}", code=str(code))
    if code in _AUTH_CODES or any(word in lowered for word in _AUTH_WORDS):
        token = code == _TOKEN_CODE or "access-token" in lowered or "access_token" in lowered
        raise (TokenExpiredError if token else AuthError)(
            f"{detail} — renew the shop's access_token or check app_secret / sign_method")
    raise PlatformError(f"{detail} — the request was refused", code=str(code))


def is_success(body: Any) -> bool:
    """A recognised Douyin success: ``code`` 10000 (current), else ``err_no`` 0 (old only)."""
    if not isinstance(body, dict):
        return False
    if "code" in body:
        return _int(body.get("code")) == SUCCESS_CODE
    return "err_no" in body and _int(body.get("err_no")) == 0


class DouyinConnector(Connector):
    platform = "douyin"
    DEFAULTS = dict(page_size=100, max_window=timedelta(days=1), safety_lag=timedelta(minutes=1),
                    throttle_rate_per_s=10.0)
    REFRESHABLE = True

    @staticmethod
    def order_key(record: dict) -> str:
        return str(record["order_id"])

    @staticmethod
    def order_modified(record: dict) -> object:
        return int(record.get("update_time") or 0)

    def _call(self, method: str, business: dict) -> tuple[bytes, dict]:
        """A signed call with the shop's access_token; a refused token is refreshed once (when the
        credentials hold a refresh token) and the call sent again."""
        return self._with_fresh_token(lambda: self._send(method, business))

    def _send(self, method: str, business: dict, authorised: bool = True) -> tuple[bytes, dict]:
        param_json = compact_json(business)
        timestamp = str(unix_seconds(utc_now()))  # replay check: wall clock
        sign_method = self.settings.option("sign_method", "md5")
        query = {
            "app_key": self.credentials.app_key, "method": method,
            **({"access_token": self.credentials.access_token} if authorised else {}),
            "timestamp": timestamp, "v": "2", "sign_method": sign_method,
            "sign": douyin_sign(self.credentials.app_key, method, param_json, timestamp,
                                self.credentials.app_secret, sign_method),
        }
        path = "/" + method.replace(".", "/")
        reply = self.http.call("POST", f"{self.settings.base_url}{path}", params=query,
                               data=param_json.encode(),
                               headers={"Content-Type": "application/json", **NO_OLD_ERR_CODE_HEADER},
                               check=check_douyin_body, what=method)
        self._last_body = (reply.body, reply.raw)
        return reply.raw, (reply.body or {}).get("data") or {}

    def _refresh(self, now: datetime) -> Credentials:
        """``token.refresh`` (see ``REFRESH_METHOD``)."""
        _, data = self._send(REFRESH_METHOD, {"grant_type": "refresh_token",
                                              "refresh_token": self.credentials.refresh_token}, authorised=False)
        if not (is_success(self._last_body[0]) and data.get("access_token") and data.get("expires_in")):
            raise self._unexpected(REFRESH_METHOD, '{"code": 10000, "data": {"access_token": …, "expires_in": …}}',
                                   *self._last_body)
        return renewed(self.credentials, now, str(data["access_token"]), float(data["expires_in"]),
                       refresh_token=data.get("refresh_token"))

    def _search_page(self, window: Window, page_no: int) -> tuple[bytes, list[dict], int]:
        business = {
            "update_time_start": unix_seconds(window.start), "update_time_end": unix_seconds(window.end),
            "page": page_no, "size": self.settings.page_size, "order_by": "update_time", "order_asc": True,
        }
        missing = DOCUMENTED[SEARCH_METHOD].missing(business)
        if missing:  # never send what Douyin refuses (page 0 is a value, not a missing one)
            raise PlatformError(f"{SEARCH_METHOD} without {', '.join(missing)}", platform=self.platform,
                                shop_id=self.shop_id)
        raw, data = self._call(SEARCH_METHOD, business)
        body = self._last_body[0]
        if not (is_success(body) and isinstance(body.get("data"), dict) and "total" in data):
            raise self._unexpected(SEARCH_METHOD, '{"code": 10000, "data": {"total": …, "shop_order_list": […]}} '
                                   '(or the old {"err_no": 0, …})', *self._last_body)
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
