"""The building blocks of normalisation: money, times and buyer-data protection."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from domain.money import MoneyError, major_to_minor, minor_from_int, money_object_to_minor, split_minor
from domain.pii import (CIPHERTEXT_MARK, mask_address, mask_name, mask_phone, mask_text, protect_phone,
                        stable_hash)
from domain.timeutil import format_beijing, parse_beijing, parse_iso, parse_unix

UTC = timezone.utc


@pytest.mark.parametrize("value, minor", [
    ("200.07", 20007), ("0.00", 0), (" 1,299.50 ", 129950), (Decimal("0.1"), 10),
    (19.99, 1999), (12.5, 1250), (7, 700), (None, None), ("", None),
])
def test_major_to_minor_is_exact(value, minor):
    assert major_to_minor(value) == minor


def test_float_yuan_never_goes_through_float_arithmetic():
    amounts = json.loads("[0.1, 0.2, 1.15, 4.35, 1234567.89]")
    assert [major_to_minor(a) for a in amounts] == [10, 20, 115, 435, 123456789]
    assert sum(major_to_minor(a) for a in (0.1, 0.2)) == 30  # 0.1 + 0.2 == 0.30000000000000004 in float


@pytest.mark.parametrize("bad", ["12.345", "abc", True, [1], 0.1 + 0.2])  # last: float maths result
def test_major_to_minor_refuses_to_round_or_guess(bad):
    with pytest.raises(MoneyError):
        major_to_minor(bad)


def test_other_money_encodings_and_exact_split():
    assert minor_from_int(15800) == 15800 and minor_from_int("15800") == 15800
    assert money_object_to_minor({"CurrencyCode": "USD", "Amount": "11.01"}) == (1101, "USD")
    assert split_minor(20900, [19900, 19900]) == [10450, 10450]
    assert split_minor(100, [1, 1, 1]) == [34, 33, 33] and sum(split_minor(7, [3, 5, 0])) == 7


def test_times_from_each_platform_format():
    assert parse_beijing("2026-11-11 00:00:05") == datetime(2026, 11, 10, 16, 0, 5, tzinfo=UTC)
    assert parse_unix(1794355200) == datetime(2026, 11, 11, tzinfo=UTC) and parse_unix(0) is None
    assert parse_iso("2008-01-10T11:00:00-05:00") == datetime(2008, 1, 10, 16, tzinfo=UTC)
    assert parse_iso("2019-05-07T15:42:57.058Z") == datetime(2019, 5, 7, 15, 42, 57, 58000, tzinfo=UTC)
    assert format_beijing(datetime(2026, 11, 10, 16, 0, 5, tzinfo=UTC)) == "2026-11-11 00:00:05"
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_iso("2026-11-11T00:00:00")


@pytest.mark.parametrize("phone, masked", [
    ("13812345678", "138****5678"), ("555-625-1199", "555-****1199"), ("139****2222", "139****2222"),
    ("", None), (None, None),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


def test_mask_name_and_address_keep_only_what_operations_need():
    assert mask_name("张三丰") == "张**" and mask_name("Bob Norman") == "B** N*****"
    assert mask_address("浙江省杭州市西湖区文三路100号") == "浙江省杭州市西湖区****"
    assert mask_address("文三路100号", "浙江省", "杭州市", "西湖区") == "浙江省杭州市西湖区****"
    assert mask_address("1 Cross St.", "MI", "Canton") == "MI, Canton, ****"
    assert mask_address(None, "四川省", "成都市", "武侯区") == "四川省成都市武侯区"


def test_mask_text_finds_phones_in_remarks_and_leaves_the_rest():
    text = "改发 13812345678 或 +86 139-1234-5678, US +1 480-386-0930; 2026-11-11 12:00 送到, 订单 5 件"
    masked = mask_text(text)
    for clear in ("13812345678", "1234-5678", "386-0930"):
        assert clear not in masked
    assert "2026-11-11 12:00" in masked and "订单 5 件" in masked and "138****5678" in masked
    assert mask_text("电话13812345678谢谢") == "电话138****5678谢谢"  # no space after Chinese text


def test_mask_text_hides_landlines_e_mails_and_street_addresses_typed_in_a_remark():
    """Issue 19 #12: a buyer types contact data into the remark; stored and printed masked."""
    text = ("请改发 浙江省杭州市西湖区文三路100号3幢201室 王先生 0571-88881234, 或 021 6234 5678; "
            "mail bob.norman@example.com / ship to 1200 Main St, Springfield, tel +44 20 7946 0958")
    masked = mask_text(text)
    for clear in ("100号", "201室", "88881234", "6234 5678", "bob.norman@", "1200 Main", "7946 0958"):
        assert clear not in masked, (clear, masked)
    assert "文三路****" in masked and "b****@example.com" in masked and "**** Main St" in masked
    assert masked.startswith("请改发 浙江省杭州市西湖区") and "Springfield" in masked
    # what is not contact data stays readable
    assert mask_text("急! 2026-11-11 前发货, 送 2 件, 颜色 黑") == "急! 2026-11-11 前发货, 送 2 件, 颜色 黑"


def test_stable_hash_is_keyed_normalised_and_one_way():
    a = stable_hash(" Bob@Example.com ", b"key-1")
    assert a == stable_hash("bob@example.com", b"key-1") != stable_hash("bob@example.com", b"key-2")
    assert "bob" not in a and len(a) == 32
    assert stable_hash("", b"key") is None
    with pytest.raises(ValueError, match="key"):
        stable_hash("x", b"")


def test_ciphertext_is_never_stored():
    assert protect_phone("~AgAAAAFj9F5kVxT3aRkB0pQ+phone=~") == CIPHERTEXT_MARK
    assert protect_phone("13812345678") == "138****5678"
