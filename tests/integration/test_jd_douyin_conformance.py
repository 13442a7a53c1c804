"""The sandbox refuses what JD and Douyin refuse and answers as they answer, from the same
declarations the connectors build their requests from (``connectors.jd.DOCUMENTED``,
``connectors.douyin.DOCUMENTED``; issue 18 #1, #2, #6, conformance)."""
from __future__ import annotations

import pytest

from connectors import Credentials, PlatformError, build_connector, default_settings
from connectors.jd import DOCUMENTED as JD_DOCUMENTED, SEARCH_METHOD as JD_SEARCH
from domain.timeutil import format_beijing, unix_seconds


def connector_for(world, server, shop_id: str):
    shop = world.shop(shop_id)
    secret = world.credentials[shop_id]
    settings = default_settings(shop.platform, f"{server.url}/{shop.platform}", throttle_rate_per_s=500.0,
                                throttle_burst=500, max_retries=0)
    return build_connector(shop.platform, shop_id, settings, Credentials(
        app_key=secret.app_key, app_secret=secret.app_secret, access_token=secret.access_token))


def jd_search(world) -> dict:
    return {"start_date": format_beijing(world.scenario.start), "end_date": format_beijing(world.end),
            "order_state": "WAIT_SELLER_STOCK_OUT,WAIT_GOODS_RECEIVE_CONFIRM,FINISHED_L,LOCKED,TRADE_CANCELED",
            "page": "1", "page_size": "50"}


@pytest.mark.parametrize("optional_fields", [None, ""])
def test_jd_refuses_an_order_search_without_optional_fields(world, server, optional_fields):
    business = jd_search(world)
    if optional_fields is not None:
        business["optional_fields"] = optional_fields
    with connector_for(world, server, "jd-pop") as jd, pytest.raises(PlatformError) as info:
        jd._call(JD_SEARCH, business)
    assert "optional_fields" in str(info.value) and "被拒绝" in str(info.value)


def test_jd_returns_only_the_fields_listed_in_optional_fields(world, server):
    with connector_for(world, server, "jd-pop") as jd:
        _, payload = jd._call(JD_SEARCH, {**jd_search(world), "optional_fields": "orderId,orderState"})
        orders = payload["searchorderinfo_result"]["orderInfoList"]
        assert orders and all(set(order) == {"orderId", "orderState"} for order in orders)
        _, payload = jd._call(JD_SEARCH, {**jd_search(world), "optional_fields": JD_DOCUMENTED[JD_SEARCH].fields_value()})
        full = payload["searchorderinfo_result"]["orderInfoList"][0]
    assert set(full) <= set(JD_DOCUMENTED[JD_SEARCH].requested_fields)
    assert {"orderId", "itemInfoList", "consigneeInfo", "open_id_buyer"} <= set(full)
    assert "*" in full["pin"] and full["consigneeInfo"]["oaid"]      # pin masked; the address id is JD's oaid
    assert all("refundStatus" not in item for item in full["itemInfoList"])


def douyin_search(world, **business) -> dict:
    return {"update_time_start": unix_seconds(world.scenario.start), "update_time_end": unix_seconds(world.end),
            "order_by": "update_time", "order_asc": True, **business}


@pytest.mark.parametrize("missing", ["page", "size"])
def test_douyin_refuses_an_order_search_without_page_or_size(world, server, missing):
    business = douyin_search(world, page=0, size=10)
    business.pop(missing)
    with connector_for(world, server, "douyin-main") as douyin, pytest.raises(PlatformError) as info:
        douyin._call("order.searchList", business)
    # read from the current envelope (its sub_code), the only one sent to a client that opted out
    assert missing in str(info.value) and "40001 isv.parameter-invalid" in str(info.value)


def test_douyin_renders_unit_price_gifts_and_merge_identity_as_douyin_does(world, server):
    truth = world.ground_truth("douyin-main", world.end).lines.set_index(["order_id", "line_id"])
    with connector_for(world, server, "douyin-main") as douyin:
        _, data = douyin._call("order.searchList", douyin_search(world, page=0, size=100))
        body = douyin._last_body[0]
    assert body["code"] == 10000 and "err_no" not in body       # the connector opted out of the old form
    skus = [(order, sku) for order in data["shop_order_list"] for sku in order["sku_order_list"]]
    assert any(sku["item_num"] > 1 for _, sku in skus)
    for order, sku in skus:
        expected = truth.loc[(order["order_id"], sku["sku_order_id"])]
        assert sku["origin_amount"] == expected["unit_price_minor"]                 # unit price
        assert sku["sum_amount"] == sku["origin_amount"] * sku["item_num"]         # unit × quantity
        assert (sku["given_product_type"] == "FREE") == bool(expected["is_gift"]) and "is_gift" not in sku
        assert "goods_price" not in sku
    assert all(order["open_address_id"] for order, _ in skus)


def test_douyin_still_sends_the_old_envelope_to_a_client_that_did_not_opt_out(world, server):
    import hashlib
    import json
    import time
    from urllib.parse import urlencode
    from urllib.request import Request, urlopen

    secret = world.credentials["douyin-main"]
    param_json = json.dumps(douyin_search(world, page=0, size=1), separators=(",", ":"), sort_keys=True)
    timestamp = str(int(time.time()))
    sign = hashlib.md5(f"{secret.app_secret}app_key{secret.app_key}methodorder.searchListparam_json{param_json}"
                       f"timestamp{timestamp}v2{secret.app_secret}".encode()).hexdigest()
    query = urlencode({"app_key": secret.app_key, "method": "order.searchList", "access_token": secret.access_token,
                       "timestamp": timestamp, "v": "2", "sign": sign})
    request = Request(f"{server.url}/douyin/order/searchList?{query}", data=param_json.encode(),
                      headers={"Content-Type": "application/json"})
    body = json.loads(urlopen(request, timeout=10).read())
    assert body["code"] == 10000 and body["err_no"] == 0 and body["data"]["total"] > 0
