"""Merge identity on encrypted orders (issue 18 #13), on the project's PDD and TOP samples
(tests/data/marketplaces) with constructed variants: ciphertext is never hashed, a masked
value never keys anything, the platform's merge id (PDD ``open_address_id``, TOP ``oaid``) is."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from domain.normalise import normalise
from domain.pii import address_identity, clear_identity

DATA = Path(__file__).parents[1] / "data" / "marketplaces"
KEY = b"test-hash-key"


def first_pdd() -> dict:
    body = json.loads((DATA / "pdd_order_number_list_increment_get.json").read_text())
    return body["order_sn_increment_get_response"]["order_sn_list"][0]


def first_top() -> dict:
    body = json.loads((DATA / "taobao_trades_sold_increment_get.json").read_text())
    return body["trades_sold_increment_get_response"]["trades"]["trade"][0]


def test_masked_or_encrypted_values_are_no_identity():
    assert clear_identity("t**") is None and clear_identity("~AgAAAAE1f2b3c4d5e6f7a8b9c0d1e2f3a4b5c~a~") is None
    assert clear_identity("open-buyer-1") == "open-buyer-1"
    assert address_identity(None, "浙江省", "杭州市", "西湖区", "文三路***") is None
    assert address_identity("OAID-9", "浙江省", None, None, "~AgAAAAE1f2b3c4d5e6f7a8b9c0d1e2f3a4b5c~a~") == "merge-id:OAID-9"


def test_pdd_ciphertext_receivers_are_not_hashed_and_open_address_id_is():
    """Constructed: the sample as PDD sends it today, receiver encrypted."""
    cipher = "~AgAAAAE1f2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a~a~"
    record = dict(copy.deepcopy(first_pdd()), receiver_address=cipher, address=cipher,
                  receiver_phone="$AgAAAAE9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c$", open_id=None)
    order = normalise("pdd", [record], "pdd-main", hash_key=KEY).orders.iloc[0]
    assert order["address_hash"] is None and order["buyer_key"] is None
    with_id = normalise("pdd", [dict(record, open_address_id="PDDOA-1")], "pdd-main", hash_key=KEY).orders.iloc[0]
    assert with_id["address_hash"] is not None


def test_top_masked_nick_is_no_buyer_and_oaid_is_the_address():
    """Constructed: the sample with TOP's masked nick and its OAID."""
    record = dict(copy.deepcopy(first_top()), buyer_nick="t**", buyer_open_uid=None, oaid="1AbCdEfOAID")
    order = normalise("taobao", [record], "tmall-flagship", hash_key=KEY).orders.iloc[0]
    assert order["buyer_key"] is None and order["address_hash"] is not None
