"""Issue 18 #12 for TOP and PDD: buyer nicks, e-mails, Alipay accounts, IP areas, names, phones
and streets never reach the warehouse in clear — neither in an archived raw page nor in a
quarantined record. The bodies are the captured TOP trades and PDD's documentation examples of
``../shared/fixtures/marketplaces`` (used as they are)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from domain.normalise import pii_paths
from domain.pii import mask_pii, mask_pii_payload
from warehouse import repository

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "marketplaces"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)

#: the buyer data in clear in each body, and values that must stay exactly as sent
CASES = {
    "taobao/t1_jdp_trade_closed_by_taobao.json": (
        "taobao", ["ququ617", "angel_l", "6240*", "陕西西安电信", "2088602232459025", "丈**路吉的堡绿地"],
        ["452790065331038", "TX324A0212", "西安市", "2013111011001001020066467481"]),
    "taobao/t2_jdp_trade_finished_shipped.json": (
        "taobao", ["老婆最大51521", "29130*", "南关**号北"], ["518073718172548", "郑州市"]),
    "taobao/t3_fullinfo_step_trade_finished.json": (
        "taobao", ["jeffchein", "15602296677", "陈先生", "外环东路232号"], ["462503790690334", "20700066", "广州市"]),
    "pdd/p1_doc_increment_get_response_2018.json": (
        "pdd", ["展护卫", "一号大街1号"], ["180810-364770100011509", "东城区", "52494558847"]),
    "pdd/p2_doc_order_information_get_response_2018.json": (
        "pdd", ["展护卫", "18667163376", "娄山关路533号"], ["180831-481803633911509", "长宁区"]),
}


def body(name: str) -> bytes:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the platforms' payloads live in ../shared beside the clone")
    return path.read_bytes()


def records_of(document: dict) -> list[dict]:
    inner = next(iter(document.values()))
    found = inner.get("trade") or inner.get("order_info") or inner.get("order_sn_list") or inner.get("order_list")
    return found if isinstance(found, list) else [found]


@pytest.mark.parametrize("name", list(CASES))
def test_an_archived_raw_page_keeps_no_buyer_data_in_clear(engine, name):
    platform, clear, kept = CASES[name]
    raw = body(name)
    assert all(value.rstrip("*") in raw.decode() for value in clear)   # the body really has them
    page_id = repository.archive_raw_page(engine, platform=platform, shop_id=f"{platform}-shop", window_start=NOW,
                                          window_end=NOW, page_no=1, payload=raw, record_count=1)
    stored = repository.load_raw_page(engine, page_id).decode()
    for value in clear:
        assert value.rstrip("*") not in stored, value
    for value in kept:
        assert value in stored, value
    json.loads(stored)   # still the platform's JSON


@pytest.mark.parametrize("name", list(CASES))
def test_a_quarantined_raw_record_keeps_no_buyer_data_in_clear(engine, name):
    platform, clear, kept = CASES[name]
    record = records_of(json.loads(body(name)))[0]
    repository.quarantine_raw_records(engine, platform, f"{platform}-shop", [(None, record, ["could not be read"])],
                                      now=NOW)
    stored = json.dumps(repository.open_quarantine(engine)[0]["record"], ensure_ascii=False)
    for value in clear:
        assert value.rstrip("*") not in stored, value


def test_each_platform_table_names_its_buyer_fields():
    assert {"**.buyer_nick", "**.buyer_email", "**.buyer_alipay_no", "**.buyer_ip", "**.buyer_area",
            "**.receiver_name", "**.receiver_mobile", "**.receiver_address"} <= set(pii_paths("taobao"))
    assert {"**.receiver_name", "**.receiver_phone", "**.receiver_address", "**.address"} <= set(pii_paths("pdd"))


def test_structured_paths_mask_only_where_they_point():
    """The mechanism is generic: a path may name where a key sits (lists are passed through)."""
    document = {"consignee": {"name": "张三丰", "mobile": "13812345678"}, "items": [{"name": "T-shirt"}],
                "buyer": [{"email": "zhang.san@example.com"}]}
    paths = {"consignee.name": "name", "consignee.mobile": "phone", "buyer.email": "email"}
    masked = mask_pii(document, paths)
    assert masked == {"consignee": {"name": "张**", "mobile": "138****5678"}, "items": [{"name": "T-shirt"}],
                      "buyer": [{"email": "z****@example.com"}]}
    raw = json.dumps(document, ensure_ascii=False).encode()
    assert json.loads(mask_pii_payload(raw, paths)) == masked
    truncated = raw[:-20]   # not JSON: the keys are masked wherever they occur
    assert b"13812345678" not in mask_pii_payload(truncated, paths)
