"""JD POP connector (``POST {base}/routerjson``).

Business parameters travel as one JSON string in ``360buy_param_json``; the signature
covers the system parameters including it. JD reports errors (throttle code 2, bad sign
12, bad timestamp 8) as ``{"error_response": …}``; its responses spell "responce".
JD lists newest-modified first by offset pages, so pages are read from the last back to the
first like TOP (see ``Connector._pages_backwards``).

Options: ``order_states`` (comma list, default every state JD documents, ``UN_KNOWN``
included: a state left out of ``order_state`` is an order never seen), ``date_type`` (JD's
``dateType``; default ``0``, the modified time [U]).

``DOCUMENTED`` states what JD's documentation fixes for the order search: ``optional_fields``
is required ("必填,不填或者为空则请求被拒绝") and JD returns only the fields listed there,
so it lists every field ``domain.normalise.jd`` reads. The sandbox refuses and trims from
the same declaration.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors.base import (AuthError, Connector, Credentials, Page, PlatformError, PushResult, ShipmentResult,
                             ThrottledError, TokenExpiredError, renewed, utc_now)
from connectors.contract import Documented
from connectors.http import stated_wait_seconds
from connectors.signing import compact_json, jd_sign
from domain.normalise.jd import REQUESTED_STATES
from domain.timeutil import format_beijing
from domain.windows import Window

SEARCH_METHOD = "jingdong.pop.order.search"
#: what JD documents for the order search (JOS API page of jingdong.pop.order.search; request
#: parameters as in JD's SDKs: start_date, end_date, order_state, optional_fields, page,
#: page_size, sortType, dateType, open_id_buyer …; response fields as in the JOS Java SDK's
#: ``OrderSearchInfo`` / ``UserInfo`` / ``ItemInfo``)
DOCUMENTED = {
    SEARCH_METHOD: Documented(
        method=SEARCH_METHOD,
        source="JOS jingdong.pop.order.search parameter table (optional_fields: 必填,不填或者为空则请求被拒绝; "
               "fields not listed are not returned); JOS Java SDK OrderQueryJsfService.OrderSearchInfo",
        required=("start_date", "end_date", "optional_fields"),
        # exactly the fields domain.normalise.jd reads (nested objects come whole)
        requested_fields=("orderId", "orderState", "orderPayment", "freightPrice", "orderStartTime",
                          "paymentConfirmTime", "modified", "orderRemark", "venderRemark", "waybill",
                          "logisticsId", "pin", "open_id_buyer", "xid_buyer", "consigneeInfo", "itemInfoList",
                          "couponDetailList"),
        fields_parameter="optional_fields",
        field_types={"orderId": "int64-as-str", "orderPayment": "money-str", "freightPrice": "money-str",
                     "itemInfoList.jdPrice": "money-str", "itemInfoList.itemTotal": "int-as-str",
                     "itemInfoList.skuId": "int64-as-str", "couponDetailList.couponPrice": "money-str"},
    ),
}
THROTTLED, BAD_TIMESTAMP, BAD_SIGN = "2", "8", "12"
_AUTH_CODES = {BAD_SIGN, "18", "19"}  # 18 unknown app_key, 19 invalid access_token [U]
_TOKEN_CODE = "19"   # the access_token itself refused: a refresh may cure it

#: JD's token refresh (issue 18, "Tokens"), on JD's OAuth host (option ``oauth_url``, default
#: ``https://open-oauth.jd.com``): ``GET /oauth2/refresh_token`` with ``app_key``, ``app_secret``,
#: ``grant_type=refresh_token``, ``refresh_token``; the answer ``{"code": 0, "access_token",
#: "expires_in" (s), "refresh_token", "refresh_token_expires" (ms since the epoch), "time", "uid", …}``,
#: a non-zero ``code`` with ``msg`` when refused [U: the error codes]. Source: JOS 自研商家授权
#: documentation as open-source clients use it (cdrcool/op-alliance ``JdTokenResponse.java``,
#: boyoko/JD-BatInsert-Demo ``JD.SDK/TokenResult.cs``).
REFRESH_PATH = "/oauth2/refresh_token"
OAUTH_URL = "https://open-oauth.jd.com"


def check_jd_oauth_body(status: int, body: Any) -> None:
    """The OAuth host answers ``code`` 0 with the token, another ``code`` with ``msg`` when refused."""
    if isinstance(body, dict) and str(body.get("code", "0")) != "0":
        raise AuthError(f"JD OAuth code {body.get('code')} {body.get('msg') or body.get('message') or ''}".strip())


def check_jd_body(status: int, body: Any) -> None:
    if not isinstance(body, dict):
        return
    error = body.get("error_response")
    if error:
        code = str(error.get("code"))
        detail = f"JD error {code} {error.get('en_desc') or ''} {error.get('zh_desc') or ''}".strip()
        if code == THROTTLED:
            raise ThrottledError(detail, retry_after_s=stated_wait_seconds(detail))
        if code in _AUTH_CODES:
            raise (TokenExpiredError if code == _TOKEN_CODE else AuthError)(
                f"{detail} — check app_secret, or renew the shop's access_token")
        if code == BAD_TIMESTAMP:
            raise PlatformError(f"{detail} — JD accepts timestamps within ±6 min: check this host's clock",
                                code=code)
        raise PlatformError(f"{detail} — the request was refused", code=code)
    for key, value in body.items():
        if not (key.endswith(("_responce", "_response")) and isinstance(value, dict)):
            continue
        if str(value.get("code", "0")) != "0":
            raise PlatformError(f"JD {key} code {value.get('code')}: {str(value)[:200]}", code=str(value.get("code")))
        for result in value.values():  # business errors: …_result.apiResult.success = false
            api_result = result.get("apiResult") if isinstance(result, dict) else None
            if api_result and api_result.get("success") is False:
                raise PlatformError(f"JD {key}: {api_result.get('englishErr') or api_result.get('chineseErr')} "
                                    f"(resultCode {api_result.get('resultCode')}) — fix the request parameters",
                                    code=str(api_result.get("resultCode")))


def _payload(body: Any) -> dict:
    """The ``…_responce`` object of a JD reply (whatever the method's name)."""
    if isinstance(body, dict):
        for key, value in body.items():
            if key.endswith(("_responce", "_response")) and key != "error_response":
                return value or {}
    return {}


class JdConnector(Connector):
    platform = "jd"
    DEFAULTS = dict(page_size=50, max_window=timedelta(days=30), safety_lag=timedelta(minutes=1),
                    throttle_rate_per_s=10.0)
    REFRESHABLE = True

    @staticmethod
    def order_key(record: dict) -> str:
        return str(record["orderId"])

    @staticmethod
    def order_modified(record: dict) -> object:
        return record.get("modified")

    def _call(self, method: str, business: dict) -> tuple[bytes, dict]:
        """A signed call with the shop's access_token; a refused token is refreshed once (when the
        credentials hold a refresh token) and the call sent again."""
        return self._with_fresh_token(lambda: self._send(method, business))

    def _send(self, method: str, business: dict) -> tuple[bytes, dict]:
        params = {
            "method": method, "app_key": self.credentials.app_key,
            "access_token": self.credentials.access_token,
            "timestamp": format_beijing(utc_now()), "v": "2.0", "format": "json",
            "360buy_param_json": compact_json(business),
        }
        params["sign"] = jd_sign(params, self.credentials.app_secret)
        reply = self.http.call("POST", f"{self.settings.base_url}/routerjson", data=params,
                               check=check_jd_body, what=method)
        self._last_body = (reply.body, reply.raw)
        return reply.raw, _payload(reply.body)

    def _refresh(self, now: datetime) -> Credentials:
        """``GET {oauth_url}/oauth2/refresh_token`` (see ``REFRESH_PATH``)."""
        creds = self.credentials
        url = self.settings.option("oauth_url", OAUTH_URL).rstrip("/") + REFRESH_PATH
        reply = self.http.call("GET", url, params={"app_key": creds.app_key, "app_secret": creds.app_secret,
                                                   "grant_type": "refresh_token", "refresh_token": creds.refresh_token},
                               check=check_jd_oauth_body, what="oauth2/refresh_token")
        body = reply.body if isinstance(reply.body, dict) else {}
        if not body.get("access_token") or not body.get("expires_in"):
            raise self._unexpected("oauth2/refresh_token", '{"code": 0, "access_token": …, "expires_in": …}',
                                   reply.body, reply.raw)
        ends = body.get("refresh_token_expires")
        return renewed(creds, now, str(body["access_token"]), float(body["expires_in"]),
                       refresh_token=body.get("refresh_token"),
                       refresh_expires_at=datetime.fromtimestamp(int(ends) / 1000, timezone.utc)
                       if str(ends or "").isdigit() else None)

    def _search_page(self, window: Window, page_no: int) -> tuple[bytes, list[dict], int]:
        documented = DOCUMENTED[SEARCH_METHOD]
        business = {
            "start_date": format_beijing(window.start), "end_date": format_beijing(window.end),
            "order_state": self.settings.option("order_states", ",".join(REQUESTED_STATES)),
            "dateType": self.settings.option("date_type", "0"),
            "page": str(page_no), "page_size": str(self.settings.page_size),
            documented.fields_parameter: documented.fields_value(),
        }
        raw, payload = self._call(SEARCH_METHOD, business)
        result = payload.get("searchorderinfo_result")
        if not isinstance(result, dict) or "orderTotal" not in result:
            raise self._unexpected(SEARCH_METHOD, '{"jingdong_pop_order_search_responce": {"searchorderinfo_result": '
                                                  '{"orderTotal": …}}}', *self._last_body)
        return raw, result.get("orderInfoList") or [], int(result.get("orderTotal") or 0)

    def _pages(self, window: Window) -> Iterator[Page]:
        return self._pages_backwards(window, lambda page_no: self._search_page(window, page_no))

    def _window_count(self, window: Window) -> int:
        return self._search_page(window, 1)[2]   # orderTotal

    # -- writes [P]: method names from JD's open-platform docs -------------------------------
    def push_stock(self, item_id: str, sku_id: str, quantity: int) -> PushResult:
        _, payload = self._call("jingdong.stock.write.updateSkuStock", {"skuId": sku_id, "stockNum": int(quantity)})
        return PushResult(reply=payload, ok=str(payload.get("code", "0")) == "0")

    def read_stock(self, item_id: str, sku_id: str) -> int:
        _, payload = self._call("jingdong.stock.read.findSkuStock", {"skuId": sku_id})
        for stock in payload.get("skuStocks") or []:
            if str(stock.get("skuId")) == str(sku_id):
                return int(stock["stockNum"])
        raise PlatformError(f"stock of JD sku {sku_id} missing in reply {payload!r:.200}",
                            platform=self.platform, shop_id=self.shop_id)

    def confirm_shipment(self, order_id: str, carrier: str, tracking_no: str) -> ShipmentResult:
        _, payload = self._call("jingdong.pop.order.shipment",
                                {"orderId": order_id, "logiCoprId": carrier, "logiNo": tracking_no})
        return ShipmentResult(reply=payload, ok=str(payload.get("code", "0")) == "0")
