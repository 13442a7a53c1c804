"""Douyin shop (抖店) open API: ``/douyin/<method with '/' for '.'>``, e.g. ``/douyin/order/searchList``.

Query parameters ``app_key, method, access_token, param_json, timestamp (unix s), v=2,
sign_method (md5 | hmac-sha256), sign``; ``param_json`` may instead be the JSON request body.
``sign = MD5(secret + "app_key"+k + "method"+m + "param_json"+p + "timestamp"+t + "v"+v +
secret)`` (hex, case-insensitive) or HMAC-SHA256 of the same string keyed by the secret; the
server signs ``param_json`` exactly as received, so send it compact with sorted keys.
Replies in the current envelope ``{"code":10000,"msg":"success","sub_code":"","sub_msg":"",
"log_id":…,"data":…}``, with the old ``err_no``/``message`` beside it unless the request
carries ``x-open-no-old-err-code: 1`` (as the official SDKs send); errors [numeric codes U,
the same in both]: 30001 unknown app_key, 30002 invalid or expired access_token
(``isv.access-token-expired``), 30005 bad signature, 30007 bad timestamp, 40001 bad or
missing business parameter (``page`` and ``size`` are required: ``connectors.douyin.DOCUMENTED``),
40004 method/path mismatch, 90000 throttled.

``order.searchList``: ``update_time_start``/``update_time_end`` unix s, ``page`` **from 0**,
``size`` ≤ 100, newest-updated first (``order_asc`` false). Money is int fen: a sku order's
``origin_amount`` is the unit price and ``sum_amount`` unit × ``item_num`` (Douyin's field
descriptions: 商品现价 / 商品现价*件数); gifts are ``given_product_type: "FREE"``; presale is
``trade_type`` 2 with ``order_phase_list`` (deposit, then balance), ``main_status`` 103 (部分支付, with
``order_status`` 1) until the balance is paid. PII comes as ``encrypt_*`` ciphertext, different on
every order even for the same receiver, plus ``mask_*`` values; ``open_address_id`` is the
merge identity (the same for one receiver address). Refunds in
``sku_order_list[].after_sale_info`` (refund_status 0 none, 1 refunding, 3 refunded). Writes:
``sku.syncStock``, ``sku.stockNum`` (read), ``order.logisticsAdd``.
"""
from __future__ import annotations

import contextvars
import hashlib
import hmac
import uuid

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.douyin import DOCUMENTED, NO_OLD_ERR_CODE_HEADER, REFRESH_METHOD, SUCCESS_CODE
from sandbox import wire
from sandbox.generator import NEVER, buyer_open_id
from sandbox.platforms.common import (
    Listings, PageView, PlatformAPI, json_response, order_index, page_of_window, record_shipment, set_stock,
    signatures_match,
)

MAX_PAGE_SIZE = 100
SEARCH = DOCUMENTED["order.searchList"]
#: the current envelope's ``sub_code`` for each error code the sandbox answers [U]
SUB_CODES = {30001: "isv.app-key-invalid", 30002: "isv.access-token-expired", 30005: "isv.sign-invalid",
             30004: "isv.refresh-token-invalid",
             30007: "isv.timestamp-invalid", 40001: "isv.parameter-invalid", 40004: "isv.method-invalid",
             90000: "isv.rate-limited"}


#: whether this request gets the old ``err_no`` form too (no ``x-open-no-old-err-code: 1``)
_OLD_ENVELOPE: contextvars.ContextVar[bool] = contextvars.ContextVar("douyin_old_envelope", default=True)


def open_address_id(buyer: int) -> str:
    """Douyin's ``open_address_id`` of a buyer's (one) address: the same on each of their orders."""
    return "#" + wire.stable_hash("douyin-open-address", str(buyer)) + "#"


def douyin_sign(app_key: str, method: str, param_json: str, timestamp: str, v: str, secret: str,
                sign_method: str = "md5") -> str:
    text = f"{secret}app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v{v}{secret}".encode()
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest().upper()
    return hashlib.md5(text).hexdigest().upper()


def _unix(ts: int) -> int:
    return 0 if ts == NEVER else ts


#: ``main_status`` 103 (部分支付: deposit paid, balance due) comes with ``order_status`` 1 (待支付),
#: as in Douyin's documentation example (its ``order_status_desc`` "待支付" beside 103)
PARTLY_PAID_MAIN_STATUS, PARTLY_PAID_ORDER_STATUS = 103, 1
PRESALE_TRADE_TYPE = 2      # trade_type 定金预售 (0 普通)


def _phases(view: PageView, j: int) -> list[dict]:
    """``order_phase_list`` of a presale order (empty otherwise): phase 1 the deposit (定金), phase
    2 the balance (尾款, with the postage), each with what is payable, whether and when it was
    paid; the field names are those of Douyin's documentation example (d2). ``pay_amount`` of the
    order stays the whole order."""
    o, x = view.orders, view.extra
    if not o["is_presale"][j]:
        return []
    total, post = int(o["total_minor"][j]), int(o["post_fee_minor"][j])
    deposit = wire.presale_deposit(total)
    number = int(o["order_id"][j])
    first_line = str(view.lines["line_id"][view.line_positions(j)[0]])
    paid, balance_paid = _unix(o["paid_at"][j]), _unix(x["balance_paid_at"][j])
    phases = []
    for phase, amount, postage, opened, paid_at in ((1, deposit, 0, o["created_at"][j], paid),
                                                    (2, total - deposit, post, paid, balance_paid)):
        phases.append({
            "phase_order_id": str(number + 50 + phase), "sku_order_id": first_line,
            "total_phase": 2, "current_phase": phase, "pay_success": bool(paid_at),
            "phase_payable_price": amount, "phase_order_amount": amount, "phase_sum_amount": amount,
            "phase_post_amount": postage, "phase_pay_amount": amount if paid_at else 0,
            "phase_promotion_amount": 0, "phase_open_time": int(opened), "phase_pay_time": paid_at,
            "current_phase_status_desc": "已支付" if paid_at else ("已开始但未支付" if opened else "未开始"),
        })
    return phases


def render_order(view: PageView, j: int, secret: str, buyers) -> dict:
    o, ln, x = view.orders, view.lines, view.extra
    positions = view.line_positions(j)
    b = x["buyer"][j]
    order_id = o["order_id"][j]   # Douyin's ciphertext differs on every order, even for one receiver
    line_discounts = sum(ln["discount_minor"][p] for p in positions)
    shipped = o["shipped_at"][j] != NEVER
    main_status = int(o["platform_status"][j])
    return {
        "order_id": o["order_id"][j],
        "order_status": PARTLY_PAID_ORDER_STATUS if main_status == PARTLY_PAID_MAIN_STATUS else main_status,
        "main_status": main_status,
        "order_amount": sum(ln["unit_price_minor"][p] * ln["quantity"][p] for p in positions) + o["post_fee_minor"][j],
        "pay_amount": o["total_minor"][j], "post_amount": o["post_fee_minor"][j],
        "promotion_amount": line_discounts + o["discount_minor"][j], "shop_order_promotion_amount": o["discount_minor"][j],
        "create_time": o["created_at"][j], "pay_time": _unix(o["paid_at"][j]), "update_time": o["modified_at"][j],
        "ship_time": _unix(o["shipped_at"][j]), "finish_time": _unix(x["completed_at"][j]),
        "buyer_words": o["buyer_remark"][j] or "", "seller_words": o["seller_remark"][j] or "",
        "doudian_open_id": buyer_open_id("douyin", b),
        "mask_post_receiver": o["receiver_name_masked"][j], "mask_post_tel": o["receiver_phone_masked"][j],
        "mask_post_addr": {"province": {"name": o["province"][j]}, "city": {"name": o["city"][j]},
                           "town": {"name": o["district"][j]}, "detail": o["address_masked"][j]},
        "encrypt_post_receiver": wire.ciphertext("name", buyers.name[b] + order_id, secret, "douyin"),
        "encrypt_post_tel": wire.ciphertext("phone", buyers.phone[b] + order_id, secret, "douyin"),
        "encrypt_post_addr": {"detail": wire.ciphertext("address", f"{buyers.street[b]}{buyers.house_no[b]}{order_id}",
                                                        secret, "douyin")},
        "open_address_id": open_address_id(b),
        "trade_type": PRESALE_TRADE_TYPE if o["is_presale"][j] else 0, "order_phase_list": _phases(view, j),
        "logistics_info": [{"company_name": o["carrier"][j], "tracking_no": o["tracking_no"][j],
                            "ship_time": o["shipped_at"][j]}] if shipped else [],
        "sku_order_list": [{
            "sku_order_id": ln["line_id"][p], "parent_order_id": o["order_id"][j],
            "product_id": ln["marketplace_item_id"][p], "sku_id": ln["marketplace_sku_id"][p],
            "product_name": ln["title"][p], "code": ln["sku"][p], "out_sku_id": ln["sku"][p],
            "spec": [{"name": k, "value": v} for k, v in (part.split(":", 1) for part in ln["variant"][p].split(";"))],
            "item_num": ln["quantity"][p], "origin_amount": ln["unit_price_minor"][p],
            "sum_amount": ln["unit_price_minor"][p] * ln["quantity"][p], "promotion_amount": ln["discount_minor"][p],
            "pay_amount": ln["line_total_minor"][p], "given_product_type": "FREE" if ln["is_gift"][p] else "",
            "after_sale_info": {"after_sale_status": {"0": 0, "1": 6, "3": 12}[ln["refund_status"][p]],
                                "refund_status": int(ln["refund_status"][p])},
        } for p in positions],
    }


class DouyinAPI(PlatformAPI):
    platform = "douyin"

    def routes(self) -> list[Route]:
        return [Route("/order/searchList", self.endpoint(self.api("order.searchList", self.search)), methods=["GET", "POST"]),
                Route("/sku/syncStock", self.endpoint(self.api("sku.syncStock", self.sync_stock)), methods=["GET", "POST"]),
                Route("/sku/stockNum", self.endpoint(self.api("sku.stockNum", self.stock_num)), methods=["GET", "POST"]),
                Route("/order/logisticsAdd", self.endpoint(self.api("order.logisticsAdd", self.logistics_add)),
                      methods=["GET", "POST"]),
                Route("/token/refresh", self.endpoint(self.api(REFRESH_METHOD, self.refresh, authorised=False)),
                      methods=["GET", "POST"])]

    @staticmethod
    def reply(data: object = None, err_no: int = 0, message: str = "success") -> Response:
        """The current envelope (``code`` 10000 on success), with the old ``err_no`` form beside
        it unless the request opted out with ``x-open-no-old-err-code: 1``."""
        body = {"code": SUCCESS_CODE if err_no == 0 else err_no, "msg": message,
                "sub_code": SUB_CODES.get(err_no, "") if err_no else "", "sub_msg": "" if err_no == 0 else message,
                "log_id": uuid.uuid4().hex[:20], "data": data if data is not None else {}}
        if _OLD_ENVELOPE.get():
            body = {"err_no": err_no, "message": message, **body}
        return json_response(body)

    def throttled(self, retry_after_s: int) -> Response:
        return self.reply(err_no=90000, message=f"请求过于频繁，请{retry_after_s}秒后重试")

    def api(self, method: str, handler, authorised: bool = True):
        """Authenticate a call to ``method`` and pass its decoded ``param_json`` to ``handler``
        (``authorised`` False: signed by the app alone, no ``access_token``: ``token.refresh``)."""
        state = self.state

        async def call(request: Request, duplicate: bool) -> Response:
            params = dict(request.query_params)
            header, value = next(iter(NO_OLD_ERR_CODE_HEADER.items()))
            _OLD_ENVELOPE.set(request.headers.get(header) != value)
            body = (await request.body()).decode() if request.method == "POST" else ""
            param_json = params.get("param_json") or body or "{}"
            shop = state.shop_by_app_key("douyin", params.get("app_key"))
            if shop is None:
                return self.reply(err_no=30001, message="app_key不存在")
            if params.get("method") != method:
                return self.reply(err_no=40004, message=f"method应为{method}")
            try:
                sent = int(params.get("timestamp", ""))
            except ValueError:
                return self.reply(err_no=30007, message="timestamp格式错误，应为unix秒")
            if abs(sent - state.wall_now()) > state.timestamp_tolerance_s:
                return self.reply(err_no=30007, message="timestamp与服务器时间相差过大")
            expected = douyin_sign(params["app_key"], method, param_json, params["timestamp"], params.get("v", ""),
                                   state.secret(shop), params.get("sign_method", "md5"))
            if not signatures_match(params.get("sign"), expected):
                return self.reply(err_no=30005, message="签名错误")
            if authorised and params.get("access_token") != state.token(shop):
                return self.reply(err_no=30002, message="access_token无效或已过期")
            try:
                business = orjson.loads(param_json)
            except orjson.JSONDecodeError:
                return self.reply(err_no=40001, message="param_json不是合法的JSON")
            return handler(shop, business, duplicate)

        return call

    def refresh(self, shop, business: dict, duplicate: bool) -> Response:
        """``token.refresh`` (``connectors.douyin.REFRESH_METHOD``): ``grant_type`` must be
        ``refresh_token``; a wrong or spent refresh token is refused [U: the exact code]."""
        if business.get("grant_type") != "refresh_token" or not business.get("refresh_token"):
            return self.reply(err_no=40001, message="grant_type须为refresh_token，refresh_token为必填参数")
        if not self.state.refresh_token_ok(shop, business["refresh_token"]):
            return self.reply(err_no=30004, message="refresh_token无效或已过期，请重新授权")
        token, lifetime, refresh = self.state.issue_token(shop)
        return self.reply({"access_token": token, "expires_in": lifetime, "refresh_token": refresh,
                           "scope": "SCOPE", "shop_id": shop.id, "shop_name": shop.name})

    def search(self, shop, business: dict, duplicate: bool) -> Response:
        missing = SEARCH.missing(business)
        if missing:
            return self.reply(err_no=40001, message=f"{'、'.join(missing)}为必填参数")
        try:
            start, end = int(business["update_time_start"]), int(business["update_time_end"])
            page, size = int(business.get("page", 0)), int(business.get("size", 10))
        except (KeyError, ValueError, TypeError):
            return self.reply(err_no=40001, message="update_time_start/update_time_end（unix秒）必填")
        if page < 0 or not 1 <= size <= MAX_PAGE_SIZE or end < start:
            return self.reply(err_no=40001, message=f"page从0开始，size为1到{MAX_PAGE_SIZE}，且开始时间不晚于结束时间")
        window = self.state.window(shop.id, start, end, newest_first=not business.get("order_asc", False))
        secret, buyers = self.state.secret(shop), self.state.world.buyers_of(shop)
        orders = page_of_window(self.state, shop, window, page * size, size, duplicate,
                                lambda view, j: render_order(view, j, secret, buyers),
                                "asc" if business.get("order_asc") else "")
        return self.reply({"shop_order_list": orders, "total": int(len(window[0])), "page": page, "size": size})

    def _sku(self, business: dict) -> str | None:
        listings = Listings.of(self.state, "douyin")
        return listings.sku_by_variant_id.get(str(business.get("sku_id", ""))) or \
            (business.get("code") if business.get("code") in listings.ids_by_sku else None)

    def sync_stock(self, shop, business: dict, duplicate: bool) -> Response:
        sku = self._sku(business)
        if sku is None or "stock_num" not in business:
            return self.reply(err_no=40001, message="sku_id/code不存在或缺少stock_num")
        set_stock(self.state, shop, sku, int(business["stock_num"]), incremental=bool(business.get("incremental")))
        return self.reply({})

    def stock_num(self, shop, business: dict, duplicate: bool) -> Response:
        sku = self._sku(business)
        if sku is None:
            return self.reply(err_no=40001, message="sku_id/code不存在")
        return self.reply({"sku_id": Listings.of(self.state, "douyin").ids_by_sku[sku][1], "code": sku,
                           "stock_num": self.state.stock[(shop.id, sku)]})

    def logistics_add(self, shop, business: dict, duplicate: bool) -> Response:
        order_id = str(business.get("order_id", ""))
        if order_index(self.state, shop, order_id) is None or not business.get("logistics_code"):
            return self.reply(err_no=40001, message="订单不存在或缺少logistics_code")
        record_shipment(self.state, shop, order_id, str(business.get("company_code", "")), str(business["logistics_code"]))
        return self.reply({})
