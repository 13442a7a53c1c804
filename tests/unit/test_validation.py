"""The order validation suite: each bad kind is rejected with a readable reason, good ones pass."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, CanonicalFrames
from domain.validation import ValidationRules, validate_orders

NOW = datetime(2026, 11, 11, 12, 0, tzinfo=timezone.utc)
RULES = ValidationRules(known_currencies=frozenset({"CNY", "USD"}))
CATALOGUE = {"DJ-BLK-L", "DJ-BLK-M"}


def make_order(order_id="T1", **changes):
    order = dict.fromkeys(ORDER_COLUMNS)
    order.update(platform="taobao", shop_id="tmall-flagship", order_id=order_id, status="paid",
                 platform_status="WAIT_SELLER_SEND_GOODS", currency="CNY", total_minor=30900,
                 post_fee_minor=1000, discount_minor=0, created_at=NOW - timedelta(hours=1),
                 paid_at=NOW - timedelta(hours=1), modified_at=NOW - timedelta(minutes=30), line_count=1)
    order.update(changes)
    return order


def make_line(order_id="T1", line_no=1, **changes):
    line = dict.fromkeys(LINE_COLUMNS)
    line.update(platform="taobao", shop_id="tmall-flagship", order_id=order_id, line_no=line_no,
                line_id=f"{order_id}-{line_no}", sku="DJ-BLK-L", quantity=1, unit_price_minor=29900,
                line_total_minor=29900, discount_minor=0, currency="CNY", is_gift=False)
    line.update(changes)
    return line


def frames(orders, lines):
    return CanonicalFrames(orders=pd.DataFrame(orders, columns=ORDER_COLUMNS),
                           lines=pd.DataFrame(lines, columns=LINE_COLUMNS))


def test_a_good_order_passes_untouched():
    outcome = validate_orders(frames([make_order()], [make_line()]), CATALOGUE, NOW, RULES)
    assert outcome.rejected.empty
    assert list(outcome.valid.orders["order_id"]) == ["T1"]


@pytest.mark.parametrize("order_changes, line_changes, reason", [
    ({"order_id": ""}, {"order_id": ""}, "order id is missing"),
    ({"total_minor": -5}, {}, "order total is negative (-5)"),
    ({"currency": "XBT"}, {"currency": "XBT"}, "unknown currency 'XBT'"),
    ({"paid_at": NOW + timedelta(days=1)}, {}, "is in the future"),
    ({"status": "WAIT_SELLER_SEND_GOODS"}, {}, "is not a canonical status"),
    ({"total_minor": 10000}, {}, "differ from the order total 10000 by 20900"),
    ({"total_minor": 31900, "tax_minor": None}, {}, "differ from the order total 31900 by 1000"),
    ({}, {"quantity": 0}, "line 1: quantity must be > 0 (got 0)"),
    ({}, {"sku": "NOPE-1"}, "line 1: SKU 'NOPE-1' is not in the catalogue"),
    ({}, {"sku": None}, "line 1: SKU is missing"),
    ({}, {"currency": "USD"}, "line 1: currency USD differs from the order's CNY"),
    ({"modified_at": None}, {}, "modified time is missing"),
])
def test_each_bad_kind_is_rejected_with_its_reason_and_the_good_order_still_passes(order_changes, line_changes, reason):
    oid = order_changes.get("order_id", "BAD")
    batch = frames([make_order(), make_order(order_id=oid, **{k: v for k, v in order_changes.items() if k != "order_id"})],
                   [make_line(), make_line(order_id=line_changes.get("order_id", oid),
                                           **{k: v for k, v in line_changes.items() if k != "order_id"})])
    outcome = validate_orders(batch, CATALOGUE, NOW, RULES)
    assert list(outcome.valid.orders["order_id"]) == ["T1"]
    assert list(outcome.valid.lines["order_id"]) == ["T1"]
    assert len(outcome.rejected) == 1
    assert any(reason in r for r in outcome.rejected.iloc[0]["reasons"]), outcome.rejected.iloc[0]["reasons"]


def test_every_reason_of_one_order_is_kept():
    batch = frames([make_order(currency="XBT", total_minor=-1)], [make_line(quantity=0, currency="XBT")])
    reasons = validate_orders(batch, CATALOGUE, NOW, RULES).rejected.iloc[0]["reasons"]
    assert any("negative" in r for r in reasons)
    assert any("unknown currency" in r for r in reasons)
    assert any("quantity must be > 0" in r for r in reasons)


def test_an_order_without_lines_is_rejected():
    outcome = validate_orders(frames([make_order()], []), CATALOGUE, NOW, RULES)
    assert outcome.rejected.iloc[0]["reasons"] == ["order has no lines",
        "line totals 0 + post fee 1000 + tax 0 − discount 0 differ from the order total 30900 by 29900 (more than 1 per line)"]


def test_order_level_tax_reconciles_the_lines_with_the_total():
    outcome = validate_orders(frames([make_order(total_minor=31900, tax_minor=1000)], [make_line()]), CATALOGUE, NOW, RULES)
    assert outcome.rejected.empty


def test_fields_holding_bytes_that_are_not_utf8_are_named_and_made_storable():
    """issue 19 #8: a body decoded with surrogateescape keeps a bad byte as U+DCNN; the record's
    fields holding one are named (the quarantine reason) and written out as \\xNN text."""
    import json

    from domain.validation import undecodable_bytes_as_text, undecodable_fields

    body = b'{"orderId": "1", "pin": "a\xffb", "items": [{"skuName": "\xe4\xb8\xad\xfe"}], "ok": "\xe4\xb8\xad"}'
    record = json.loads(body.decode("utf-8", "surrogateescape"))
    assert undecodable_fields(record) == ["pin", "items[0].skuName"]
    assert undecodable_fields(json.loads(b'{"pin": "\xe4\xb8\xad"}')) == []
    readable = undecodable_bytes_as_text(record)
    assert readable == {"orderId": "1", "pin": "a\\xffb", "items": [{"skuName": "中\\xfe"}], "ok": "中"}
    json.dumps(readable, ensure_ascii=False).encode()  # storable: no lone surrogate left


def test_shops_validating_at_once_in_threads_each_get_their_own_answer():
    """Found by the full-scale simulated week: seven shops' pulls validate in parallel threads
    on one GX context, and GX's cached batch answered one thread with another's frame
    ("Invalid result values … inconsistent cache values"): the shop failed. Each thread must get
    the answer for its own frame, with its own bad orders named."""
    from concurrent.futures import ThreadPoolExecutor

    def check(n: int) -> tuple[int, list[str], list[str]]:
        good = [make_order(f"G{n}-{i}") for i in range(20)]
        bad = [make_order(f"B{n}", total_minor=-n - 1)]
        lines = [make_line(o["order_id"]) for o in good + bad]
        outcome = validate_orders(frames(good + bad, lines), CATALOGUE, NOW, RULES)
        return n, sorted(outcome.rejected["order_id"].astype(str)), list(outcome.valid.orders["order_id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(check, range(64)))
    for n, rejected, valid in answers:
        assert rejected == [f"B{n}"], (n, rejected)
        assert len(valid) == 20 and all(v.startswith(f"G{n}-") for v in valid), (n, valid[:3])
