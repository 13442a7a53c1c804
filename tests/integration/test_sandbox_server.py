"""The sandbox marketplace over real HTTP, one platform at a time, with ``requests``.

Signatures are computed here from the specification (marketplace-apis.md), not with the
sandbox's own helpers, so a mistake in the server's signing cannot hide behind the same
mistake in the test.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from connectors.taobao import DEFAULT_FIELDS
from sandbox.server import SandboxServer

BEIJING = timezone(timedelta(hours=8))


@pytest.fixture()
def http(server):
    """A keep-alive session; the server's faults and clock are reset after each test."""
    with requests.Session() as session:
        yield session
    server.faults.clear()
    server.set_clock(server.world.end, rate=0)


def shop_of(world, platform):
    shop = next(s for s in world.shops if s.platform == platform)
    return shop, world.credentials[shop.id]


def beijing(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def wrapped_md5(params: dict, secret: str) -> str:
    text = "".join(f"{k}{v}" for k, v in sorted(params.items()) if v != "")
    return hashlib.md5((secret + text + secret).encode()).hexdigest().upper()


# --- Taobao TOP ---------------------------------------------------------------------------------

#: TOP's trade calls require ``fields`` (connectors.taobao.DOCUMENTED); a client always sends it
TRADE_METHODS = ("taobao.trades.sold.increment.get", "taobao.trade.fullinfo.get")


def top_call(http, server, cred, method, sign_method="md5", secret=None, timestamp=None, **business):
    if method in TRADE_METHODS:
        business.setdefault("fields", DEFAULT_FIELDS + ",tid_str")   # tid_str: the 64-bit id as text
    params = {"method": method, "app_key": cred.app_key, "session": cred.access_token, "format": "json", "v": "2.0",
              "sign_method": sign_method, "timestamp": timestamp or beijing(datetime.now(timezone.utc)),
              **{k: str(v) for k, v in business.items()}}
    text = "".join(f"{k}{v}" for k, v in sorted(params.items()) if v != "")
    key = (secret or cred.app_secret).encode()
    if sign_method == "md5":
        sign = hashlib.md5(key + text.encode() + key).hexdigest()
    else:
        sign = hmac.new(key, text.encode(), hashlib.md5 if sign_method == "hmac" else hashlib.sha256).hexdigest()
    params["sign"] = sign.upper()
    response = http.post(f"{server.url}/taobao/router/rest", data=params, timeout=10)
    assert response.status_code == 200
    return response.json()


def day_window(world):
    return beijing(world.scenario.start), beijing(world.scenario.start + timedelta(days=1) - timedelta(seconds=1))


@pytest.mark.parametrize("sign_method", ["md5", "hmac", "hmac-sha256"])
def test_taobao_accepts_each_sign_method_and_rejects_a_wrong_secret(http, server, world, sign_method):
    shop, cred = shop_of(world, "taobao")
    start, end = day_window(world)
    good = top_call(http, server, cred, "taobao.trades.sold.increment.get", sign_method,
                    start_modified=start, end_modified=end, page_size=5, use_has_next="true")
    assert "trades_sold_increment_get_response" in good
    bad = top_call(http, server, cred, "taobao.trades.sold.increment.get", sign_method, secret="not-the-secret",
                   start_modified=start, end_modified=end)
    assert bad["error_response"]["code"] == 25


def test_taobao_rejects_bad_session_stale_timestamp_and_long_window(http, server, world):
    shop, cred = shop_of(world, "taobao")
    start, end = day_window(world)
    stale = beijing(datetime.now(timezone.utc) - timedelta(minutes=11))
    assert top_call(http, server, cred, "taobao.trades.sold.increment.get", timestamp=stale,
                    start_modified=start, end_modified=end)["error_response"]["code"] == 31
    wrong_session = type(cred)(cred.app_key, cred.app_secret, "6100" + "0" * 36)
    assert top_call(http, server, wrong_session, "taobao.trades.sold.increment.get",
                    start_modified=start, end_modified=end)["error_response"]["code"] == 27
    too_long = top_call(http, server, cred, "taobao.trades.sold.increment.get", start_modified=start,
                        end_modified=beijing(world.scenario.start + timedelta(days=1, seconds=1)))
    assert too_long["error_response"]["code"] == 15
    assert top_call(http, server, cred, "taobao.trades.sold.increment.get", start_modified=start, end_modified=end,
                    page_size=101)["error_response"]["sub_code"] == "isv.invalid-parameter:page_size"


def test_taobao_pages_newest_modified_first_with_has_next_and_big_ids(http, server, world):
    shop, cred = shop_of(world, "taobao")
    start, end = day_window(world)
    seen, page_no, modified = [], 1, []
    while True:
        body = top_call(http, server, cred, "taobao.trades.sold.increment.get", start_modified=start, end_modified=end,
                        page_no=page_no, page_size=20, use_has_next="true")["trades_sold_increment_get_response"]
        trades = body["trades"]["trade"]
        seen += [t["tid_str"] for t in trades]
        modified += [t["modified"] for t in trades]
        for trade in trades:
            assert trade["tid"] > 2**53 and str(trade["tid"]) == trade["tid_str"]
            assert isinstance(trade["orders"]["order"], list) and trade["payment"].count(".") == 1
        if not body["has_next"]:
            break
        page_no += 1
    assert modified == sorted(modified, reverse=True)
    truth = world.ground_truth(shop.id)
    assert sorted(seen) == sorted(truth.orders["order_id"])

    simple = top_call(http, server, cred, "taobao.trades.sold.increment.get", start_modified=start, end_modified=end,
                      page_size=3, simplify="true")["trades_sold_increment_get_response"]
    assert isinstance(simple["trades"], list) and isinstance(simple["trades"][0]["orders"], list)
    assert simple["total_results"] == len(seen)

    tid = seen[0]
    full = top_call(http, server, cred, "taobao.trade.fullinfo.get", tid=tid)["trade_fullinfo_get_response"]["trade"]
    assert full["tid_str"] == tid and "buyer_message" in full


def test_taobao_stock_and_shipment_writes(http, server, world):
    shop, cred = shop_of(world, "taobao")
    item = top_call(http, server, cred, "taobao.item.seller.get", num_iid=600000000101,
                    fields="num_iid,skus")["item_seller_get_response"]["item"]
    sku = item["skus"]["sku"][0]
    top_call(http, server, cred, "taobao.item.quantity.update", num_iid=item["num_iid"], sku_id=sku["sku_id"],
             quantity=42, type=1)
    item = top_call(http, server, cred, "taobao.item.seller.get", num_iid=600000000101)["item_seller_get_response"]["item"]
    assert item["skus"]["sku"][0]["quantity"] == 42
    tid = world.ground_truth(shop.id).orders["order_id"].iloc[0]
    sent = top_call(http, server, cred, "taobao.logistics.offline.send", tid=tid, out_sid="SF123", company_code="SF")
    assert sent["logistics_offline_send_response"]["shipping"]["is_success"] is True
    writes = http.get(f"{server.url}/_sandbox/writes", params={"shop_id": shop.id}).json()
    assert {"order_id": tid, "tracking_no": "SF123"}.items() <= writes["shipments"][-1].items()


# --- JD ------------------------------------------------------------------------------------------

def jd_call(http, server, cred, method, business, secret=None, timestamp=None):
    params = {"method": method, "app_key": cred.app_key, "access_token": cred.access_token, "v": "2.0",
              "timestamp": timestamp or beijing(datetime.now(timezone.utc)),
              "360buy_param_json": json.dumps(business, separators=(",", ":"), ensure_ascii=False)}
    params["sign"] = wrapped_md5(params, secret or cred.app_secret)
    return http.post(f"{server.url}/jd/routerjson", data=params, timeout=10).json()


def test_jd_order_search_signs_pages_and_limits(http, server, world):
    shop, cred = shop_of(world, "jd")
    start, end = day_window(world)
    business = {"start_date": start, "end_date": end, "page": 1, "page_size": 50,
                "optional_fields": "orderId,orderState,orderPayment,consigneeInfo,itemInfoList,modified"}
    refused = jd_call(http, server, cred, "jingdong.pop.order.search", {**business, "optional_fields": ""})
    assert refused["jingdong_pop_order_search_responce"]["searchorderinfo_result"]["apiResult"]["success"] is False
    body = jd_call(http, server, cred, "jingdong.pop.order.search", business)
    result = body["jingdong_pop_order_search_responce"]["searchorderinfo_result"]
    assert result["apiResult"]["success"] is True
    assert result["orderTotal"] == len(world.ground_truth(shop.id).orders)
    order = result["orderInfoList"][0]
    assert {"orderId", "orderState", "orderPayment", "consigneeInfo", "itemInfoList", "modified"} <= set(order)
    assert jd_call(http, server, cred, "jingdong.pop.order.search", business, secret="x")["error_response"]["code"] == "12"
    stale = beijing(datetime.now(timezone.utc) - timedelta(minutes=7))
    assert jd_call(http, server, cred, "jingdong.pop.order.search", business, timestamp=stale)["error_response"]["code"] == "8"
    too_big = jd_call(http, server, cred, "jingdong.pop.order.search", {**business, "page_size": 51})
    assert too_big["jingdong_pop_order_search_responce"]["searchorderinfo_result"]["apiResult"]["success"] is False
    month = jd_call(http, server, cred, "jingdong.pop.order.search",
                    {**business, "start_date": beijing(world.scenario.start - timedelta(days=40))})
    assert month["jingdong_pop_order_search_responce"]["searchorderinfo_result"]["apiResult"]["success"] is False


# --- PDD -----------------------------------------------------------------------------------------

def pdd_call(http, server, cred, type_, secret=None, **business):
    if type_ == "pdd.order.number.list.increment.get":   # required (connectors.pdd.DOCUMENTED): 0/5/5 = all
        business = {"is_lucky_flag": 0, "order_status": 5, "refund_status": 5, **business}
    params = {"type": type_, "client_id": cred.app_key, "access_token": cred.access_token, "data_type": "JSON",
              "timestamp": str(int(time.time())), **{k: str(v) for k, v in business.items()}}
    params["sign"] = wrapped_md5(params, secret or cred.app_secret)
    return http.post(f"{server.url}/pdd/api/router", data=params, timeout=10).json()


def test_pdd_increment_window_paging_and_ciphertext(http, server, world):
    shop, cred = shop_of(world, "pdd")
    truth = world.ground_truth(shop.id).orders
    latest = int(truth["modified_at"].max().timestamp())
    start, end = latest - 1800, latest
    body = pdd_call(http, server, cred, "pdd.order.number.list.increment.get", start_updated_at=start,
                    end_updated_at=end, page=1, page_size=100, use_has_next="true")["order_sn_increment_get_response"]
    assert body["order_sn_list"] and body["has_next"] is False
    order = body["order_sn_list"][0]
    assert order["receiver_name"].startswith("~AgAAAAE") and "*" in order["receiver_phone_mask"]
    assert isinstance(order["pay_amount"], float)
    too_long = pdd_call(http, server, cred, "pdd.order.number.list.increment.get", start_updated_at=start - 1,
                        end_updated_at=end)
    assert too_long["error_response"]["error_code"] == 50001
    bad_sign = pdd_call(http, server, cred, "pdd.order.number.list.increment.get", secret="x",
                        start_updated_at=start, end_updated_at=end)
    assert bad_sign["error_response"]["error_code"] == 10018


# --- Douyin --------------------------------------------------------------------------------------

def douyin_call(http, server, cred, path, business, sign_method="md5", secret=None):
    method = path.replace("/", ".")
    param_json = json.dumps(business, separators=(",", ":"), sort_keys=True)
    timestamp = str(int(time.time()))
    key = secret or cred.app_secret
    text = f"{key}app_key{cred.app_key}method{method}param_json{param_json}timestamp{timestamp}v2{key}"
    sign = (hashlib.md5(text.encode()).hexdigest() if sign_method == "md5"
            else hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest())
    query = {"app_key": cred.app_key, "method": method, "access_token": cred.access_token, "param_json": param_json,
             "timestamp": timestamp, "v": "2", "sign": sign, "sign_method": sign_method}
    return http.post(f"{server.url}/douyin/{path}", params=query, timeout=10).json()


@pytest.mark.parametrize("sign_method", ["md5", "hmac-sha256"])
def test_douyin_search_pages_from_zero(http, server, world, sign_method):
    shop, cred = shop_of(world, "douyin")
    start = int(world.scenario.start.timestamp())
    business = {"update_time_start": start, "update_time_end": start + 86400, "page": 0, "size": 10}
    first = douyin_call(http, server, cred, "order/searchList", business, sign_method)
    assert first["err_no"] == 0 and first["data"]["page"] == 0
    orders = first["data"]["shop_order_list"]
    assert len(orders) == 10 and isinstance(orders[0]["pay_amount"], int) and isinstance(orders[0]["update_time"], int)
    second = douyin_call(http, server, cred, "order/searchList", {**business, "page": 1}, sign_method)
    assert not {o["order_id"] for o in orders} & {o["order_id"] for o in second["data"]["shop_order_list"]}
    assert first["data"]["total"] == len(world.ground_truth(shop.id).orders)
    assert douyin_call(http, server, cred, "order/searchList", business, sign_method, secret="x")["err_no"] == 30005
    assert douyin_call(http, server, cred, "order/searchList", {**business, "size": 101})["err_no"] == 40001


# --- Shopify -------------------------------------------------------------------------------------

def test_shopify_link_cursor_and_later_page_rule(http, server, world):
    shop, cred = shop_of(world, "shopify")
    base = f"{server.url}/shopify/{shop.id}/admin/api/2026-10"
    headers = {"X-Shopify-Access-Token": cred.access_token}
    assert http.get(f"{base}/orders.json", params={"status": "any"}, timeout=10).status_code == 401
    assert http.get(f"{base}/orders.json", headers=headers, timeout=10).status_code == 400  # no status=any
    assert http.get(f"{base}/orders.json", params={"status": "any", "limit": 251}, headers=headers).status_code == 400
    params = {"status": "any", "limit": 10, "updated_at_min": world.scenario.start.astimezone().isoformat(),
              "updated_at_max": world.end.astimezone(timezone(timedelta(hours=-8))).isoformat()}
    response = http.get(f"{base}/orders.json", params=params, headers=headers, timeout=10)
    ids = [o["id"] for o in response.json()["orders"]]
    order = response.json()["orders"][0]
    assert order["updated_at"].endswith("-08:00") and "shop_money" in order["total_price_set"]
    while 'rel="next"' in response.headers.get("Link", ""):
        next_url = response.links["next"]["url"]
        rejected = http.get(next_url, params={"status": "any"}, headers=headers, timeout=10)
        assert rejected.status_code == 400
        response = http.get(next_url, headers=headers, timeout=10)
        ids += [o["id"] for o in response.json()["orders"]]
    assert sorted(map(str, ids)) == sorted(world.ground_truth(shop.id).orders["order_id"])
    assert 'rel="previous"' in response.headers["Link"]


def test_shopify_fields_parameter_returns_only_those_fields(http, server, world):
    shop, cred = shop_of(world, "shopify")
    response = http.get(f"{server.url}/shopify/{shop.id}/admin/api/2026-10/orders.json",
                        params={"status": "any", "limit": 5, "fields": "id,updated_at",
                                "updated_at_min": world.scenario.start.isoformat()},
                        headers={"X-Shopify-Access-Token": cred.access_token}, timeout=10)
    assert response.status_code == 200
    orders = response.json()["orders"]
    assert orders and all(set(o) == {"id", "updated_at"} for o in orders)


def test_shopify_nests_refunds_like_the_fixtures(http, server, world):
    shop, cred = shop_of(world, "shopify")
    server.set_clock(world.end + timedelta(days=30))
    headers = {"X-Shopify-Access-Token": cred.access_token}
    orders = http.get(f"{server.url}/shopify/{shop.id}/admin/api/2026-10/orders.json",
                      params={"status": "any", "limit": 250, "updated_at_min": world.scenario.start.isoformat()},
                      headers=headers, timeout=10).json()["orders"]
    refunded = [o for o in orders if o["refunds"]]
    assert refunded, "smoke has refunds once the clock has passed them"
    line = refunded[0]["refunds"][0]["refund_line_items"][0]
    assert {"line_item_id", "quantity", "subtotal", "line_item"} <= set(line)
    assert refunded[0]["financial_status"] in ("refunded", "partially_refunded")


# --- Amazon --------------------------------------------------------------------------------------

def test_amazon_next_token_overrides_filters_and_items_have_money_objects(http, server, world):
    shop, cred = shop_of(world, "amazon")
    url = f"{server.url}/amazon/orders/v0/orders"
    headers = {"x-amz-access-token": cred.access_token}
    assert http.get(url, params={"MarketplaceIds": "ATVPDKIKX0DER"}, timeout=10).status_code == 403
    params = {"MarketplaceIds": "ATVPDKIKX0DER", "LastUpdatedAfter": "2026-11-01T00:00:00Z", "MaxResultsPerPage": 15}
    assert http.get(url, params={**params, "MaxResultsPerPage": 101}, headers=headers).status_code == 400
    assert http.get(url, params={**params, "LastUpdatedBefore": datetime.now(timezone.utc).isoformat()},
                    headers=headers).status_code == 400
    payload = http.get(url, params=params, headers=headers, timeout=10).json()["payload"]
    ids = [o["AmazonOrderId"] for o in payload["Orders"]]
    assert payload["Orders"][0]["OrderTotal"].keys() == {"CurrencyCode", "Amount"}
    while "NextToken" in payload:
        # the token overrides every filter: a contradicting LastUpdatedAfter is ignored
        payload = http.get(url, params={"MarketplaceIds": "ATVPDKIKX0DER", "NextToken": payload["NextToken"],
                                        "LastUpdatedAfter": "2030-01-01T00:00:00Z"}, headers=headers).json()["payload"]
        ids += [o["AmazonOrderId"] for o in payload["Orders"]]
    assert sorted(ids) == sorted(world.ground_truth(shop.id).orders["order_id"])
    items = http.get(f"{url}/{ids[0]}/orderItems", headers=headers, timeout=10).json()["payload"]
    assert items["AmazonOrderId"] == ids[0] and items["OrderItems"][0]["ItemPrice"]["CurrencyCode"] == "USD"


# --- moving rows, faults, clock, lifecycle -------------------------------------------------------

def test_a_late_change_moves_an_order_to_the_first_page_while_scanning(http, server, world):
    """Newest-modified first: an old order that ships mid-scan jumps from a late page to page 1."""
    shop, cred = shop_of(world, "taobao")
    start, end = day_window(world)
    orders = world.orders[shop.id]
    day_start = world.scenario.start.timestamp()
    i = next(k for k in range(len(orders))
             if orders.paid[k] < day_start + 6 * 3600 and day_start + 12 * 3600 < orders.shipped[k] < day_start + 86000)
    tid = world.ground_truth(shop.id).orders["order_id"].iloc[i]
    shipped = datetime.fromtimestamp(int(orders.shipped[i]), timezone.utc)

    def first_page():
        return top_call(http, server, cred, "taobao.trades.sold.increment.get", start_modified=start, end_modified=end,
                        page_size=5, simplify="true")["trades_sold_increment_get_response"]["trades"]

    server.set_clock(shipped - timedelta(seconds=1))
    assert tid not in [t["tid_str"] for t in first_page()]
    server.set_clock(shipped)
    moved = first_page()[0]
    assert moved["tid_str"] == tid and moved["status"] == "WAIT_BUYER_CONFIRM_GOODS"


@pytest.mark.parametrize("kind", ["server_error", "throttle", "truncated_body", "slow", "duplicate_rows"])
def test_each_fault_kind_is_observed(http, server, world, kind):
    shop, cred = shop_of(world, "taobao")
    start, end = day_window(world)
    http.post(f"{server.url}/_sandbox/faults", json={"slow_seconds": 0.3, "throttle_retry_after_seconds": 3})
    http.post(f"{server.url}/_sandbox/faults", json={"force": {"kind": kind, "platform": "taobao", "count": 1}})
    params = {"method": "taobao.trades.sold.increment.get", "app_key": cred.app_key, "session": cred.access_token,
              "sign_method": "md5", "timestamp": beijing(datetime.now(timezone.utc)), "start_modified": start,
              "end_modified": end, "page_no": "2", "page_size": "10", "simplify": "true", "fields": DEFAULT_FIELDS}
    text = "".join(f"{k}{v}" for k, v in sorted(params.items()))
    params["sign"] = hashlib.md5((cred.app_secret + text + cred.app_secret).encode()).hexdigest().upper()
    began = time.monotonic()
    response = http.post(f"{server.url}/taobao/router/rest", data=params, timeout=10)
    if kind == "server_error":
        assert response.status_code >= 500
    elif kind == "throttle":
        error = response.json()["error_response"]
        assert response.status_code == 200 and error["code"] == 7
        assert error["sub_msg"] == "This ban will last for 3 more seconds"
    elif kind == "truncated_body":
        with pytest.raises(ValueError):
            response.json()
    elif kind == "slow":
        assert time.monotonic() - began >= 0.3 and response.json()["trades_sold_increment_get_response"]
    else:
        trades = response.json()["trades_sold_increment_get_response"]["trades"]
        assert len(trades) == 11   # the last row of page 1 repeated
    stats = http.get(f"{server.url}/_sandbox/stats").json()
    assert stats["taobao"][f"fault:{kind}"] >= 1


def test_shopify_and_amazon_throttle_with_429_and_retry_after(http, server, world):
    shopify, shopify_cred = shop_of(world, "shopify")
    amazon, amazon_cred = shop_of(world, "amazon")
    server.faults.force("throttle", "shopify")
    server.faults.force("throttle", "amazon")
    shopify_reply = http.get(f"{server.url}/shopify/{shopify.id}/admin/api/2026-10/orders.json",
                             params={"status": "any", "limit": 50, "updated_at_min": "2026-11-01T00:00:00Z"},
                             headers={"X-Shopify-Access-Token": shopify_cred.access_token})
    amazon_reply = http.get(f"{server.url}/amazon/orders/v0/orders", headers={"x-amz-access-token": amazon_cred.access_token},
                            params={"MarketplaceIds": "ATVPDKIKX0DER", "LastUpdatedAfter": "2026-11-01T00:00:00Z"})
    assert shopify_reply.status_code == 429 and float(shopify_reply.headers["Retry-After"]) >= 0
    assert amazon_reply.status_code == 429 and amazon_reply.json()["errors"][0]["code"] == "QuotaExceeded"


def test_clock_skew_fault_makes_fresh_timestamps_stale(http, server, world):
    shop, cred = shop_of(world, "taobao")
    start, end = day_window(world)
    http.post(f"{server.url}/_sandbox/faults", json={"clock_skew_seconds": 900})
    skewed = top_call(http, server, cred, "taobao.trades.sold.increment.get", start_modified=start, end_modified=end)
    assert skewed["error_response"]["code"] == 31


def test_clock_control_endpoint(http, server, world):
    later = (world.end + timedelta(days=2)).isoformat()
    reply = http.post(f"{server.url}/_sandbox/clock", json={"now": later}).json()
    assert reply["now"] == later
    assert http.post(f"{server.url}/_sandbox/clock", json={"advance_seconds": 60}).json()["now"] == \
        (world.end + timedelta(days=2, seconds=60)).isoformat()
    assert http.post(f"{server.url}/_sandbox/clock", json={"now": "2026-11-20T00:00:00"}).status_code == 400


def test_server_stops_cleanly_and_releases_its_port(world):
    server = SandboxServer(world).start()
    port = server.port
    assert requests.get(f"{server.url}/_sandbox/health", timeout=5).json()["status"] == "ok"
    server.stop()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))   # would raise if the server still held it
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=2)


def test_shopify_cursor_is_opaque_base64(http, server, world):
    shop, cred = shop_of(world, "shopify")
    response = http.get(f"{server.url}/shopify/{shop.id}/admin/api/2026-10/orders.json",
                        params={"status": "any", "limit": 5, "updated_at_min": world.scenario.start.isoformat()},
                        headers={"X-Shopify-Access-Token": cred.access_token})
    page_info = response.links["next"]["url"].split("page_info=")[1]
    base64.urlsafe_b64decode(page_info + "=" * (-len(page_info) % 4))


def test_cli_prints_url_and_credentials_path_but_never_a_secret(tmp_path):
    import signal
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--scenario", "smoke", "--port", "0",
                                "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        printed = [process.stdout.readline() for _ in range(3)]
        url = printed[0].split()[2]
        credentials_file = tmp_path / "credentials.json"
        assert printed[1].strip() == f"credentials: {credentials_file.resolve()}"
        assert oct(credentials_file.stat().st_mode & 0o777) == "0o600"
        credentials = json.loads(credentials_file.read_text())
        assert credentials["jd-pop"]["platform"] == "jd"
        assert requests.get(f"{url}/_sandbox/health", timeout=5).json()["scenario"] == "smoke"
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    output = "".join(printed) + rest
    assert not any(c["app_secret"] in output or c["access_token"] in output for c in credentials.values())


def _all_orders(http, server, world, platform):
    """Every order of the platform's first shop over the scenario day: (id, total, status)."""
    from decimal import Decimal

    shop, cred = shop_of(world, platform)
    day_start = world.scenario.start
    rows = []
    if platform == "taobao":
        start, end = day_window(world)
        page = 1
        while True:
            body = top_call(http, server, cred, "taobao.trades.sold.increment.get", start_modified=start,
                            end_modified=end, page_no=page, page_size=100, simplify="true",
                            use_has_next="true")["trades_sold_increment_get_response"]
            rows += [(t["tid_str"], Decimal(t["payment"]), t["status"]) for t in body["trades"]]
            if not body["has_next"]:
                return rows
            page += 1
    if platform == "jd":
        start, end = day_window(world)
        body = jd_call(http, server, cred, "jingdong.pop.order.search", {"start_date": start, "end_date": end,
                                                                           "page": 1, "page_size": 50,
                                                                           "optional_fields": "orderId,orderPayment,orderState"})
        orders = body["jingdong_pop_order_search_responce"]["searchorderinfo_result"]["orderInfoList"]
        return [(o["orderId"], Decimal(o["orderPayment"]), o["orderState"]) for o in orders]
    if platform == "pdd":
        low = int(day_start.timestamp())
        for k in range(49):
            body = pdd_call(http, server, cred, "pdd.order.number.list.increment.get", start_updated_at=low + k * 1800,
                            end_updated_at=low + k * 1800 + 1799, page=1, page_size=100)
            rows += [(o["order_sn"], Decimal(str(o["pay_amount"])), str(o["order_status"]))
                     for o in body["order_sn_increment_get_response"]["order_sn_list"]]
        return rows
    if platform == "douyin":
        low = int(day_start.timestamp())
        body = douyin_call(http, server, cred, "order/searchList", {"update_time_start": low, "update_time_end": low + 86400,
                                                                    "page": 0, "size": 100})
        # main_status is Douyin's status of record (it alone has 103 部分支付, a presale's deposit paid)
        return [(o["order_id"], Decimal(o["pay_amount"]) / 100, str(o["main_status"]))
                for o in body["data"]["shop_order_list"]]
    if platform == "shopify":
        orders = http.get(f"{server.url}/shopify/{shop.id}/admin/api/2026-10/orders.json",
                          params={"status": "any", "limit": 250, "updated_at_min": world.scenario.start.isoformat()},
                          headers={"X-Shopify-Access-Token": cred.access_token}).json()["orders"]
        return [(str(o["id"]), Decimal(o["total_price"]), o["financial_status"]) for o in orders]
    orders = http.get(f"{server.url}/amazon/orders/v0/orders", headers={"x-amz-access-token": cred.access_token},
                      params={"MarketplaceIds": "ATVPDKIKX0DER", "LastUpdatedAfter": day_start.isoformat()}).json()
    # a Pending order carries no OrderTotal (documented), so no total to compare
    return [(o["AmazonOrderId"], Decimal(o["OrderTotal"]["Amount"]) if "OrderTotal" in o else None, o["OrderStatus"])
            for o in orders["payload"]["Orders"]]


@pytest.mark.parametrize("platform", ["taobao", "jd", "pdd", "douyin", "shopify", "amazon"])
def test_wire_totals_and_statuses_match_the_ground_truth(http, server, world, platform):
    rows = _all_orders(http, server, world, platform)
    truth = world.ground_truth(shop_of(world, platform)[0].id).orders.set_index("order_id")
    assert sorted(r[0] for r in rows) == sorted(truth.index)
    for order_id, total, status in rows:
        if total is None:
            assert (platform, status) == ("amazon", "Pending"), order_id
            continue
        assert int(total * 100) == truth.at[order_id, "total_minor"], order_id
        assert status == truth.at[order_id, "platform_status"], order_id
