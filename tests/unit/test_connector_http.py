"""Connector behaviour over real HTTP against a tiny local server written here.

Each test scripts the server's answers (``FakeApi``) and checks what the connector sent
and what it made of the answers: window splitting, paging order, Shopify's cursor rule,
Amazon's NextToken, throttles, retries, truncated bodies and secret redaction. Sleeps are
recorded instead of slept so stated waits can be checked exactly and the suite stays fast.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

import pytest

from connectors import (AuthError, Credentials, PlatformError, ThrottledError, TransientError, build_connector,
                        default_settings, redact)
from connectors.http import TokenBucket

UTC = timezone.utc
NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
SECRET, TOKEN = "s3cr3t-app-secret-value", "tok/en+with=chars-123"
CREDS = Credentials(app_key="app-key-1", app_secret=SECRET, access_token=TOKEN)


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    form: dict
    json: object
    headers: dict


@dataclass
class Answer:
    body: object = None
    status: int = 200
    headers: dict = field(default_factory=dict)
    truncate: bool = False  # promise more bytes than sent, then close


class FakeApi:
    """A real HTTP server on 127.0.0.1 whose answers come from ``handler(Seen) -> Answer``."""

    def __init__(self, handler: Callable[[Seen], Answer]):
        self.handler, self.seen = handler, []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _serve(self):
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                text = raw.decode()
                content_type = self.headers.get("Content-Type", "")
                seen = Seen(self.command, url.path, dict(parse_qsl(url.query)),
                            dict(parse_qsl(text)) if "form" in content_type else {},
                            json.loads(text) if "json" in content_type and text else None, dict(self.headers))
                api.seen.append(seen)
                answer = api.handler(seen)
                payload = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload) + (50 if answer.truncate else 0)))
                self.end_headers()
                self.wfile.write(payload)
                if answer.truncate:
                    self.close_connection = True

            do_GET = do_POST = do_PATCH = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    servers = []

    def start(handler):
        servers.append(FakeApi(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


class Sleeps(list):
    """Records requested sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connector(platform: str, base_url: str, sleeps: Sleeps | None = None, **overrides):
    settings = default_settings(platform, base_url, throttle_rate_per_s=1000.0, throttle_burst=1000,
                                backoff_base_s=0.01, backoff_cap_s=0.05, timeout_s=5.0, **overrides)
    return build_connector(platform, "shop-1", settings, CREDS, clock=lambda: NOW,
                           sleep=sleeps if sleeps is not None else Sleeps())


def trade(tid: int, modified: str, with_lines: bool = True) -> dict:
    record = {"tid": tid, "status": "WAIT_SELLER_SEND_GOODS", "payment": "10.00", "modified": modified}
    if with_lines:
        record["orders"] = {"order": [{"oid": tid * 10, "num": 1, "price": "10.00", "total_fee": "10.00"}]}
    return record


def top_page(trades: list[dict], total: int) -> dict:
    return {"trades_sold_increment_get_response": {"total_results": total, "trades": {"trade": trades}}}


# --- windows and paging ------------------------------------------------------------------

def test_taobao_splits_long_windows_to_one_day_and_stops_before_now(api):
    server = api(lambda seen: Answer(top_page([], 0)))
    with connector("taobao", server.root + "/taobao") as top:
        pages = list(top.pull_orders(NOW - timedelta(days=2, hours=12), NOW + timedelta(hours=5)))
    windows = [(s.form["start_modified"], s.form["end_modified"]) for s in server.seen]
    assert windows == [  # Beijing time; ends at now − 1 min safety lag, not in the future
        ("2026-11-09 08:00:00", "2026-11-10 08:00:00"),
        ("2026-11-10 08:00:00", "2026-11-11 08:00:00"),
        ("2026-11-11 08:00:00", "2026-11-11 19:59:00"),
    ]
    assert all(s.path == "/taobao/router/rest" and s.method == "POST" for s in server.seen)
    assert {s.form["method"] for s in server.seen} == {"taobao.trades.sold.increment.get"}
    first = server.seen[0].form
    assert (first["session"], first["format"], first["v"], first["sign_method"]) == (TOKEN, "json", "2.0", "md5")
    signed = "".join(f"{k}{v}" for k, v in sorted(first.items()) if k != "sign" and v)
    assert first["sign"] == hashlib.md5(f"{SECRET}{signed}{SECRET}".encode()).hexdigest().upper()
    assert len(pages) == 3 and pages[0].window_end - pages[0].window_start == timedelta(days=1)


def test_taobao_pages_backwards_and_dedups_keeping_the_newest(api):
    pages_by_no = {
        1: [trade(2**60 + 1, "2026-11-11 10:00:00")],
        2: [trade(2**60 + 2, "2026-11-11 09:00:00"), trade(2**60 + 1, "2026-11-11 09:30:00")],
        3: [trade(2**60 + 3, "2026-11-11 08:00:00"), trade(2**60 + 2, "2026-11-11 09:00:00")],
    }
    server = api(lambda seen: Answer(top_page(pages_by_no[int(seen.form["page_no"])], 250)))
    with connector("taobao", server.root + "/taobao", full_info="never") as top:
        pages = list(top.pull_orders(NOW - timedelta(hours=2), NOW))
    assert [int(s.form["page_no"]) for s in server.seen][:4] == [1, 3, 2, 1]  # count, then last → first
    # the count says 250, the pages hold 3 orders: the window is read once more, then reported incomplete
    assert [p.page_no for p in pages] == [3, 2, 1, 3, 2, 1] and len(server.seen) == 8
    assert [(c.expected, c.captured, c.reads, c.complete) for c in top.window_counts] == [(250, 3, 2, False)]
    kept = [(r["tid"], r["modified"]) for p in pages for r in p.records]
    assert kept == [(2**60 + 3, "2026-11-11 08:00:00"), (2**60 + 2, "2026-11-11 09:00:00"),  # same version: once
                    (2**60 + 1, "2026-11-11 09:30:00"), (2**60 + 1, "2026-11-11 10:00:00")]  # newer: yielded
    assert isinstance(pages[0].records[0]["tid"], int) and pages[0].records[0]["tid"] == 2**60 + 3  # exact
    assert b'"tid": 1152921504606846979' in pages[0].raw  # the body as received


def test_taobao_fetches_full_info_for_partial_trades_only(api):
    def handler(seen):
        if seen.form["method"] == "taobao.trade.fullinfo.get":
            return Answer({"trade_fullinfo_get_response": {"trade": trade(int(seen.form["tid"]), "2026-11-11 10:00:00")}})
        return Answer(top_page([trade(7, "2026-11-11 10:00:00", with_lines=False), trade(8, "2026-11-11 10:00:00")], 2))

    server = api(handler)
    with connector("taobao", server.root + "/taobao") as top:
        (page,) = list(top.pull_orders(NOW - timedelta(hours=1), NOW))
    assert [s.form.get("tid") for s in server.seen] == [None, "7"]
    assert all(r["orders"] for r in page.records) and len(page.related_raw) == 1


def test_pdd_windows_of_30_minutes_ending_3_minutes_before_now_pages_backwards(api):
    def handler(seen):
        total = 150 if seen.form["start_updated_at"] == str(int((NOW - timedelta(minutes=45)).timestamp())) else 0
        page = int(seen.form["page"])
        orders = [{"order_sn": f"sn-{page}", "updated_at": "2026-11-11 19:00:00"}] if total else []
        return Answer({"order_sn_increment_get_response": {"total_count": total, "order_sn_list": orders}})

    server = api(handler)
    with connector("pdd", server.root + "/pdd") as pdd:
        pages = list(pdd.pull_orders(NOW - timedelta(minutes=45), NOW))
    windows = sorted({(int(s.form["start_updated_at"]), int(s.form["end_updated_at"])) for s in server.seen})
    start = int((NOW - timedelta(minutes=45)).timestamp())
    assert windows == [(start, start + 1800), (start + 1800, int(NOW.timestamp()) - 180)]
    first_window = [int(s.form["page"]) for s in server.seen if int(s.form["start_updated_at"]) == start]
    assert first_window == [1, 2, 1] * 2   # the count says 150, the pages hold 2: read again
    assert server.seen[0].path == "/pdd/api/router" and server.seen[0].form["client_id"] == "app-key-1"
    assert [r["order_sn"] for p in pages for r in p.records] == ["sn-2", "sn-1"]


def test_douyin_pages_from_zero_with_signed_query(api):
    def handler(seen):  # param_json arrives as the JSON body
        rows = ["a", "b"] if seen.json["page"] == 0 else ["c"]
        return Answer({"err_no": 0, "data": {"total": 3, "shop_order_list": [
            {"order_id": f"o{seen.json['page']}{r}", "update_time": 1} for r in rows]}})

    server = api(handler)
    with connector("douyin", server.root + "/douyin", page_size=2) as douyin:
        pages = list(douyin.pull_orders(NOW - timedelta(hours=1), NOW))
    assert [s.json["page"] for s in server.seen] == [0, 1, 0]  # count, then last → first
    assert server.seen[0].path == "/douyin/order/searchList"
    assert server.seen[0].query["method"] == "order.searchList" and len(server.seen[0].query["sign"]) == 32
    assert [p.page_no for p in pages] == [1, 0]


def test_jd_reads_backwards_so_a_row_leaving_the_window_cannot_hide_another(api):
    """Newest first, 5 orders, pages of 2; right after the count request order "d" is
    modified again and leaves the window, so "c" moves up onto page 1. Read forwards,
    "c" would be skipped for good; read backwards, every remaining order is seen."""
    window_rows = ["e", "d", "c", "b", "a"]

    def handler(seen):
        page = int(json.loads(seen.form["360buy_param_json"])["page"])
        rows, total = window_rows[(page - 1) * 2:page * 2], len(window_rows)
        if len(server.seen) == 1:
            window_rows.remove("d")
        return Answer({"jingdong_pop_order_search_responce": {"code": "0", "searchorderinfo_result": {
            "orderTotal": total, "orderInfoList": [{"orderId": r, "modified": "2026-11-11 10:00:00"} for r in rows]}}})

    server = api(handler)
    with connector("jd", server.root + "/jd", page_size=2) as jd:
        pages = list(jd.pull_orders(NOW - timedelta(hours=1), NOW))
    assert [json.loads(s.form["360buy_param_json"])["page"] for s in server.seen] == ["1", "3", "2", "1"]
    assert {r["orderId"] for p in pages for r in p.records} == {"e", "c", "b", "a"}
    # the count of the last request (4: "d" has left) is met by what was read: complete, read once
    assert [(c.expected, c.captured, c.reads) for c in jd.window_counts] == [(4, 4, 1)]
    assert server.seen[0].path == "/jd/routerjson" and server.seen[0].form["access_token"] == TOKEN


def test_shopify_cursor_pages_send_only_page_info_limit_and_fields(api):
    def handler(seen):
        if seen.path.endswith("/orders/count.json"):
            return Answer({"count": 2})
        if "page_info" not in seen.query:
            link = f'<{api_root}/shopify/shop-1/admin/api/2026-10/orders.json?limit=2&page_info=CURSOR2>; rel="next"'
            return Answer({"orders": [{"id": 1, "updated_at": "2026-11-11T01:00:00-05:00"}]}, headers={"Link": link})
        return Answer({"orders": [{"id": 2, "updated_at": "2026-11-11T02:00:00-05:00"}]},
                      headers={"Link": f'<{api_root}/x?page_info=CURSOR1>; rel="previous"'})

    server = api(handler)
    api_root = server.root
    with connector("shopify", server.root + "/shopify/shop-1", page_size=2, fields="id,updated_at") as shop:
        pages = list(shop.pull_orders(NOW - timedelta(hours=3), NOW))
    first, second, count = server.seen
    assert count.path == "/shopify/shop-1/admin/api/2026-10/orders/count.json"   # the same filter as the list
    assert {k: count.query[k] for k in ("status", "updated_at_min", "updated_at_max")} == {
        k: first.query[k] for k in ("status", "updated_at_min", "updated_at_max")}
    assert [(c.expected, c.captured) for c in shop.window_counts] == [(2, 2)]
    assert first.path == "/shopify/shop-1/admin/api/2026-10/orders.json"
    assert first.query["status"] == "any" and first.query["updated_at_min"] == "2026-11-11T09:00:00+00:00"
    assert second.query == {"page_info": "CURSOR2", "limit": "2", "fields": "id,updated_at"}
    assert first.headers["X-Shopify-Access-Token"] == TOKEN
    assert [r["id"] for p in pages for r in p.records] == [1, 2]


def test_amazon_next_token_follow_up_repeats_the_window_start_and_items_come_per_order(api):
    def handler(seen):
        if seen.path.endswith("/orderItems"):
            order_id = seen.path.split("/")[-2]
            if order_id == "A-1" and "NextToken" not in seen.query:
                return Answer({"payload": {"AmazonOrderId": "A-1", "NextToken": "ITEMS2", "OrderItems": [{"OrderItemId": "i1"}]}})
            return Answer({"payload": {"AmazonOrderId": order_id, "OrderItems": [{"OrderItemId": f"{order_id}-last"}]}})
        if "NextToken" in seen.query:
            return Answer({"payload": {"Orders": [{"AmazonOrderId": "A-2", "LastUpdateDate": "2026-11-11T10:00:00Z"}]}})
        return Answer({"payload": {"NextToken": "NEXT==", "Orders": [{"AmazonOrderId": "A-1", "LastUpdateDate": "2026-11-11T09:00:00Z"}]}})

    server = api(handler)
    with connector("amazon", server.root + "/amazon", items_rate_per_s=1000.0) as amazon:
        pages = list(amazon.pull_orders(NOW - timedelta(hours=3), NOW))
    orders_calls = [s for s in server.seen if s.path == "/amazon/orders/v0/orders"]
    assert orders_calls[0].query["LastUpdatedBefore"] == "2026-11-11T11:58:00Z"  # now − 2 min
    # as Amazon's own sandbox case for getOrders: the window's start and the marketplaces beside the token
    assert orders_calls[1].query == {"MarketplaceIds": "ATVPDKIKX0DER", "NextToken": "NEXT==",
                                     "LastUpdatedAfter": orders_calls[0].query["LastUpdatedAfter"]}
    assert all(s.headers["x-amz-access-token"] == TOKEN for s in server.seen)
    assert [[i["OrderItemId"] for i in r["OrderItems"]] for p in pages for r in p.records] == [["i1", "A-1-last"], ["A-2-last"]]
    assert len(pages[0].related_raw) == 2


# --- throttles, retries, bad bodies ------------------------------------------------------

def test_top_ban_wait_is_honoured_then_the_call_succeeds(api):
    answers = iter([
        Answer({"error_response": {"code": 7, "msg": "App Call Limited", "sub_code": "accesscontrol.limited-by-app-access-count",
                                   "sub_msg": "This ban will last for 3 more seconds"}}),
        Answer(top_page([trade(1, "2026-11-11 10:00:00")], 1)),
    ])
    server = api(lambda seen: next(answers))
    sleeps = Sleeps()
    with connector("taobao", server.root + "/taobao", sleeps) as top:
        (page,) = list(top.pull_orders(NOW - timedelta(hours=1), NOW))
    assert sleeps == [3.0] and (page.throttle_waits, page.throttle_wait_s) == (1, 3.0)
    assert len(page.records) == 1


def test_shopify_429_retry_after_is_honoured(api):
    answers = iter([Answer({"errors": "Exceeded 2 calls per second"}, status=429, headers={"Retry-After": "2.0"}),
                    Answer({"orders": []}), Answer({"count": 0})])
    server = api(lambda seen: next(answers))
    sleeps = Sleeps()
    with connector("shopify", server.root + "/shopify/s", sleeps) as shop:
        (page,) = list(shop.pull_orders(NOW - timedelta(hours=1), NOW))
    assert sleeps == [2.0] and page.throttle_waits == 1


def test_jd_throttle_code_2_backs_off_and_a_long_ban_is_raised(api):
    answers = iter([Answer({"error_response": {"code": "2", "en_desc": "call limited"}})] * 2 + [Answer(
        {"jingdong_pop_order_search_responce": {"searchorderinfo_result": {"orderTotal": 0, "orderInfoList": []}}})])
    server = api(lambda seen: next(answers))
    sleeps = Sleeps()
    with connector("jd", server.root + "/jd", sleeps) as jd:
        (page,) = list(jd.pull_orders(NOW - timedelta(hours=1), NOW))
    assert page.throttle_waits == 2 and len(sleeps) == 2

    banned = api(lambda seen: Answer({"error_response": {"code": 7, "sub_msg": "This ban will last for 3600 more seconds"}}))
    with connector("taobao", banned.root + "/taobao", max_throttle_wait_s=60) as top, \
            pytest.raises(ThrottledError, match="3600 s.*lower throttle_rate_per_s") as info:
        list(top.pull_orders(NOW - timedelta(hours=1), NOW))
    assert info.value.retry_after_s == 3600


def test_5xx_is_retried_then_succeeds(api):
    answers = iter([Answer(b"upstream error", status=502), Answer(b"oops", status=500), Answer(top_page([], 0))])
    server = api(lambda seen: next(answers))
    sleeps = Sleeps()
    with connector("taobao", server.root + "/taobao", sleeps) as top:
        (page,) = list(top.pull_orders(NOW - timedelta(hours=1), NOW))
    assert page.retries == 2 and len(server.seen) == 3
    assert all(0.005 <= s <= 0.05 for s in sleeps)  # jittered, capped backoff


def test_retries_are_bounded_and_the_error_says_what_to_do(api):
    server = api(lambda seen: Answer(b"down", status=503))
    with connector("taobao", server.root + "/taobao", max_retries=2) as top, \
            pytest.raises(TransientError, match=r"gave up after 3 attempts; last error: .*HTTP 503.*re-run safely"):
        list(top.pull_orders(NOW - timedelta(hours=1), NOW))
    assert len(server.seen) == 3


@pytest.mark.parametrize("bad", [Answer(top_page([trade(1, "x")], 1), truncate=True),
                                 Answer(b'{"trades_sold_increment_get_response": {"total_res')])
def test_truncated_or_invalid_body_is_retried(api, bad):
    answers = iter([bad, Answer(top_page([trade(1, "2026-11-11 10:00:00")], 1))])
    server = api(lambda seen: next(answers))
    with connector("taobao", server.root + "/taobao") as top:
        (page,) = list(top.pull_orders(NOW - timedelta(hours=1), NOW))
    assert page.retries == 1 and len(page.records) == 1


def test_bad_session_is_an_auth_error_not_retried(api):
    server = api(lambda seen: Answer({"error_response": {"code": 27, "msg": "Invalid session", "sub_msg": TOKEN}}))
    with connector("taobao", server.root + "/taobao") as top, pytest.raises(AuthError, match="renew the shop") as info:
        list(top.pull_orders(NOW - timedelta(hours=1), NOW))
    assert len(server.seen) == 1 and TOKEN not in str(info.value) and "[taobao shop-1]" in str(info.value)


def test_jd_business_error_is_a_platform_error_not_an_empty_page(api):
    server = api(lambda seen: Answer({"jingdong_pop_order_search_responce": {"code": "0", "searchorderinfo_result": {
        "apiResult": {"success": False, "resultCode": "1001", "englishErr": "time span over one month"}}}}))
    with connector("jd", server.root + "/jd") as jd, \
            pytest.raises(PlatformError, match="time span over one month .resultCode 1001.") as info:
        list(jd.pull_orders(NOW - timedelta(hours=1), NOW))
    assert info.value.code == "1001" and len(server.seen) == 1


def test_amazon_400_is_a_platform_error_with_the_codes(api):
    server = api(lambda seen: Answer({"errors": [{"code": "InvalidInput", "message": "Invalid Input"}]}, status=400))
    with connector("amazon", server.root + "/amazon") as amazon, \
            pytest.raises(PlatformError, match="InvalidInput: Invalid Input") as info:
        list(amazon.pull_orders(NOW - timedelta(hours=1), NOW))
    assert info.value.code == "InvalidInput" and len(server.seen) == 1


# --- secrets -----------------------------------------------------------------------------

def test_secrets_never_reach_exception_text_or_logs(api, caplog):
    caplog.set_level(logging.DEBUG)
    assert SECRET not in repr(CREDS) and TOKEN not in str(CREDS) and "app-key-1" in repr(CREDS)
    # Douyin sends the token in the query string: a connection error's message contains the URL
    server = api(lambda seen: Answer(b"", status=500))
    port = server.server.server_address[1]
    server.close()
    with connector("douyin", f"http://127.0.0.1:{port}/douyin", max_retries=1) as douyin, \
            pytest.raises(TransientError) as info:
        list(douyin.pull_orders(NOW - timedelta(hours=1), NOW))
    message = str(info.value)
    assert "ConnectionError" in message and "access_token=***" in message
    # and through a real exchange with debug logging on (urllib3 logs request lines)
    live = api(lambda seen: Answer({"err_no": 30001, "message": f"bad token {TOKEN} / {SECRET}"}))
    with connector("douyin", live.root + "/douyin") as douyin, pytest.raises(AuthError) as auth:
        list(douyin.pull_orders(NOW - timedelta(hours=1), NOW))
    assert live.seen[0].query["access_token"] == TOKEN  # it was really sent
    for text in (message, str(auth.value), caplog.text, *(str(r.msg) for r in caplog.records)):
        for secret in (SECRET, TOKEN, "tok%2Fen%2Bwith%3Dchars-123"):
            assert secret not in text
    assert any("/douyin/order/searchList" in r.getMessage() for r in caplog.records)  # urllib3 did log the line


BUYER_ECHO = {"errors": [{"code": "InvalidInput", "message": "ship-to for bob.norman@example.com / 13812345678 "
                                                          "is not valid"}],
              "payload": {"BuyerEmail": "alice.kim@example.com", "AddressLine1": "1200 Main St",
                          "BuyerName": "Alice Kim"}}


@pytest.mark.parametrize("answer", [Answer(BUYER_ECHO, status=400), Answer(BUYER_ECHO, status=503),
                                    Answer(b"<html>order of alice.kim@example.com, 1200 Main St</html>", status=502)])
def test_a_failed_answer_reaches_messages_and_logs_only_as_its_masked_error_fields(api, caplog, answer):
    """Issue 19 #12: an error carried 300 bytes of the body (buyer e-mails, addresses) into the
    exception text, and from there into logs, Prefect records, the capture log and the report."""
    caplog.set_level(logging.DEBUG)
    server = api(lambda seen: answer)
    with connector("amazon", server.root + "/amazon", max_retries=1) as amazon, \
            pytest.raises((PlatformError, TransientError)) as info:
        list(amazon.pull_orders(NOW - timedelta(hours=1), NOW))
    texts = [str(info.value), caplog.text]
    for text in texts:
        for clear in ("alice.kim@", "bob.norman@", "Alice Kim", "1200 Main", "13812345678"):
            assert clear not in text, (clear, text)
    if isinstance(answer.body, dict):   # the envelope's code and message stay, masked
        assert "InvalidInput" in str(info.value) and "b****@example.com" in str(info.value)
        assert "138****5678" in str(info.value)
    else:
        assert "body not shown" in str(info.value)


def test_redact_hides_plain_and_url_encoded_forms():
    text = f"GET /x?access_token=tok%2Fen%2Bwith%3Dchars-123&k={SECRET} body {TOKEN}"
    assert redact(text, CREDS.secrets()) == "GET /x?access_token=***&k=*** body ***"
    assert redact("short ab", ("ab",)) == "short ab"  # too short to search for safely


# --- writes ------------------------------------------------------------------------------

def test_taobao_writes(api):
    def handler(seen):
        method = seen.form["method"]
        if method == "taobao.item.quantity.update":
            return Answer({"item_quantity_update_response": {"item": {"num_iid": 1, "quantity": 5}}})
        if method == "taobao.item.seller.get":
            return Answer({"item_seller_get_response": {"item": {"num_iid": 600000000001, "skus": {"sku": [
                {"sku_id": 5000000002, "quantity": 1}, {"sku_id": 5000000001, "quantity": 5}]}}}})
        return Answer({"logistics_offline_send_response": {"shipping": {"is_success": True}}})

    server = api(handler)
    with connector("taobao", server.root + "/taobao") as top:
        assert top.push_stock("600000000001", "5000000001", 5).ok
        assert top.read_stock("600000000001", "5000000001") == 5
        assert top.confirm_shipment("4012345678901234567", "SF", "SF123").ok
    push, _, ship = (s.form for s in server.seen)
    assert (push["num_iid"], push["sku_id"], push["quantity"], push["type"]) == ("600000000001", "5000000001", "5", "1")
    assert (ship["tid"], ship["company_code"], ship["out_sid"]) == ("4012345678901234567", "SF", "SF123")


def test_shopify_stock_and_fulfilment_writes(api):
    def handler(seen):
        if seen.path.endswith("inventory_levels/set.json"):
            return Answer({"inventory_level": {"inventory_item_id": 777, "location_id": 9, "available": 3}})
        if seen.path.endswith("inventory_levels.json"):
            return Answer({"inventory_levels": [{"inventory_item_id": 777, "location_id": 9, "available": 3}]})
        return Answer({"fulfillment": {"status": "success"}}, status=201)

    server = api(handler)
    with connector("shopify", server.root + "/shopify/s", location_id=9) as shop:
        assert shop.push_stock("1", "777", 3).ok
        assert shop.read_stock("1", "777") == 3
        assert shop.confirm_shipment("5900000000013", "UPS", "1Z999").ok
    assert server.seen[0].json == {"location_id": 9, "inventory_item_id": 777, "available": 3}
    assert server.seen[1].query == {"inventory_item_ids": "777", "location_ids": "9"}
    assert server.seen[2].path == "/shopify/s/admin/api/2026-10/orders/5900000000013/fulfillments.json"
    assert server.seen[2].json["fulfillment"]["tracking_number"] == "1Z999"


def test_token_bucket_spaces_calls_beyond_the_burst():
    now = [0.0]
    sleeps = Sleeps()

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(rate_per_s=2.0, burst=2, sleep=sleep, clock=lambda: now[0])
    for _ in range(4):
        bucket.acquire()
    assert sleeps == [0.5, 0.5]


def test_naive_window_bounds_are_refused():
    top = connector("taobao", "http://127.0.0.1:9/taobao")
    with pytest.raises(ValueError, match="timezone-aware"):
        list(top.pull_orders(datetime(2026, 11, 11), NOW))


def test_records_without_an_id_pass_the_in_scan_dedup_untouched():
    """A null, a string or an id-less record must reach validation (and the quarantine),
    not crash the shop's pull in the dedup step."""
    from datetime import datetime, timezone

    from connectors.base import Connector, ConnectorSettings, Credentials, Page

    class OnePage(Connector):
        platform = "taobao"

        @staticmethod
        def order_key(record):
            return str(record["tid"])

        @staticmethod
        def order_modified(record):
            return record.get("modified")

        def _pages(self, window):
            yield Page(shop_id="s", platform="taobao", window_start=window.start, window_end=window.end, page_no=1,
                       raw=b"[]", records=[{"tid": 1, "modified": "a"}, None, "garbage", {"no_id": True},
                                           {"tid": 1, "modified": "a"}], fetched_at=window.end)

        def push_stock(self, item_id, sku_id, quantity):
            raise NotImplementedError

        def read_stock(self, item_id, sku_id):
            raise NotImplementedError

        def confirm_shipment(self, order_id, carrier, tracking_no):
            raise NotImplementedError

    start, end = datetime(2026, 11, 1, tzinfo=timezone.utc), datetime(2026, 11, 1, 1, tzinfo=timezone.utc)
    connector = OnePage("s", ConnectorSettings(base_url="http://127.0.0.1:9"), Credentials(), clock=lambda: end)
    (page,) = list(connector.pull_orders(start, end))
    assert page.records == [{"tid": 1, "modified": "a"}, None, "garbage", {"no_id": True}]


def test_a_compressed_answer_is_read_decoded_and_its_decoded_size_counts_against_the_cap(api):
    """Real marketplaces answer gzip: the body is streamed decoded, and the cap (issue 19 #8)
    applies to what it decodes to — a small compressed body of a huge page is refused too."""
    import gzip

    orders = [{"id": i, "updated_at": "2026-11-11T01:00:00-05:00", "note": "x" * 100} for i in range(500)]
    packed = gzip.compress(json.dumps({"orders": orders}).encode())
    server = api(lambda seen: Answer({"count": 500}) if seen.path.endswith("/count.json") else
                 Answer(packed, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}))
    with connector("shopify", server.root + "/shopify/shop-1") as shop:
        (page,) = list(shop.pull_orders(NOW - timedelta(hours=3), NOW))
    assert len(page.records) == 500 and len(packed) < 10_000
    with connector("shopify", server.root + "/shopify/shop-1", max_body_bytes=20_000) as shop, \
            pytest.raises(PlatformError, match=r"over the cap of 20000 bytes \(max_body_bytes\)") as info:
        list(shop.pull_orders(NOW - timedelta(hours=3), NOW))
    assert info.value.code == "body_too_large"


# --- Douyin's envelopes (issue 18 #2) ------------------------------------------------------------
# The current envelope is {code, msg, sub_code, sub_msg, log_id, data}, success code 10000; the
# official SDKs opt out of the old {err_no, message} one with x-open-no-old-err-code: 1.

def douyin_current(code=10000, sub_code="", data=None, **extra) -> dict:
    return {"code": code, "msg": "success" if code == 10000 else "error", "sub_code": sub_code,
            "sub_msg": "" if code == 10000 else sub_code, "log_id": "20261111120000ABCDEF", **extra,
            "data": data if data is not None else {}}


def test_douyin_reads_the_current_envelope_and_opts_out_of_the_old_one(api):
    server = api(lambda seen: Answer(douyin_current(data={"total": 1, "page": 0, "size": 100, "shop_order_list": [
        {"order_id": "6920000000000000001", "update_time": 1}]})))
    with connector("douyin", server.root + "/douyin") as douyin:
        records = [r for p in douyin.pull_orders(NOW - timedelta(hours=1), NOW) for r in p.records]
    assert [r["order_id"] for r in records] == ["6920000000000000001"]
    assert server.seen[0].headers.get("x-open-no-old-err-code") == "1"


@pytest.mark.parametrize("body", [
    douyin_current(code=30002, sub_code="isv.access-token-expired"),
    # constructed: the transition form, old err_no 0 beside a current-envelope error and an empty
    # order list — read as "ok, 0 orders" while only err_no was checked
    {"err_no": 0, "message": "success",
     **douyin_current(code=30002, sub_code="isv.access-token-expired", data={"total": 0, "shop_order_list": []})},
], ids=["current", "both-envelopes"])
def test_an_expired_douyin_token_is_an_auth_error_never_zero_orders(api, body):
    server = api(lambda seen: Answer(body))
    with connector("douyin", server.root + "/douyin") as douyin, pytest.raises(AuthError) as info:
        list(douyin.pull_orders(NOW - timedelta(hours=1), NOW))
    assert "isv.access-token-expired" in str(info.value) and "renew" in str(info.value)


@pytest.mark.parametrize("body", [{"data": {"total": 0, "shop_order_list": []}},
                                  douyin_current(code=50002, sub_code="isv.business-failed"),
                                  {"err_no": 0, "message": "success"}])
def test_a_douyin_body_that_is_not_a_recognised_success_is_an_error(api, body):
    from connectors import ConnectorError

    server = api(lambda seen: Answer(body))
    with connector("douyin", server.root + "/douyin", max_retries=0) as douyin, pytest.raises(ConnectorError) as info:
        list(douyin.pull_orders(NOW - timedelta(hours=1), NOW))
    assert "douyin" in str(info.value).lower() and not isinstance(info.value, AuthError)
