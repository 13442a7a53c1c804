"""Hand-written TOP / JD / PDD / Douyin payloads (tests/data/marketplaces, built from the
shapes in marketplace-apis.md) normalise to the canonical rows worked out by hand."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from domain.canonical import CANONICAL_STATUSES
from domain.normalise import normalise
from domain.normalise.taobao import TRADE_STATUS

DATA = Path(__file__).parents[1] / "data" / "marketplaces"
KEY = b"test-hash-key"
UTC = timezone.utc


def records(name: str) -> list[dict]:
    body = json.loads((DATA / name).read_text())
    if "trades_sold_increment_get_response" in body:
        return body["trades_sold_increment_get_response"]["trades"]["trade"]
    if "jingdong_pop_order_search_responce" in body:
        return body["jingdong_pop_order_search_responce"]["searchorderinfo_result"]["orderInfoList"]
    if "order_sn_increment_get_response" in body:
        return body["order_sn_increment_get_response"]["order_sn_list"]
    return body["data"]["shop_order_list"]


def by_id(frame, column="order_id"):
    return {row[column]: row for _, row in frame.iterrows()}


def test_taobao_trades():
    frames = normalise("taobao", records("taobao_trades_sold_increment_get.json"), "tmall-flagship", hash_key=KEY)
    orders = by_id(frames.orders)
    paid = orders["4012345678901234567"]  # > 2**53, exact
    assert (paid["status"], paid["total_minor"], paid["post_fee_minor"], paid["discount_minor"]) == ("paid", 20007, 1000, 0)
    assert paid["modified_at"] == datetime(2026, 11, 10, 16, 0, 5, tzinfo=UTC)  # Beijing 00:00:05
    assert paid["paid_at"] == datetime(2026, 11, 10, 16, 0, 3, tzinfo=UTC)
    assert paid["receiver_phone_masked"] == "138****5678" and paid["receiver_name_masked"] == "王**"
    assert paid["address_masked"] == "浙江省杭州市西湖区****"
    assert paid["buyer_remark"] == "请尽快发货，电话 139****5678"
    assert paid["line_count"] == 2

    lines = frames.lines[frames.lines["order_id"] == "4012345678901234567"]
    assert list(lines["line_id"]) == ["227668460417201790", "227668460417201791"]
    assert list(lines["line_total_minor"]) == [8500, 10507]
    assert list(lines["discount_minor"]) == [1500, 12000 - 10507]
    assert list(lines["sku"]) == ["SKU-TEE-BLK-L", "SKU-TEE-WHT-M"]

    presale = orders["4012345678901234999"]
    assert presale["status"] == "presale_deposit_paid" and presale["is_presale"] and not presale["presale_balance_paid"]

    refunding = orders["4012345678901235001"]  # finished trade, one line refunded, one refund requested
    assert refunding["status"] == "refunding" and refunding["platform_status"] == "TRADE_FINISHED"
    refunds = by_id(frames.refunds, "refund_id")
    assert refunds["9000000000000000001"]["amount_minor"] == 10000
    assert refunds["9000000000000000001"]["status"] == "refunded"
    assert refunds["9000000000000000002"]["amount_minor"] == 5000
    assert refunds["9000000000000000002"]["status"] == "requested"
    assert refunding["carrier"] == "顺丰速运" and refunding["tracking_no"] == "SF1234567890"


def test_taobao_simplified_shape_and_every_status_mapped():
    trade = {"tid": 2**60 + 1, "status": "TRADE_CLOSED", "payment": "10.00", "post_fee": "0.00",
             "modified": "2026-11-11 00:00:00",
             "orders": [{"oid": 2**60 + 2, "num": 1, "price": "10.00", "total_fee": "10.00",
                         "refund_status": "SUCCESS", "outer_sku_id": "S"}]}  # simplify=true: plain arrays
    frames = normalise("taobao", [trade], "s", hash_key=KEY)
    assert frames.orders.iloc[0]["order_id"] == str(2**60 + 1)
    assert frames.lines.iloc[0]["line_id"] == str(2**60 + 2)
    assert frames.orders.iloc[0]["status"] == "refunded"  # closed because fully refunded
    assert set(TRADE_STATUS.values()) <= CANONICAL_STATUSES and len(TRADE_STATUS) == 12


def test_taobao_unknown_status_is_kept_visibly_for_quarantine():
    trade = {"tid": 1, "status": "SOMETHING_NEW", "payment": "1.00", "modified": "2026-11-11 00:00:00", "orders": []}
    assert normalise("taobao", [trade], "s", hash_key=KEY).orders.iloc[0]["status"] == "unknown:SOMETHING_NEW"


def test_jd_orders():
    frames = normalise("jd", records("jd_pop_order_search.json"), "jd-pop", hash_key=KEY)
    orders = by_id(frames.orders)
    paid = orders["300123456789"]
    assert (paid["status"], paid["total_minor"], paid["discount_minor"]) == ("paid", 27900, 2000)
    assert paid["paid_at"] == datetime(2026, 11, 11, 2, 0, 30, tzinfo=UTC)
    assert paid["buyer_remark"] == "不要放发票" and paid["seller_remark"] is None
    assert paid["receiver_phone_masked"] == "137****1111" and paid["district"] == "南山区"
    assert list(frames.lines[frames.lines["order_id"] == "300123456789"]["line_total_minor"]) == [19900, 10000]
    cancelled = orders["300123456790"]
    assert cancelled["status"] == "cancelled" and cancelled["receiver_phone_masked"] == "139****2222"


def test_pdd_orders_float_yuan_and_ciphertext():
    frames = normalise("pdd", records("pdd_order_number_list_increment_get.json"), "pdd-main", hash_key=KEY)
    orders = by_id(frames.orders)
    first = orders["261111-123456789012345"]
    assert (first["status"], first["total_minor"], first["discount_minor"]) == ("paid", 1330, 190)
    lines = frames.lines[frames.lines["order_id"] == "261111-123456789012345"]
    assert list(lines["line_total_minor"]) == [1490, 30]  # 0.1 × 3 = 30 fen, not 30.000000000000004
    assert first["receiver_phone_masked"] == "[encrypted]" and first["receiver_name_masked"] == "[encrypted]"
    assert "~" not in first["address_masked"] and first["address_masked"].startswith("江苏省苏州市工业园区")
    assert first["buyer_remark"] == "改发 186****1111"
    assert first["ship_by_at"] == datetime(2026, 11, 13, 4, 0, tzinfo=UTC)
    refunded = orders["261111-123456789099999"]
    assert refunded["status"] == "refunded" and refunded["is_presale"]
    assert (refunded["total_minor"], refunded["post_fee_minor"]) == (9999, 500)
    refund = frames.refunds.iloc[0]
    assert (refund["order_id"], refund["amount_minor"], refund["status"]) == ("261111-123456789099999", 9999, "refunded")


def test_douyin_orders_int_fen_and_unix_times():
    frames = normalise("douyin", records("douyin_order_searchList.json"), "douyin-main", hash_key=KEY)
    orders = by_id(frames.orders)
    first = orders["6920000000000000001"]
    assert (first["status"], first["total_minor"], first["post_fee_minor"], first["discount_minor"]) == (
        "paid", 15800, 800, 0)
    assert first["created_at"] == datetime(2026, 11, 11, tzinfo=UTC)
    assert first["ship_by_at"] == datetime(2026, 11, 13, tzinfo=UTC)
    assert first["receiver_phone_masked"] == "[encrypted]" and first["address_masked"] == "湖北省武汉市洪山区****"
    line = frames.lines.iloc[0]
    assert (line["line_id"], line["unit_price_minor"], line["line_total_minor"], line["discount_minor"]) == (
        "6920000000000000002", 16000, 15000, 1000)
    assert line["variant"] == "颜色:灰;尺码:XL"
    assert orders["6920000000000000003"]["status"] == "refunded"
    refund = frames.refunds.iloc[0]
    assert (refund["refund_id"], refund["amount_minor"], refund["status"]) == ("7100000000000000001", 5000, "refunded")


@pytest.mark.parametrize("platform", ["taobao", "jd", "pdd", "douyin", "shopify", "amazon", "file"])
def test_empty_page_gives_empty_canonical_frames(platform):
    frames = normalise(platform, [], "s", hash_key=KEY)
    assert len(frames) == 0 and frames.lines.empty and frames.refunds.empty


def test_unknown_platform_is_a_clear_error():
    with pytest.raises(ValueError, match="no normaliser for platform 'ebay'"):
        normalise("ebay", [], "s", hash_key=KEY)


def test_normalised_frames_pass_the_line_total_identity():
    """Σ lines + post fee − discount = total for every hand-written order (validation's rule)."""
    for platform, name in (("taobao", "taobao_trades_sold_increment_get.json"), ("jd", "jd_pop_order_search.json"),
                           ("pdd", "pdd_order_number_list_increment_get.json"),
                           ("douyin", "douyin_order_searchList.json")):
        frames = normalise(platform, records(name), "s", hash_key=KEY)
        sums = frames.lines.groupby("order_id")["line_total_minor"].sum()
        for _, order in frames.orders.iterrows():
            assert sums[order["order_id"]] + order["post_fee_minor"] - order["discount_minor"] == order["total_minor"]
