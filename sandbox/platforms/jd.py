"""JD POP gateway: ``POST /jd/routerjson`` (form or query parameters).

System parameters ``method, app_key, access_token, timestamp ("yyyy-MM-dd HH:mm:ss" GMT+8,
±6 min), v=2.0, 360buy_param_json, sign``; ``sign = UPPER(MD5(secret + Σ sorted(k+v) +
secret))`` over all of them. Business parameters are the JSON string ``360buy_param_json``.
Responses use JD's own spelling ``<method>_responce``. Gateway errors (HTTP 200)
``{"error_response":{"code":"…","zh_desc","en_desc"}}``: "2" throttled, "8" bad timestamp,
"12" bad signature, "19" invalid access_token, "18" unknown app_key, "20" unknown method;
business errors sit in ``…_responce.searchorderinfo_result.apiResult`` with success=false.

Orders: ``jingdong.pop.order.search`` with ``start_date``/``end_date`` (≤ 1 month, by
modified time), ``page`` from 1, ``page_size`` ≤ 50, newest-modified first. Discounts come in
``couponDetailList``: per-SKU entries (``skuId`` set) are line discounts, the entry without
``skuId`` is the order-level one. ``optional_fields`` is required and the reply holds only the
listed fields (``connectors.jd.DOCUMENTED``, JD's parameter table): a search without it is
refused with JD's business error. Refunds show as JD shows them on the order, by
``orderState`` (no per-line refund field exists in JD's order API): ``LOCKED`` while an
after-sale is open, ``TRADE_CANCELED`` with a payment time once the whole order is refunded.
``pin`` arrives masked; ``open_id_buyer`` and ``consigneeInfo.oaid`` (JD's order address id)
are the buyer and address identities.
"""
from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.contract import only_requested
from connectors.jd import DOCUMENTED
from sandbox import wire
from sandbox.generator import buyer_open_id
from sandbox.platforms.common import (
    Listings, PageView, PlatformAPI, beijing, decimal_string, json_response, order_index, page_of_window,
    parse_beijing, record_shipment, request_params, set_stock, signatures_match, wrapped_md5_sign,
)

MAX_PAGE_SIZE = 50
MAX_WINDOW_S = 31 * 24 * 3600
SEARCH = DOCUMENTED["jingdong.pop.order.search"]


def address_id(buyer: int) -> str:
    """JD's ``oaid`` of a buyer's (one) address: opaque, the same on each of their orders."""
    return "JDOA" + wire.stable_hash("jd-oaid", str(buyer))


def render_order(view: PageView, j: int) -> dict:
    o, ln, x = view.orders, view.lines, view.extra
    positions = view.line_positions(j)
    gross = sum(ln["unit_price_minor"][p] * ln["quantity"][p] for p in positions)
    line_discounts = sum(ln["discount_minor"][p] for p in positions)
    coupons = [{"orderId": o["order_id"][j], "skuId": ln["line_id"][p], "couponType": "20-单品促销优惠",
                "couponPrice": decimal_string(ln["discount_minor"][p])} for p in positions if ln["discount_minor"][p]]
    if o["discount_minor"][j]:
        coupons.append({"orderId": o["order_id"][j], "skuId": None, "couponType": "30-满减优惠",
                        "couponPrice": decimal_string(o["discount_minor"][j])})
    return {
        "orderId": o["order_id"][j], "venderId": "10086", "orderType": "22", "payType": "4-在线支付",
        "orderState": o["platform_status"][j], "orderStateRemark": "",
        "orderTotalPrice": decimal_string(gross), "orderSellerPrice": decimal_string(gross - line_discounts - o["discount_minor"][j]),
        "orderPayment": decimal_string(o["total_minor"][j]), "freightPrice": decimal_string(o["post_fee_minor"][j]),
        "sellerDiscount": decimal_string(line_discounts + o["discount_minor"][j]),
        "orderStartTime": beijing(o["created_at"][j]), "paymentConfirmTime": beijing(o["paid_at"][j]),
        "modified": beijing(o["modified_at"][j]),
        "orderEndTime": beijing(x["completed_at"][j] if o["status"][j] == "completed" else x["refunded_at"][j]),
        "orderRemark": o["buyer_remark"][j] or "", "venderRemark": o["seller_remark"][j] or "",
        "pin": o["buyer_nick_masked"][j], "open_id_buyer": buyer_open_id("jd", x["buyer"][j]),
        "waybill": o["tracking_no"][j] or "", "logisticsId": o["carrier"][j] or "",
        "consigneeInfo": {"fullname": o["receiver_name_masked"][j], "mobile": o["receiver_phone_masked"][j],
                          "telephone": o["receiver_phone_masked"][j], "fullAddress": o["address_masked"][j],
                          "province": o["province"][j], "city": o["city"][j], "county": o["district"][j],
                          "oaid": address_id(x["buyer"][j])},
        "itemInfoList": [{"skuId": ln["line_id"][p], "outerSkuId": ln["sku"][p], "wareId": ln["marketplace_item_id"][p],
                          "skuName": f"{ln['title'][p]} {ln['variant'][p]}", "jdPrice": decimal_string(ln["unit_price_minor"][p]),
                          "itemTotal": str(ln["quantity"][p])}
                         for p in positions],
        "couponDetailList": coupons,
    }


class JdAPI(PlatformAPI):
    platform = "jd"

    def routes(self) -> list[Route]:
        return [Route("/routerjson", self.endpoint(self.router), methods=["GET", "POST"]),
                Route("/oauth2/refresh_token", self.endpoint(self.refresh), methods=["GET", "POST"])]

    @staticmethod
    def error(code: str, zh: str, en: str) -> Response:
        return json_response({"error_response": {"code": code, "zh_desc": zh, "en_desc": en}})

    def throttled(self, retry_after_s: int) -> Response:
        return self.error("2", f"调用次数超限，请{retry_after_s}秒后重试", "call limited, retry later")

    @staticmethod
    def business_error(method: str, message: str) -> Response:
        key = method.replace(".", "_") + "_responce"
        return json_response({key: {"code": "0", "searchorderinfo_result": {"apiResult": {
            "success": False, "resultCode": "1001", "chineseErr": message, "englishErr": message}}}})

    async def refresh(self, request: Request, duplicate: bool) -> Response:
        """JD's OAuth host ``/oauth2/refresh_token`` (``connectors.jd.REFRESH_PATH``): ``app_key``,
        ``app_secret``, ``grant_type=refresh_token``, ``refresh_token`` → ``{"code": 0, …token}``;
        refused with a non-zero ``code`` and ``msg`` [U: JD's exact codes]."""
        params = await request_params(request)
        shop = self.state.shop_by_app_key("jd", params.get("app_key"))
        if shop is None or params.get("app_secret") != self.state.secret(shop):
            return json_response({"code": 401, "msg": "app_key或app_secret无效"})
        if params.get("grant_type") != "refresh_token":
            return json_response({"code": 400, "msg": "grant_type须为refresh_token"})
        if not self.state.refresh_token_ok(shop, params.get("refresh_token")):
            return json_response({"code": 402, "msg": "refresh_token无效或已过期，请重新授权"})
        token, lifetime, refresh = self.state.issue_token(shop)
        now_ms = int(self.state.wall_now()) * 1000
        return json_response({"code": 0, "access_token": token, "expires_in": lifetime, "refresh_token": refresh,
                              "refresh_token_expires": now_ms + lifetime * 2000, "time": now_ms,
                              "uid": f"jd-{shop.id}", "token_type": "bearer", "scope": "snsapi_base"})

    async def router(self, request: Request, duplicate: bool) -> Response:
        params = await request_params(request)
        shop = self.state.shop_by_app_key("jd", params.get("app_key"))
        if shop is None:
            return self.error("18", "app_key无效", "invalid app_key")
        try:
            sent = parse_beijing(params.get("timestamp", ""))
        except ValueError:
            return self.error("8", "时间戳格式错误", "invalid timestamp")
        if abs(sent - self.state.wall_now()) > self.state.jd_timestamp_tolerance_s:
            minutes = f"{self.state.jd_timestamp_tolerance_s / 60:g}"
            return self.error("8", f"时间戳与服务器时间相差超过{minutes}分钟", "timestamp out of range")
        if not signatures_match(params.get("sign"), wrapped_md5_sign(params, self.state.secret(shop))):
            return self.error("12", "签名无效", "invalid signature")
        if params.get("access_token") != self.state.token(shop):
            return self.error("19", "access_token无效", "invalid access_token")
        try:
            business = orjson.loads(params.get("360buy_param_json") or "{}")
        except orjson.JSONDecodeError:
            return self.error("3", "360buy_param_json 不是合法的JSON", "360buy_param_json is not JSON")
        handler = {"jingdong.pop.order.search": self.search,
                   "jingdong.stock.write.updateSkuStock": self.update_stock,
                   "jingdong.stock.read.findSkuStock": self.read_stock,
                   "jingdong.pop.order.shipment": self.shipment}.get(params.get("method", ""))
        if handler is None:
            return self.error("20", "方法不存在", "method not found")
        return handler(shop, params["method"], business, duplicate)

    def search(self, shop, method: str, business: dict, duplicate: bool) -> Response:
        try:
            start, end = parse_beijing(business["start_date"]), parse_beijing(business["end_date"])
            page, page_size = int(business.get("page", 1)), int(business.get("page_size", 20))
        except (KeyError, ValueError):
            return self.business_error(method, "start_date/end_date（yyyy-MM-dd HH:mm:ss）必填，page/page_size须为整数")
        missing = SEARCH.missing(business)
        if missing:  # optional_fields: 必填,不填或者为空则请求被拒绝
            return self.business_error(method, f"{'、'.join(missing)}必填,不填或者为空则请求被拒绝")
        requested = tuple(f.strip() for f in str(business[SEARCH.fields_parameter]).split(",") if f.strip())
        if end < start or end - start > MAX_WINDOW_S:
            return self.business_error(method, "查询时间跨度不能超过一个月")
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            return self.business_error(method, f"page从1开始，page_size不能超过{MAX_PAGE_SIZE}")
        window = self.state.window(shop.id, start, end)
        orders = page_of_window(self.state, shop, window, (page - 1) * page_size, page_size, duplicate,
                                lambda view, j: only_requested(render_order(view, j), requested), ",".join(requested))
        return json_response({"jingdong_pop_order_search_responce": {"code": "0", "searchorderinfo_result": {
            "apiResult": {"success": True, "resultCode": "0", "chineseErr": "", "englishErr": ""},
            "orderTotal": int(len(window[0])), "orderInfoList": orders}}})

    def update_stock(self, shop, method: str, business: dict, duplicate: bool) -> Response:
        sku = Listings.of(self.state, "jd").sku_by_variant_id.get(str(business.get("skuId", "")))
        if sku is None or "stockNum" not in business:
            return self.error("15", "skuId不存在或缺少stockNum", "unknown skuId or missing stockNum")
        set_stock(self.state, shop, sku, int(business["stockNum"]), incremental=False)
        return json_response({"jingdong_stock_write_updateSkuStock_responce": {"code": "0", "success": True}})

    def read_stock(self, shop, method: str, business: dict, duplicate: bool) -> Response:
        listings = Listings.of(self.state, "jd")
        sku = listings.sku_by_variant_id.get(str(business.get("skuId", "")))
        if sku is None:
            return self.error("15", "skuId不存在", "unknown skuId")
        return json_response({"jingdong_stock_read_findSkuStock_responce": {"code": "0", "skuStocks": [
            {"skuId": int(business["skuId"]), "outerSkuId": sku, "stockNum": self.state.stock[(shop.id, sku)]}]}})

    def shipment(self, shop, method: str, business: dict, duplicate: bool) -> Response:
        order_id = str(business.get("orderId", ""))
        if order_index(self.state, shop, order_id) is None or not business.get("logiNo"):
            return self.error("15", "订单不存在或缺少运单号", "unknown orderId or missing logiNo")
        record_shipment(self.state, shop, order_id, str(business.get("logiCoprId", "")), str(business["logiNo"]))
        return json_response({"jingdong_pop_order_shipment_responce": {"code": "0",
                                                                      "sopjosshipment_result": {"success": True}}})
