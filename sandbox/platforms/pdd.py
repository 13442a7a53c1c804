"""Pinduoduo open platform: ``POST /pdd/api/router`` (form or query parameters).

Parameters ``type, client_id, access_token, timestamp (unix s), data_type=JSON, sign`` plus
the business parameters at the top level; ``sign = UPPER(MD5(client_secret + Σ sorted(k+v)
+ client_secret))`` over all of them. Errors (HTTP 200)
``{"error_response":{"error_code","error_msg","sub_code","sub_msg","request_id"}}`` [codes U]:
10016 bad client_id, 10017 bad timestamp, 10018 bad signature, 10019 invalid access_token,
10020 unknown type, 50001 bad business parameter, 70031 throttled.

``pdd.order.number.list.increment.get``: ``start_updated_at``/``end_updated_at`` unix s,
window ≤ 30 min (the real "end ≤ now − 3 min" rule is not enforced: history is generated),
``page`` from 1, ``page_size`` ≤ 100, ``use_has_next``; newest-updated first. Money is float
yuan. Receiver fields are ciphertext (``~AgAAAAE…~``) with ``*_mask`` companions; ``open_address_id`` (合单ID) is the merge
identity, the same on every order of one receiver address; only paid orders are listed. ``item_list[].refund_status`` is a sandbox convention [U] mirroring the
order's ``refund_status`` (1 none, 3 refunding, 4 refunded) on the refunded line.

As PDD documents the order (``connectors.pdd.DOCUMENTED``): gifts come in ``gift_list`` (same
keys as ``item_list``), not among the paid items; ``confirm_status`` 1 and ``group_status`` 1 on
every listed (concluded, grouped) order; ``trade_type`` 1 with ``step_order_info``
(``step_trade_status`` 0/1/2) on deposit orders, ``step_order_info: null`` otherwise. A request
without one of the documented required parameters is refused with error_code 10000 ("参数错误"
[code U]) naming it.
"""
from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.pdd import DOCUMENTED, INCREMENT_TYPE, REFRESH_TYPE
from sandbox import wire
from sandbox.generator import address_open_id, buyer_open_id
from sandbox.platforms.common import (
    Listings, PageView, PlatformAPI, beijing, json_response, order_index, page_of_window, record_shipment,
    request_params, set_stock, signatures_match, wrapped_md5_sign,
)

MAX_PAGE_SIZE = 100
MAX_WINDOW_S = 30 * 60


def _yuan(minor: int) -> float:
    return minor / 100


def _item(view: PageView, p: int) -> dict:
    ln = view.lines
    return {"goods_id": int(ln["marketplace_item_id"][p]), "sku_id": int(ln["line_id"][p]),
            "goods_name": ln["title"][p], "goods_spec": ln["variant"][p],
            "goods_price": _yuan(ln["unit_price_minor"][p]), "goods_count": ln["quantity"][p],
            "outer_id": ln["sku"][p], "outer_goods_id": ln["sku"][p].rsplit("-", 2)[0]}


def _step_order_info(view: PageView, j: int) -> dict | None:
    """``step_order_info`` of a deposit order (null otherwise), as PDD documents it: money as
    yuan strings, ``advanced_paid_fee`` the deposit paid (分阶段已付定金), ``step_paid_fee`` all
    paid so far (分阶段已付金额), ``step_trade_status`` 0/1/2. ``pay_amount`` stays the whole order
    (支付金额 = 商品金额 − 折扣金额 + 邮费)."""
    o = view.orders
    if not o["is_presale"][j]:
        return None
    total = o["total_minor"][j]
    deposit = wire.presale_deposit(total)
    if o["status"][j] == "pending_payment":
        step, paid = 0, 0
    elif o["presale_balance_paid"][j]:
        step, paid = 2, total
    else:
        step, paid = 1, deposit
    return {"step_trade_status": step, "advanced_paid_fee": f"{_yuan(min(paid, deposit)):.2f}",
            "step_paid_fee": f"{_yuan(paid):.2f}", "step_discount_amount": "0.00"}


def render_order(view: PageView, j: int, secret: str, buyers) -> dict:
    o, ln, x = view.orders, view.lines, view.extra
    positions = view.line_positions(j)
    gross = sum(ln["unit_price_minor"][p] * ln["quantity"][p] for p in positions)
    line_discounts = sum(ln["discount_minor"][p] for p in positions)
    b = x["buyer"][j]
    name, phone = buyers.name[b], buyers.phone[b]
    address = f"{buyers.street[b]}{buyers.house_no[b]}"
    order_refund = ("1", "3", "4")[x["refund_phase"][j]]
    gifts = ln["is_gift"]
    step_info = _step_order_info(view, j)
    return {
        "order_sn": o["order_id"][j], "order_status": int(o["platform_status"][j]), "refund_status": int(order_refund),
        "confirm_status": 1, "group_status": 1, "trade_type": 0 if step_info is None else 1,
        "step_order_info": step_info,
        "created_time": beijing(o["created_at"][j]), "confirm_time": beijing(o["paid_at"][j]),
        "pay_time": beijing(o["paid_at"][j]), "updated_at": beijing(o["modified_at"][j]),
        "shipping_time": beijing(o["shipped_at"][j]), "last_ship_time": beijing(o["ship_by_at"][j]),
        "receive_time": beijing(x["completed_at"][j]),
        "goods_amount": _yuan(gross), "discount_amount": _yuan(line_discounts + o["discount_minor"][j]),
        "seller_discount": _yuan(line_discounts + o["discount_minor"][j]), "platform_discount": 0.0,
        "postage": _yuan(o["post_fee_minor"][j]), "pay_amount": _yuan(o["total_minor"][j]),
        "receiver_name": wire.ciphertext("name", name, secret), "receiver_phone": wire.ciphertext("phone", phone, secret),
        "receiver_address": wire.ciphertext("address", address, secret), "address": wire.ciphertext("address", address, secret),
        "receiver_name_mask": o["receiver_name_masked"][j], "receiver_phone_mask": o["receiver_phone_masked"][j],
        "receiver_address_mask": o["address_masked"][j], "address_mask": o["address_masked"][j],
        "province": o["province"][j], "city": o["city"][j], "town": o["district"][j], "country": "中国",
        "open_id": buyer_open_id("pdd", b), "open_address_id": address_open_id("pdd", b),
        "buyer_memo": o["buyer_remark"][j] or "", "remark": o["seller_remark"][j] or "",
        "tracking_number": o["tracking_no"][j] or "", "logistics_id": int(o["carrier"][j]) if o["carrier"][j] else 0,
        "item_list": [{**_item(view, p), "refund_status": int(ln["refund_status"][p])}
                      for p in positions if not gifts[p]],
        "gift_list": [_item(view, p) for p in positions if gifts[p]],
    }


class PddAPI(PlatformAPI):
    platform = "pdd"

    def routes(self) -> list[Route]:
        return [Route("/api/router", self.endpoint(self.router), methods=["GET", "POST"])]

    @staticmethod
    def error(code: int, message: str, sub_msg: str = "") -> Response:
        return json_response({"error_response": {"error_code": code, "error_msg": message, "sub_code": str(code),
                                                 "sub_msg": sub_msg, "request_id": uuid.uuid4().hex}})

    def throttled(self, retry_after_s: int) -> Response:
        return self.error(70031, "调用过于频繁，请调整调用频率", f"请{retry_after_s}秒后重试")

    async def router(self, request: Request, duplicate: bool) -> Response:
        params = await request_params(request)
        shop = self.state.shop_by_app_key("pdd", params.get("client_id"))
        if shop is None:
            return self.error(10016, "client_id不存在")
        try:
            sent = int(params.get("timestamp", ""))
        except ValueError:
            return self.error(10017, "timestamp格式错误，应为unix秒")
        if abs(sent - self.state.wall_now()) > self.state.timestamp_tolerance_s:
            return self.error(10017, "timestamp已过期", "与服务器时间相差过大")
        if not signatures_match(params.get("sign"), wrapped_md5_sign(params, self.state.secret(shop))):
            return self.error(10018, "签名校验失败")
        if params.get("type") == REFRESH_TYPE:   # signed by the app alone: no access_token
            return self.refresh(shop, params)
        if params.get("access_token") != self.state.token(shop):
            return self.error(10019, "access_token已过期或无效")
        handler = {"pdd.order.number.list.increment.get": self.increment,
                   "pdd.goods.quantity.update": self.update_stock,
                   "pdd.goods.sku.stock.get": self.read_stock,
                   "pdd.logistics.online.send": self.ship}.get(params.get("type", ""))
        if handler is None:
            return self.error(10020, "接口type不存在")
        return handler(shop, params, duplicate)

    def refresh(self, shop, params: dict[str, str]) -> Response:
        """``pdd.pop.auth.token.refresh`` (``connectors.pdd.REFRESH_TYPE``); a wrong or spent refresh
        token is an ``error_response`` [U: PDD's exact code]."""
        if not params.get("refresh_token"):
            return self.error(10000, "参数错误", "refresh_token不能为空")
        if not self.state.refresh_token_ok(shop, params["refresh_token"]):
            return self.error(10028, "refresh_token已过期或无效", "请商家重新授权")
        token, lifetime, refresh = self.state.issue_token(shop)
        now = int(self.state.wall_now())
        return json_response({"pop_auth_token_refresh_response": {
            "access_token": token, "expires_in": lifetime, "expires_at": now + lifetime, "refresh_token": refresh,
            "refresh_token_expires_in": lifetime * 2, "refresh_token_expires_at": now + lifetime * 2,
            "owner_id": shop.id, "owner_name": shop.name, "scope": ["pdd.order.number.list.increment.get"],
            "request_id": uuid.uuid4().hex}})

    def increment(self, shop, params: dict[str, str], duplicate: bool) -> Response:
        absent = DOCUMENTED[INCREMENT_TYPE].missing(params)
        if absent:
            return self.error(10000, "参数错误", f"{', '.join(absent)}不能为空")
        try:
            start, end = int(params["start_updated_at"]), int(params["end_updated_at"])
            page, page_size = int(params.get("page", 1)), int(params.get("page_size", 100))
        except (KeyError, ValueError):
            return self.error(50001, "业务参数错误", "start_updated_at/end_updated_at（unix秒）必填")
        if end < start or end - start > MAX_WINDOW_S:
            return self.error(50001, "业务参数错误", "时间区间不能超过30分钟")
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            return self.error(50001, "业务参数错误", f"page从1开始，page_size不能超过{MAX_PAGE_SIZE}")
        window = self.state.window(shop.id, start, end)
        secret, buyers = self.state.secret(shop), self.state.world.buyers_of(shop)
        orders = page_of_window(self.state, shop, window, (page - 1) * page_size, page_size, duplicate,
                                lambda view, j: render_order(view, j, secret, buyers))
        body = {"total_count": int(len(window[0])), "order_sn_list": orders}
        if params.get("use_has_next") == "true":
            body["has_next"] = page * page_size < len(window[0])
        return json_response({"order_sn_increment_get_response": {**body, "request_id": uuid.uuid4().hex}})

    def _sku(self, params: dict[str, str]) -> str | None:
        listings = Listings.of(self.state, "pdd")
        return listings.sku_by_variant_id.get(params.get("sku_id", "")) or \
            (params.get("outer_id") if params.get("outer_id") in listings.ids_by_sku else None)

    def update_stock(self, shop, params: dict[str, str], duplicate: bool) -> Response:
        sku = self._sku(params)
        if sku is None or "quantity" not in params:
            return self.error(50001, "业务参数错误", "sku_id/outer_id不存在或缺少quantity")
        set_stock(self.state, shop, sku, int(params["quantity"]), incremental=params.get("update_type") == "2")
        return json_response({"goods_quantity_update_response": {"is_success": True}})

    def read_stock(self, shop, params: dict[str, str], duplicate: bool) -> Response:
        listings = Listings.of(self.state, "pdd")
        skus = listings.skus_by_item_id.get(params.get("goods_id", ""))
        if not skus:
            return self.error(50001, "业务参数错误", "goods_id不存在")
        return json_response({"goods_sku_stock_get_response": {"sku_stock_list": [
            {"sku_id": int(listings.ids_by_sku[s][1]), "outer_id": s, "quantity": self.state.stock[(shop.id, s)]}
            for s in skus]}})

    def ship(self, shop, params: dict[str, str], duplicate: bool) -> Response:
        order_sn = params.get("order_sn", "")
        if order_index(self.state, shop, order_sn) is None or not params.get("tracking_number"):
            return self.error(50001, "业务参数错误", "订单不存在或缺少tracking_number")
        record_shipment(self.state, shop, order_sn, params.get("logistics_id", ""), params["tracking_number"])
        return json_response({"logistics_online_send_response": {"is_success": True, "request_id": uuid.uuid4().hex}})
