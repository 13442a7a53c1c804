"""Taobao/Tmall TOP gateway: ``POST /taobao/router/rest`` (form or query parameters).

System parameters: ``method, app_key, session, timestamp ("yyyy-MM-dd HH:mm:ss" GMT+8),
format=json, v=2.0, sign_method (md5 | hmac | hmac-sha256), sign``, optional ``simplify``.
Errors come as HTTP 200 ``{"error_response":{"code","msg","sub_code","sub_msg"}}``:
7 throttled (``sub_msg`` "This ban will last for N more seconds"), 15 business error with an
``isv.*`` sub code, 21 missing method, 22 invalid method, 25 invalid signature, 26 missing
session, 27 invalid session, 28/29 missing/invalid app key, 30/31 missing/invalid timestamp,
32 missing signature.

``taobao.trades.sold.increment.get`` returns trades newest-modified first, so rows move
between pages while a client reads forwards; it leaves out ``buyer_message`` (only
``has_buyer_message``) which ``taobao.trade.fullinfo.get`` returns.
"""
from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.generator import buyer_open_id
from sandbox.platforms.common import (
    Listings, PageView, PlatformAPI, beijing, decimal_string, json_response, order_index, page_of_window,
    parse_beijing, record_shipment, request_params, set_stock, signatures_match, single_order, top_sign,
)

MAX_PAGE_SIZE = 100
MAX_WINDOW_S = 24 * 3600
SIGN_METHODS = ("md5", "hmac", "hmac-sha256")


def _allocate(total: int, weights: list[int]) -> list[int]:
    """Split an order-level discount over lines by line total (the last line takes the rest)."""
    base = sum(weights)
    if not total or not base:
        return [0] * len(weights)
    shares = [total * w // base for w in weights]
    shares[-1] += total - sum(shares)
    return shares


def render_trade(view: PageView, j: int, full: bool) -> dict:
    o, x, ln = view.orders, view.extra, view.lines
    status = o["platform_status"][j]
    positions = view.line_positions(j)
    line_totals = [ln["line_total_minor"][p] for p in positions]
    allocated = _allocate(o["discount_minor"][j], line_totals)
    shipped = o["shipped_at"][j]
    lines = []
    for k, p in enumerate(positions):
        refund_status = ln["refund_status"][p]
        line = {
            "oid": int(ln["line_id"][p]), "oid_str": ln["line_id"][p],
            "status": "TRADE_CLOSED" if refund_status == "SUCCESS" else status,
            "refund_status": refund_status,
            "num_iid": int(ln["marketplace_item_id"][p]), "sku_id": ln["marketplace_sku_id"][p],
            "outer_iid": ln["sku"][p].rsplit("-", 2)[0], "outer_sku_id": ln["sku"][p],
            "title": ln["title"][p], "sku_properties_name": ln["variant"][p], "num": ln["quantity"][p],
            "price": decimal_string(ln["unit_price_minor"][p]),
            "discount_fee": decimal_string(ln["discount_minor"][p]),
            "total_fee": decimal_string(line_totals[k]),
            "payment": decimal_string(line_totals[k] - allocated[k]),
            "adjust_fee": "0.00", "is_oversold": False,
        }
        if refund_status != "NO_REFUND" and (r := view.refund_of.get(j)) is not None:
            line["refund_id"] = int(view.refunds["refund_id"][r])
        if shipped is not None and o["tracking_no"][j]:
            line.update(logistics_company=o["carrier"][j], invoice_no=o["tracking_no"][j],
                        consign_time=beijing(shipped))
        lines.append(line)
    trade = {
        "tid": int(o["order_id"][j]), "tid_str": o["order_id"][j], "status": status,
        "type": "step" if o["is_presale"][j] else "fixed",
        "payment": decimal_string(o["total_minor"][j]), "post_fee": decimal_string(o["post_fee_minor"][j]),
        "discount_fee": decimal_string(o["discount_minor"][j]),
        "total_fee": decimal_string(sum(ln["unit_price_minor"][p] * ln["quantity"][p] for p in positions)),
        "adjust_fee": "0.00", "num": sum(ln["quantity"][p] for p in positions),
        "created": beijing(o["created_at"][j]), "pay_time": beijing(o["paid_at"][j]),
        "modified": beijing(o["modified_at"][j]), "consign_time": beijing(shipped),
        "end_time": beijing(x["completed_at"][j] if o["status"][j] == "completed" else x["cancelled_at"][j]),
        "buyer_nick": o["buyer_nick_masked"][j], "buyer_open_uid": buyer_open_id("taobao", x["buyer"][j]),
        "receiver_name": o["receiver_name_masked"][j], "receiver_mobile": o["receiver_phone_masked"][j],
        "receiver_state": o["province"][j], "receiver_city": o["city"][j], "receiver_district": o["district"][j],
        "receiver_address": o["address_masked"][j],
        "has_buyer_message": o["buyer_remark"][j] is not None,
        "seller_memo": o["seller_remark"][j] or "", "seller_flag": 1 if o["seller_remark"][j] else 0,
        "orders": lines,
    }
    if o["is_presale"][j]:
        balance_paid = o["presale_balance_paid"][j]
        trade["step_trade_status"] = "FRONT_PAID_FINAL_PAID" if balance_paid else "FRONT_PAID_FINAL_NOPAID"
        trade["step_paid_fee"] = decimal_string(o["total_minor"][j] if balance_paid else o["total_minor"][j] // 5)
    if full:
        trade["buyer_message"] = o["buyer_remark"][j] or ""
    return trade


def _wrap_lists(trade: dict) -> dict:
    """Without ``simplify``, TOP wraps every list: ``orders: {"order": [...]}``."""
    return {**trade, "orders": {"order": trade["orders"]}}


class TaobaoAPI(PlatformAPI):
    platform = "taobao"

    def routes(self) -> list[Route]:
        return [Route("/router/rest", self.endpoint(self.router), methods=["GET", "POST"])]

    @staticmethod
    def error(code: int, msg: str, sub_code: str | None = None, sub_msg: str | None = None) -> Response:
        body = {"code": code, "msg": msg, "request_id": uuid.uuid4().hex[:13]}
        if sub_code:
            body.update(sub_code=sub_code, sub_msg=sub_msg or "")
        return json_response({"error_response": body})

    def throttled(self, retry_after_s: int) -> Response:
        return self.error(7, "App Call Limited", "accesscontrol.limited-by-app-access-count",
                          f"This ban will last for {retry_after_s} more seconds")

    def invalid(self, name: str, message: str) -> Response:
        return self.error(15, "Remote service error", f"isv.invalid-parameter:{name}", message)

    async def router(self, request: Request, duplicate: bool) -> Response:
        params = await request_params(request)
        method = params.get("method")
        if not method:
            return self.error(21, "Missing method")
        if not params.get("app_key"):
            return self.error(28, "Missing app key")
        shop = self.state.shop_by_app_key("taobao", params["app_key"])
        if shop is None:
            return self.error(29, "Invalid app Key")
        if not params.get("sign"):
            return self.error(32, "Missing signature")
        if not params.get("timestamp"):
            return self.error(30, "Missing timestamp")
        try:
            sent = parse_beijing(params["timestamp"])
        except ValueError:
            return self.error(31, "Invalid timestamp", "isv.invalid-parameter:timestamp",
                              "timestamp must be yyyy-MM-dd HH:mm:ss (GMT+8)")
        if abs(sent - self.state.wall_now()) > self.state.timestamp_tolerance_s:
            return self.error(31, "Invalid timestamp", "isv.invalid-parameter:timestamp",
                              f"timestamp differs from the server time ({beijing(int(self.state.wall_now()))}) "
                              f"by more than {self.state.timestamp_tolerance_s // 60:.0f} minutes")
        sign_method = params.get("sign_method", "md5")
        if sign_method not in SIGN_METHODS:
            return self.error(25, "Invalid signature", "isv.invalid-parameter:sign_method",
                              f"sign_method must be one of {', '.join(SIGN_METHODS)}")
        if not signatures_match(params["sign"], top_sign(params, self.state.secret(shop), sign_method)):
            return self.error(25, "Invalid signature")
        if not params.get("session"):
            return self.error(26, "Missing session")
        if params["session"] != self.state.token(shop):
            return self.error(27, "Invalid session", "invalid-sessionkey", "session key is invalid or expired")
        handler = {
            "taobao.trades.sold.increment.get": self.increment,
            "taobao.trade.fullinfo.get": self.fullinfo,
            "taobao.item.quantity.update": self.quantity_update,
            "taobao.item.seller.get": self.item_get,
            "taobao.logistics.offline.send": self.offline_send,
        }.get(method)
        if handler is None:
            return self.error(22, "Invalid method")
        return handler(shop, params, duplicate)

    def increment(self, shop, params: dict[str, str], duplicate: bool) -> Response:
        try:
            start, end = parse_beijing(params["start_modified"]), parse_beijing(params["end_modified"])
        except KeyError as missing:
            return self.error(40, "Missing required arguments", f"isv.missing-parameter:{missing.args[0]}")
        except ValueError:
            return self.invalid("start_modified", "start_modified/end_modified must be yyyy-MM-dd HH:mm:ss")
        if end < start or end - start > MAX_WINDOW_S:
            return self.invalid("start_modified", "start_modified and end_modified must be within one day")
        try:
            page_no, page_size = int(params.get("page_no", 1)), int(params.get("page_size", 40))
        except ValueError:
            return self.invalid("page_no", "page_no and page_size must be integers")
        if page_no < 1:
            return self.invalid("page_no", "page_no starts at 1")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            return self.invalid("page_size", f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        simplify = params.get("simplify") == "true"
        window = self.state.window(shop.id, start, end)
        first = (page_no - 1) * page_size
        trades = page_of_window(self.state, shop, window, first, page_size, duplicate, self._renderer(simplify, False),
                                "simple" if simplify else "wrapped")
        body: dict = {"trades": trades if simplify else {"trade": trades}}
        if params.get("use_has_next") == "true":
            body["has_next"] = first + page_size < len(window[0])
        else:
            body["total_results"] = int(len(window[0]))
        return json_response({"trades_sold_increment_get_response": {**body, "request_id": uuid.uuid4().hex[:13]}})

    def fullinfo(self, shop, params: dict[str, str], duplicate: bool) -> Response:
        i = order_index(self.state, shop, params.get("tid", ""))
        if i is None:
            return self.error(15, "Remote service error", "isv.trade-not-exist", f"trade {params.get('tid')} does not exist")
        simplify = params.get("simplify") == "true"
        trade = single_order(self.state, shop, i, self._renderer(simplify, True), f"full-{simplify}")
        return json_response({"trade_fullinfo_get_response": {"trade": trade}})

    @staticmethod
    def _renderer(simplify: bool, full: bool):
        if simplify:
            return lambda view, j: render_trade(view, j, full)
        return lambda view, j: _wrap_lists(render_trade(view, j, full))

    def quantity_update(self, shop, params: dict[str, str], duplicate: bool) -> Response:
        listings = Listings.of(self.state, "taobao")
        sku = listings.sku_by_variant_id.get(params.get("sku_id", "")) or params.get("outer_id")
        if sku not in listings.ids_by_sku:
            return self.error(15, "Remote service error", "isv.item-not-exist", "no such sku_id/outer_id on this item")
        try:
            quantity = int(params["quantity"])
        except (KeyError, ValueError):
            return self.invalid("quantity", "quantity must be an integer")
        incremental = params.get("type", "1") == "2"
        new = set_stock(self.state, shop, sku, quantity, incremental)
        item_id, variant_id = listings.ids_by_sku[sku]
        return json_response({"item_quantity_update_response": {"item": {
            "num_iid": int(item_id), "num": new, "modified": beijing(self.state.now_s()),
            "skus": {"sku": [{"sku_id": int(variant_id), "quantity": new, "outer_id": sku}]}}}})

    def item_get(self, shop, params: dict[str, str], duplicate: bool) -> Response:
        listings = Listings.of(self.state, "taobao")
        skus = listings.skus_by_item_id.get(params.get("num_iid", ""))
        if not skus:
            return self.error(15, "Remote service error", "isv.item-not-exist", f"item {params.get('num_iid')} does not exist")
        variants = [{"sku_id": int(listings.ids_by_sku[s][1]), "outer_id": s, "quantity": self.state.stock[(shop.id, s)],
                     "properties_name": listings.title_by_sku[s][1]} for s in skus]
        return json_response({"item_seller_get_response": {"item": {
            "num_iid": int(params["num_iid"]), "title": listings.title_by_sku[skus[0]][0],
            "outer_id": skus[0].rsplit("-", 2)[0], "num": sum(v["quantity"] for v in variants),
            "skus": {"sku": variants}}}})

    def offline_send(self, shop, params: dict[str, str], duplicate: bool) -> Response:
        if order_index(self.state, shop, params.get("tid", "")) is None:
            return self.error(15, "Remote service error", "isv.trade-not-exist", f"trade {params.get('tid')} does not exist")
        if not params.get("out_sid") or not params.get("company_code"):
            return self.error(40, "Missing required arguments", "isv.missing-parameter:out_sid")
        record_shipment(self.state, shop, params["tid"], params["company_code"], params["out_sid"])
        return json_response({"logistics_offline_send_response": {"shipping": {"is_success": True}}})
