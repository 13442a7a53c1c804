"""Douyin on the official documentation example (../shared/fixtures/marketplaces/douyin,
PROVENANCE.md) and on variants of it constructed for documented cases the example does not
show (issue 18 #6, #13; named "constructed" below). The example's amounts are placeholders
that do not add up; its field names and nesting are Douyin's."""
from __future__ import annotations

import copy
import json

import pytest

from domain.batching import merge
from domain.normalise import normalise
from helpers.real_payloads import MERGE_RULES, shared_payload

KEY = b"test-hash-key"
RULES = MERGE_RULES


@pytest.fixture(scope="module")
def d2() -> dict:
    return shared_payload("douyin/d2_official_doc_example_shop_order_list.json")[0]


def constructed(record: dict, *, sku: dict | None = None, **changes) -> dict:
    out = copy.deepcopy(record)
    out.update(changes)
    if sku:
        out["sku_order_list"][0].update(sku)
    return out


def test_the_documentation_example_reads(d2):
    frames = normalise("douyin", [d2], "douyin-main", hash_key=KEY)
    order, line = frames.orders.iloc[0], frames.lines.iloc[0]
    assert order["order_id"] == "4781320682406083640"
    assert order["is_presale"] and not order["presale_balance_paid"]   # phase 1 of 2 paid
    assert order["status"] == "refunding"                              # its sku order has refund_status 1
    assert (line["quantity"], line["unit_price_minor"]) == (2, 100)    # origin_amount is the unit price
    assert not line["is_gift"]


def test_main_status_103_is_a_paid_deposit(d2):
    """Constructed: the example without its after-sale (main_status 103 部分支付)."""
    record = constructed(d2, sku={"after_sale_info": {"after_sale_status": 0, "refund_status": 0}})
    order = normalise("douyin", [record], "douyin-main", hash_key=KEY).orders.iloc[0]
    assert order["status"] == "presale_deposit_paid" and order["platform_status"] == "103"


def test_presale_is_trade_type_2_with_its_phases(d2):
    """Constructed: 定金预售 (trade_type 2), both phases paid, main_status 105."""
    phases = [dict(d2["order_phase_list"][0], current_phase=1, pay_success=True),
              dict(d2["order_phase_list"][0], current_phase=2, pay_success=True)]
    record = constructed(d2, trade_type=2, main_status=105, order_status=105, order_phase_list=phases,
                         sku={"after_sale_info": {"refund_status": 0}})
    order = normalise("douyin", [record], "douyin-main", hash_key=KEY).orders.iloc[0]
    assert order["is_presale"] and order["presale_balance_paid"] and order["status"] == "paid"


def test_a_free_gift_is_given_product_type_free(d2):
    """Constructed: the example's sku order bound as a free gift (given_product_type FREE)."""
    record = constructed(d2, sku={"given_product_type": "FREE"})
    assert bool(normalise("douyin", [record], "douyin-main", hash_key=KEY).lines.iloc[0]["is_gift"])
    not_gift = constructed(d2, sku={"given_product_type": "MASTER", "is_gift": True})
    assert not bool(normalise("douyin", [not_gift], "douyin-main", hash_key=KEY).lines.iloc[0]["is_gift"])


def douyin_order(d2: dict, order_id: str, open_address_id: str, ciphertext: str) -> dict:
    """Constructed: the example as today's Douyin sends it — receiver encrypted, a different
    ciphertext on each order — with its merge identity ``open_address_id``."""
    record = constructed(d2, order_id=order_id, open_address_id=open_address_id, main_status=2, order_status=2,
                         order_phase_list=[], trade_type=0, sku={"after_sale_info": {"refund_status": 0}})
    record.pop("post_receiver"), record.pop("post_tel")
    record["post_addr"] = {k: v for k, v in record["post_addr"].items() if k != "detail"}
    record["post_addr"]["encrypt_detail"] = ciphertext
    record["encrypt_post_receiver"] = "##" + ciphertext[2:30] + "#1##"
    return record


def test_one_open_address_id_merges_although_the_ciphertexts_differ(d2):
    records = [douyin_order(d2, "1", "#OPENADDR-A#", "##qIOpbLPevlQwA6f+yNJ7HgOqMdCcDttVlAympUYfJk9V=#1##"),
               douyin_order(d2, "2", "#OPENADDR-A#", "##Zs9k2mQpX+0aTr4bLw1e8yNcVu3oHq7sPdGjKfE5Ri6W=#1##"),
               douyin_order(d2, "3", "#OPENADDR-B#", "##qIOpbLPevlQwA6f+yNJ7HgOqMdCcDttVlAympUYfJk9V=#1##")]
    orders = normalise("douyin", records, "douyin-main", hash_key=KEY).orders
    assert "qIOp" not in "".join(str(v) for v in orders["address_masked"])
    merged = merge(orders, RULES).set_index("order_id")
    assert merged.loc["1", "merge_key"] == merged.loc["2", "merge_key"] != merged.loc["3", "merge_key"]


def test_ciphertext_alone_is_never_hashed_into_an_address(d2):
    """Constructed: no ``open_address_id``, identical ciphertexts: still no address identity."""
    record = douyin_order(d2, "1", "", "##qIOpbLPevlQwA6f+yNJ7HgOqMdCcDttVlAympUYfJk9V=#1##")
    record.pop("open_address_id")
    assert normalise("douyin", [record], "douyin-main", hash_key=KEY).orders.iloc[0]["address_hash"] is None


def test_douyin_buyer_data_is_masked_before_a_raw_page_is_stored(d2):
    """Issue 18 #12: clear receiver fields are masked in the stored page; Douyin's ciphertext
    (encrypt_*) stays as sent: only Douyin decrypts it, and the e-waybill request needs it."""
    from domain.normalise import mask_stored

    record = dict(d2, encrypt_post_receiver="##qIOpbLPevlQwA6f+yNJ7HgOqMdCcDttVlAympUYfJk9V=#1##")
    stored = json.loads(mask_stored(json.dumps({"code": 10000, "data": {"shop_order_list": [record]}},
                                               ensure_ascii=False).encode(), "douyin"))
    order = stored["data"]["shop_order_list"][0]
    text = json.dumps(order, ensure_ascii=False)
    assert "张三" not in text and "12345678911" not in text and "丹棱街1号" not in text
    assert order["encrypt_post_receiver"] == record["encrypt_post_receiver"] and order["post_receiver"] == "张*"
    assert order["order_id"] == d2["order_id"] and order["pay_amount"] == d2["pay_amount"]
