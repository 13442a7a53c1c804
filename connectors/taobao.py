"""Taobao/Tmall TOP connector (``POST {base}/router/rest``).

Options (``ConnectorSettings.options``):
- ``sign_method``: ``md5`` (default), ``hmac`` or ``hmac-sha256``;
- ``full_info``: when to call ``taobao.trade.fullinfo.get`` for a trade — ``partial``
  (default: the increment record lacks one of ``full_info_fields``), ``always`` or ``never``;
- ``full_info_fields``: fields an increment record must have to count as complete;
- ``fields``: the ``fields`` parameter of the increment call.

Paging: TOP sorts by modified time, newest first, and rows shift while we read, so the
count comes from page 1 and the pages are then read from the last one back to the first
(TOP's own advice); duplicates are removed by ``Connector.pull_orders``.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors.base import (CLOCK_SKEW_ADVICE, AuthError, Connector, Credentials, Page, PlatformError, PushResult,
                             ShipmentResult, ThrottledError, TokenExpiredError, renewed, utc_now)
from connectors.contract import Documented
from connectors.http import stated_wait_seconds
from connectors.signing import top_sign
from domain.normalise.taobao import trade_lines
from domain.timeutil import format_beijing
from domain.windows import Window

INCREMENT_METHOD = "taobao.trades.sold.increment.get"
FULL_INFO_METHOD = "taobao.trade.fullinfo.get"
#: TOP's token refresh (issue 18, "Tokens"): ``refresh_token`` (required), signed with the app,
#: no ``session``; the answer ``{"top_auth_token_refresh_response": {"token_result": "<JSON text>"}}``
#: whose text holds ``access_token``, ``expires_in`` (s), ``refresh_token``, ``re_expires_in`` (s),
#: ``expire_time``/``refresh_token_valid_time`` (ms since the epoch). Only service-market
#: (服务市场订购类) apps may refresh; others have fixed-length sessions. Source: open.taobao.com
#: API ``taobao.top.auth.token.refresh`` as the SDKs carry it (bububa/opentaobao
#: ``api/util/TaobaoTopAuthTokenRefresh.go``, ``model/util/TaobaoTopAuthTokenRefreshResponse.go``;
#: the token JSON's fields as in netnr/Netnr.Login ``TaoBao_AccessToken_ResultEntity.cs``).
REFRESH_METHOD = "taobao.top.auth.token.refresh"

#: every trade field ``domain.normalise.taobao`` reads (TOP returns only the fields asked for, so a
#: field missing here is silently absent from every trade): ``has_buyer_message`` decides the
#: ``trade.fullinfo.get`` call that brings ``buyer_message`` (the unread-remark hold),
#: ``timeout_action_time`` is the ship-by deadline, ``type``/``step_trade_status``/``step_paid_fee``
#: the presale state; ``oaid`` the receiver's merge identity (the address when receivers are
#: masked or encrypted); ``orders`` brings every sub-order field (oid, num_iid, sku_id, outer_sku_id …).
TRADE_FIELDS = (
    "tid", "type", "status", "step_trade_status", "step_paid_fee", "payment", "post_fee", "discount_fee",
    "created", "pay_time", "modified", "consign_time", "end_time", "timeout_action_time",
    "buyer_nick", "buyer_open_uid", "receiver_name", "receiver_mobile", "receiver_phone", "receiver_state",
    "receiver_city", "receiver_district", "receiver_town", "receiver_address", "receiver_zip", "oaid",
    "has_buyer_message", "buyer_message", "seller_memo", "seller_flag", "orders",
)

#: What TOP's API documents say, stated once (connector requests and sandbox refusals come from
#: here). Source: open.taobao.com API docs (docId 128 ``taobao.trades.sold.increment.get``, docId 54
#: ``taobao.trade.fullinfo.get``), as quoted in the official SDKs' request classes (e.g.
#: bububa/opentaobao ``model/trade/TaobaoTradesSoldIncrementGetAPIRequest.go``): ``fields``,
#: ``start_modified`` and ``end_modified`` are required (必须), ``fields`` lists what is returned
#: ("需要返回的字段列表"); a missing one is refused with ``error_response`` code 40
#: "Missing required arguments" and sub_code ``isv.missing-parameter:<name>``.
_TRADE_TYPES = {"tid": "int64", "oid": "int64", "payment": "money-str", "post_fee": "money-str",
                "price": "money-str", "total_fee": "money-str", "modified": "beijing-str", "num": "int"}
DOCUMENTED = {
    INCREMENT_METHOD: Documented(
        method=INCREMENT_METHOD, source="open.taobao.com API docId 128 (taobao.trades.sold.increment.get)",
        required=("fields", "start_modified", "end_modified"), requested_fields=TRADE_FIELDS,
        fields_parameter="fields", field_types=_TRADE_TYPES),
    FULL_INFO_METHOD: Documented(
        method=FULL_INFO_METHOD, source="open.taobao.com API docId 54 (taobao.trade.fullinfo.get)",
        required=("fields", "tid"), requested_fields=TRADE_FIELDS, fields_parameter="fields",
        field_types=_TRADE_TYPES),
}
DEFAULT_FIELDS = DOCUMENTED[INCREMENT_METHOD].fields_value()
DEFAULT_FULL_INFO_FIELDS = ("tid", "status", "payment", "modified", "orders")

THROTTLED, INVALID_SIGNATURE, INVALID_SESSION, INVALID_TIMESTAMP = 7, 25, 27, 31
_AUTH_CODES = {INVALID_SIGNATURE, INVALID_SESSION, 26, 28, 29}  # 26 missing / 28,29 bad app key
_TOKEN_CODES = {INVALID_SESSION}   # the session itself refused (expired or invalid): a refresh may cure it


def response_key(method: str) -> str:
    """``taobao.trades.sold.increment.get`` → ``trades_sold_increment_get_response``."""
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


def check_top_body(status: int, body: Any) -> None:
    """TOP errors arrive with HTTP 200 as ``{"error_response": {...}}``."""
    error = body.get("error_response") if isinstance(body, dict) else None
    if not error:
        return
    code = int(error.get("code") or 0)
    detail = f"TOP error {code} {error.get('msg', '')} {error.get('sub_code', '')} {error.get('sub_msg', '')}".strip()
    if code == THROTTLED:
        raise ThrottledError(detail, retry_after_s=stated_wait_seconds(str(error.get("sub_msg", ""))))
    if code in _AUTH_CODES:
        raise (TokenExpiredError if code in _TOKEN_CODES else AuthError)(
            f"{detail} — renew the shop's session (authorisation) or check app_key/app_secret and sign_method")
    if code == INVALID_TIMESTAMP:  # the connector always formats it right: the clock is off
        raise PlatformError(f"{detail} — {CLOCK_SKEW_ADVICE}", code=str(code))
    raise PlatformError(f"{detail} — the request was refused; check the parameters named above", code=str(code))


class TaobaoConnector(Connector):
    platform = "taobao"
    DEFAULTS = dict(page_size=100, max_window=timedelta(days=1), safety_lag=timedelta(minutes=1),
                    throttle_rate_per_s=10.0)
    REFRESHABLE = True

    @staticmethod
    def order_key(record: dict) -> str:
        return str(record["tid"])

    @staticmethod
    def order_modified(record: dict) -> object:
        return record.get("modified")  # "yyyy-MM-dd HH:mm:ss": sorts as text

    def _call(self, method: str, *, envelope: str | None = None, **business: Any):
        """A signed call in the shop's session; a refused session is refreshed once (when the
        credentials hold a refresh token) and the call sent again."""
        return self._with_fresh_token(lambda: self._send(method, envelope=envelope, **business))

    def _send(self, method: str, *, envelope: str | None = None, session: bool = True, **business: Any):
        params = {
            "method": method, "app_key": self.credentials.app_key,
            **({"session": self.credentials.access_token} if session else {}),
            "timestamp": format_beijing(utc_now()), "format": "json", "v": "2.0",  # timestamp: wall clock
            "sign_method": self.settings.option("sign_method", "md5"),
            **{k: str(v) for k, v in business.items() if v is not None},
        }
        documented = DOCUMENTED.get(method)
        if documented is not None and documented.missing(params):   # TOP would refuse it (code 40)
            raise PlatformError(f"{method} needs {', '.join(documented.missing(params))} ({documented.source}); "
                                "set the connector's options so that it is sent", platform=self.platform,
                                shop_id=self.shop_id)
        params["sign"] = top_sign(params, self.credentials.app_secret, params["sign_method"])
        reply = self.http.call("POST", f"{self.settings.base_url}/router/rest", data=params,
                               check=check_top_body, what=method)
        if envelope is not None:   # a read whose answer must be there: an empty one is not "nothing"
            inner = reply.body.get(response_key(method)) if isinstance(reply.body, dict) else None
            if not isinstance(inner, dict) or envelope not in inner:
                raise self._unexpected(method, f'{{"{response_key(method)}": {{"{envelope}": …}}}}', reply.body,
                                       reply.raw)
        return reply.raw, (reply.body or {}).get(response_key(method)) or {}

    def _refresh(self, now: datetime) -> Credentials:
        """``taobao.top.auth.token.refresh`` (see ``REFRESH_METHOD``)."""
        raw, body = self._send(REFRESH_METHOD, envelope="token_result", session=False,
                               refresh_token=self.credentials.refresh_token)
        try:
            token = json.loads(body["token_result"]) if isinstance(body["token_result"], str) else body["token_result"]
            access, expires_in = str(token["access_token"]), float(token["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise self._unexpected(REFRESH_METHOD, '{"token_result": "<JSON text with access_token, expires_in>"}',
                                   body, raw) from None
        valid_ms = token.get("refresh_token_valid_time")   # the relative re_expires_in first: no clock to agree on
        refresh_until = (datetime.fromtimestamp(int(valid_ms) / 1000, timezone.utc)
                         if not token.get("re_expires_in") and str(valid_ms or "").isdigit() and int(valid_ms) > 0
                         else None)
        return renewed(self.credentials, now, access, expires_in, refresh_token=token.get("refresh_token"),
                       refresh_expires_in=token.get("re_expires_in") or None, refresh_expires_at=refresh_until)

    def _increment_page(self, window: Window, page_no: int) -> tuple[bytes, list[dict], int]:
        raw, body = self._call(
            INCREMENT_METHOD, envelope="total_results", fields=self.settings.option("fields", DEFAULT_FIELDS),
            start_modified=format_beijing(window.start), end_modified=format_beijing(window.end),
            page_no=page_no, page_size=self.settings.page_size, use_has_next="false")
        trades = body.get("trades") or []
        trades = trades.get("trade", []) if isinstance(trades, dict) else trades
        return raw, trades, int(body.get("total_results") or 0)

    def _pages(self, window: Window) -> Iterator[Page]:
        return self._pages_backwards(window, lambda page_no: self._increment_page(window, page_no),
                                     finish=self._complete)

    def _window_count(self, window: Window) -> int:
        return self._increment_page(window, 1)[2]   # total_results

    def _complete(self, trades: list[dict]) -> tuple[list[dict], list[bytes]]:
        """Partial trades replaced by their ``trade.fullinfo.get`` version (and its bodies).

        The increment call leaves fields out (e.g. ``buyer_message``: only
        ``has_buyer_message`` says there is one); which trades count as partial is the
        ``full_info`` option.
        """
        policy = self.settings.option("full_info", "partial")
        required = self.settings.option("full_info_fields", DEFAULT_FULL_INFO_FIELDS)
        related, records = [], []
        for trade in trades:
            partial = (any(trade.get(f) in (None, "") for f in required) or not trade_lines(trade)
                       or (trade.get("has_buyer_message") and "buyer_message" not in trade))
            if policy == "always" or (policy == "partial" and partial):
                # envelope: an answer without the trade is an error, never "keep the partial trade"
                # (its buyer message would be lost without a word)
                full_raw, full = self._call(FULL_INFO_METHOD, envelope="trade", tid=trade["tid"],
                                            fields=self.settings.option("fields", DEFAULT_FIELDS))
                related.append(full_raw)
                trade = full["trade"] if isinstance(full.get("trade"), dict) else trade
            records.append(trade)
        return records, related

    # -- writes ------------------------------------------------------------------------------
    def push_stock(self, item_id: str, sku_id: str, quantity: int) -> PushResult:
        _, body = self._call("taobao.item.quantity.update", num_iid=item_id, sku_id=sku_id or None,
                             quantity=int(quantity), type=1)  # type 1 = full overwrite
        return PushResult(reply=body, ok=bool(body.get("item")))

    def read_stock(self, item_id: str, sku_id: str) -> int:
        _, body = self._call("taobao.item.seller.get", num_iid=item_id, fields="num_iid,num,sku")
        item = body.get("item") or {}
        skus = item.get("skus") or {}
        for sku in skus.get("sku", []) if isinstance(skus, dict) else skus:
            if str(sku.get("sku_id")) == str(sku_id) or sku.get("outer_id") == sku_id:
                return int(sku["quantity"])
        if not sku_id and "num" in item:  # an item without variants
            return int(item["num"])
        raise PlatformError(f"taobao.item.seller.get: item {item_id} has no sku {sku_id}",
                            platform=self.platform, shop_id=self.shop_id)

    def confirm_shipment(self, order_id: str, carrier: str, tracking_no: str) -> ShipmentResult:
        _, body = self._call("taobao.logistics.offline.send", tid=order_id, out_sid=tracking_no,
                             company_code=carrier)
        return ShipmentResult(reply=body, ok=bool((body.get("shipping") or {}).get("is_success")))
