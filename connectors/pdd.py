"""Pinduoduo connector (``POST {base}/api/router``, ``type`` = the API name).

Windows are at most 30 minutes and must end 3 minutes before the server's now [V]; pages
are read from the last backwards, like TOP, because rows move while we read.
Options: ``is_lucky_flag`` (default 0: all orders), ``order_status``/``refund_status``
filters (default 5 = all).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from connectors.base import (CLOCK_SKEW_ADVICE, AuthError, Connector, Credentials, Page, PlatformError, PushResult,
                             ShipmentResult, ThrottledError, TokenExpiredError, renewed, utc_now)
from connectors.contract import Documented
from connectors.http import stated_wait_seconds
from connectors.signing import pdd_sign
from domain.timeutil import unix_seconds
from domain.windows import Window

INCREMENT_TYPE = "pdd.order.number.list.increment.get"

#: What Pinduoduo's documentation says of the increment call, stated once (the connector's request
#: and the sandbox's refusal come from it). Source: open.pinduoduo.com API document
#: ``pdd.order.number.list.increment.get``, as its SDKs carry it (lywzx/pdd-node-sdk
#: ``packages/pdd-origin-api/src/dingDan/PddOrderNumberListIncrementGet.ts``; niltor/open-pdd-net-sdk
#: ``GetOrderNumberListIncrementRequestModel.cs``): ``is_lucky_flag``, ``order_status``,
#: ``refund_status``, ``start_updated_at``, ``end_updated_at`` are required (必填), ``page``/
#: ``page_size``/``trade_type``/``use_has_next`` optional. PDD has no ``fields`` parameter: every
#: order comes whole (``step_order_info``, ``gift_list``, ``confirm_status``, ``group_status`` …).
DOCUMENTED = {
    INCREMENT_TYPE: Documented(
        method=INCREMENT_TYPE, source="open.pinduoduo.com pdd.order.number.list.increment.get",
        required=("is_lucky_flag", "order_status", "refund_status", "start_updated_at", "end_updated_at"),
        field_types={"order_sn": "str", "pay_amount": "money-float-yuan", "goods_price": "money-float-yuan",
                     "order_status": "int", "refund_status": "int", "trade_type": "int",
                     "confirm_status": "int", "group_status": "int", "step_order_info.step_trade_status": "int",
                     "updated_at": "beijing-str"}),
}
#: PDD's token refresh (issue 18, "Tokens"): ``type=pdd.pop.auth.token.refresh`` with
#: ``refresh_token`` (required), signed with the app, no ``access_token``; the answer
#: ``{"pop_auth_token_refresh_response": {"access_token", "expires_in" (s), "expires_at",
#: "refresh_token", "refresh_token_expires_in" (s), "refresh_token_expires_at", "owner_id", "scope", …}}``.
#: Source: open.pinduoduo.com ``pdd.pop.auth.token.refresh`` as the SDKs carry it
#: (SchafferJ/open-pdd ``src/http/model/tools/pdd_pop_auth_token_refresh.rs``; lywzx/pdd-node-sdk
#: ``packages/pdd-origin-api/src/gongJu/PddPopAuthTokenCreate.ts`` for the same token fields).
REFRESH_TYPE = "pdd.pop.auth.token.refresh"
#: PDD error codes [U]: 10016 unknown client_id, 10018 bad sign, 10019/10035 invalid or
#: expired access_token; 70031 / 52004 call frequency limited
_AUTH_CODES = {"10016", "10018", "10019", "10035"}
_TOKEN_CODES = {"10019", "10035"}   # the access_token itself refused: a refresh may cure it
_THROTTLE_CODES = {"70031", "52004", "70032", "54001"}
BAD_TIMESTAMP = "10017"


def check_pdd_body(status: int, body: Any) -> None:
    error = body.get("error_response") if isinstance(body, dict) else None
    if not error:
        return
    code = str(error.get("error_code") or error.get("code") or "")
    detail = f"PDD error {code} {error.get('error_msg') or error.get('msg') or ''} {error.get('sub_msg') or ''}".strip()
    if code in _THROTTLE_CODES or "limit" in detail.lower():
        raise ThrottledError(detail, retry_after_s=stated_wait_seconds(detail))
    if code in _AUTH_CODES or "access_token" in detail:
        raise (TokenExpiredError if code in _TOKEN_CODES else AuthError)(
            f"{detail} — renew the shop's access_token or check client_secret")
    if code == BAD_TIMESTAMP:
        raise PlatformError(f"{detail} — {CLOCK_SKEW_ADVICE}", code=code)
    raise PlatformError(f"{detail} — the request was refused", code=code)


def _payload(body: Any) -> dict:
    if isinstance(body, dict):
        for key, value in body.items():
            if key.endswith("_response") and key != "error_response":
                return value or {}
    return {}


class PddConnector(Connector):
    platform = "pdd"
    DEFAULTS = dict(page_size=100, max_window=timedelta(minutes=30), safety_lag=timedelta(minutes=3),
                    throttle_rate_per_s=10.0)
    REFRESHABLE = True

    @staticmethod
    def order_key(record: dict) -> str:
        return str(record["order_sn"])

    @staticmethod
    def order_modified(record: dict) -> object:
        return record.get("updated_at")

    def _call(self, api_type: str, **business: Any) -> tuple[bytes, dict]:
        """A signed call with the shop's access_token; a refused token is refreshed once (when the
        credentials hold a refresh token) and the call sent again."""
        return self._with_fresh_token(lambda: self._send(api_type, **business))

    def _send(self, api_type: str, *, authorised: bool = True, **business: Any) -> tuple[bytes, dict]:
        params = {
            "type": api_type, "client_id": self.credentials.app_key,
            **({"access_token": self.credentials.access_token} if authorised else {}),
            "timestamp": str(unix_seconds(utc_now())), "data_type": "JSON", "version": "V1",
            **{k: str(v) for k, v in business.items() if v is not None},
        }
        documented = DOCUMENTED.get(api_type)
        if documented is not None and documented.missing(params):   # PDD would refuse it
            raise PlatformError(f"{api_type} needs {', '.join(documented.missing(params))} ({documented.source})",
                                platform=self.platform, shop_id=self.shop_id)
        params["sign"] = pdd_sign(params, self.credentials.app_secret)
        reply = self.http.call("POST", f"{self.settings.base_url}/api/router", data=params,
                               check=check_pdd_body, what=api_type)
        self._last_body = (reply.body, reply.raw)
        return reply.raw, _payload(reply.body)

    def _refresh(self, now: datetime) -> Credentials:
        """``pdd.pop.auth.token.refresh`` (see ``REFRESH_TYPE``)."""
        raw, payload = self._send(REFRESH_TYPE, authorised=False, refresh_token=self.credentials.refresh_token)
        if not payload.get("access_token") or not payload.get("expires_in"):
            raise self._unexpected(REFRESH_TYPE, '{"pop_auth_token_refresh_response": {"access_token": …, '
                                   '"expires_in": …}}', *self._last_body)
        return renewed(self.credentials, now, str(payload["access_token"]), float(payload["expires_in"]),
                       refresh_token=payload.get("refresh_token"),
                       refresh_expires_in=payload.get("refresh_token_expires_in") or None)

    def _increment_page(self, window: Window, page_no: int) -> tuple[bytes, list[dict], int]:
        raw, payload = self._call(
            INCREMENT_TYPE, is_lucky_flag=self.settings.option("is_lucky_flag", 0),
            order_status=self.settings.option("order_status", 5),
            refund_status=self.settings.option("refund_status", 5),
            start_updated_at=unix_seconds(window.start), end_updated_at=unix_seconds(window.end),
            page=page_no, page_size=self.settings.page_size, use_has_next="false")
        if "total_count" not in payload:
            raise self._unexpected(INCREMENT_TYPE, '{"order_number_list_increment_get_response": {"total_count": …}}',
                                   *self._last_body)
        return raw, payload.get("order_sn_list") or [], int(payload.get("total_count") or 0)

    def _pages(self, window: Window) -> Iterator[Page]:
        return self._pages_backwards(window, lambda page_no: self._increment_page(window, page_no))

    def _window_count(self, window: Window) -> int:
        return self._increment_page(window, 1)[2]   # total_count

    # -- writes ------------------------------------------------------------------------------
    def push_stock(self, item_id: str, sku_id: str, quantity: int) -> PushResult:
        _, payload = self._call("pdd.goods.quantity.update", goods_id=item_id, sku_id=sku_id,
                                quantity=int(quantity), update_type=1)  # 1 = full overwrite
        return PushResult(reply=payload, ok=bool(payload.get("is_success")))

    def read_stock(self, item_id: str, sku_id: str) -> int:
        _, payload = self._call("pdd.goods.sku.stock.get", goods_id=item_id, sku_id=sku_id)
        for stock in payload.get("sku_stock_list") or []:
            if str(stock.get("sku_id")) == str(sku_id):
                return int(stock["quantity"])
        raise PlatformError(f"stock of PDD goods {item_id} sku {sku_id} missing in reply {payload!r:.200}",
                            platform=self.platform, shop_id=self.shop_id)

    def confirm_shipment(self, order_id: str, carrier: str, tracking_no: str) -> ShipmentResult:
        _, payload = self._call("pdd.logistics.online.send", order_sn=order_id, logistics_id=carrier,
                                tracking_number=tracking_no)
        return ShipmentResult(reply=payload, ok=bool(payload.get("is_success")))
