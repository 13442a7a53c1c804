"""The per-platform PII paths (issue 18 #12) as the masking before storage reads them: what a
path reaches, and that reading a page costs the same however many paths a platform declares
(the structured walk compared every key with every path: Shopify's 39 made its raw pages cost
10× their generic masking and the shopify-global pull 20% more CPU; docs/BENCHMARKS.md)."""
from __future__ import annotations

import json
import sys

from domain.normalise import pii_paths
from domain.pii import MASK, mask_pii, mask_pii_payload

PATHS = {"a.*.name": "name", "**.x.**.phone": "phone", "**.customer.first_name": "name",
         "top.email": "email", "**.ShippingAddress.Name": "name"}


def test_paths_reach_what_they_say_and_nothing_else():
    document = {
        "a": {"k1": {"name": "Alice"}, "k2": [{"name": "Bob"}], "name": "kept: a.name is not a.*.name"},
        "x": {"y": {"z": {"phone": "13812345678"}}, "phone": "13912345678"},   # ** = zero or more keys
        "phone": "13712345678",                                                 # not under x
        "customer": {"first_name": "Carl", "last_name": "Dee"},
        "orders": [{"customer": {"first_name": "Eve"}}],                        # ** at any depth, lists passed
        "top": {"email": "e@example.com"}, "q": {"top": {"email": "f@example.com"}},   # top.* only at the top
        "ShippingAddress": {"Name": ["Ann", "Ben"]},                            # a value reached is masked whole
    }
    masked = mask_pii(document, PATHS)
    assert masked["a"]["k1"]["name"] == "A****" and masked["a"]["k2"][0]["name"] == "B**"
    assert masked["a"]["name"] == document["a"]["name"]
    assert masked["x"]["y"]["z"]["phone"] != "13812345678" and masked["x"]["phone"] != "13912345678"
    assert masked["phone"] == "13712345678"
    assert masked["customer"] == {"first_name": "C***", "last_name": "Dee"}
    assert masked["orders"][0]["customer"]["first_name"] == "E**"
    assert masked["top"]["email"] == f"e{MASK}@example.com" and masked["q"]["top"]["email"] == "f@example.com"
    assert masked["ShippingAddress"]["Name"] == ["A**", "B**"]
    assert document["customer"]["first_name"] == "Carl"   # mask_pii returns a copy


def test_a_body_with_nothing_to_mask_stays_byte_for_byte():
    raw = b'{"orders": [{"id": 1, "customer": {"first_name": ""}, "note":  null}]}'
    assert mask_pii_payload(raw, PATHS) == raw
    masked = mask_pii_payload(b'{"customer": {"first_name": "Carl"}}', PATHS)
    assert json.loads(masked) == {"customer": {"first_name": "C***"}}


def _shopify_page(orders: int) -> dict:
    address = {"first_name": "Ann", "last_name": "Lee", "name": "Ann Lee", "address1": "1 Main St", "city": "Austin",
               "zip": "78701", "country_code": "US", "phone": "+1 512-555-0100", "latitude": 30.2, "longitude": -97.7}
    return {"orders": [{
        "id": 5000 + n, "name": f"#{1000 + n}", "email": "ann@example.com", "currency": "USD", "total_price": "20.00",
        "customer": {"id": 9, "first_name": "Ann", "last_name": "Lee", "default_address": dict(address)},
        "shipping_address": dict(address), "billing_address": dict(address),
        "line_items": [{"id": 70 + i, "name": "Mug", "sku": "MUG-1", "quantity": 1, "price": "10.00",
                        "properties": [{"name": "colour", "value": "red"}]} for i in range(2)],
        "shipping_lines": [{"title": "Standard", "price": "0.00"}],
    } for n in range(orders)]}


def _instructions(paths: dict[str, str], document: dict) -> int:
    """Bytecode instructions executed in domain/pii.py while ``document`` is masked: a count of
    work that does not depend on the machine's load (no timing)."""
    raw = json.dumps(document).encode()
    mask_pii_payload(raw, paths)   # the path table compiled once, as for every page after the first
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if not frame.f_code.co_filename.endswith("pii.py"):
            return None
        frame.f_trace_opcodes = True
        if event == "opcode":
            count += 1
        return tracer

    previous = sys.gettrace()   # a debugger's or coverage's tracer comes back afterwards
    sys.settrace(tracer)
    try:
        mask_pii_payload(raw, paths)
    finally:
        sys.settrace(previous)
    return count


def test_masking_a_page_costs_the_same_however_many_paths_are_declared():
    page = _shopify_page(20)
    shopify = pii_paths("shopify")
    # as many paths again that reach nothing on this page (another platform's envelopes)
    more = {**shopify, **{f"**.envelope_{n}.buyer.{key}": "name" for n in range(20) for key in ("name", "nick")}}
    base, doubled = _instructions(shopify, page), _instructions(more, page)
    assert doubled <= 1.1 * base, f"{base:,} instructions with {len(shopify)} paths, {doubled:,} with {len(more)}"
    keys = len(json.dumps(page).split('":'))
    # about 100 instructions a key, half the keys being masked values (the walk compared every key
    # with every path: about 1,500)
    assert base <= 200 * keys, f"{base:,} instructions for {keys:,} keys"


def test_a_document_keyed_by_ids_does_not_grow_the_remembered_steps_without_end(monkeypatch):
    from domain.pii import _PathMatcher, _compiled

    matcher = _PathMatcher(_compiled({"**.customer.name": "name"}))
    monkeypatch.setattr(matcher, "MEMO_LIMIT", 100)
    document = {"by_id": {str(n): {"customer": {"name": "Ann"}} for n in range(1000)}}
    assert matcher.mask_in_place(document) == 1000
    assert document["by_id"]["999"]["customer"]["name"] == "A**"
    assert max(len(steps) for steps in matcher._memo.values()) <= 100
