"""Within a chunk of pages, one version per order reaches validation: the newest."""
from __future__ import annotations

from datetime import datetime, timezone

from connectors.base import Page
from connectors.taobao import TaobaoConnector
from tasks.ingest import _keep_newest_versions, _normalise_chunk

T = datetime(2026, 11, 11, tzinfo=timezone.utc)


def page(*records):
    return Page(shop_id="s", platform="taobao", window_start=T, window_end=T, page_no=1, raw=b"",
                records=list(records), fetched_at=T)


def test_an_order_yielded_twice_keeps_only_its_newest_version():
    old, new, other = ({"tid": 1, "modified": "2026-11-11 10:00:00"}, {"tid": 1, "modified": "2026-11-11 10:05:00"},
                       {"tid": 2, "modified": "2026-11-11 09:00:00"})
    first, second = page(old, other), page(new, None, {"no": "id"})
    _keep_newest_versions([first, second], TaobaoConnector)  # order_key/order_modified are static
    assert first.records == [other]
    assert second.records == [new, None, {"no": "id"}]  # unreadable records stay for the quarantine


def test_the_same_version_twice_keeps_the_later_copy():
    a, b = {"tid": 7, "modified": "2026-11-11 10:00:00"}, {"tid": 7, "modified": "2026-11-11 10:00:00"}
    first, second = page(a), page(b)
    _keep_newest_versions([first, second], TaobaoConnector)
    assert (first.records, second.records) == ([], [b])


def trade(tid: int) -> dict:
    return {"tid": tid, "status": "WAIT_SELLER_SEND_GOODS", "payment": "10.00", "post_fee": "0.00",
            "modified": "2026-11-11 10:00:00", "orders": [{"oid": tid * 10, "num": 1, "price": "10.00",
                                                          "total_fee": "10.00", "outer_sku_id": "SKU-1"}]}


def test_a_chunk_is_normalised_at_once_and_each_order_keeps_its_page():
    frames, unreadable = _normalise_chunk([page(trade(1), trade(2)), page(), page(trade(3))], "key")
    assert list(frames.orders["order_id"]) == ["1", "2", "3"]
    assert list(frames.orders["raw_page_id"]) == [0, 0, 2]
    assert unreadable == [[], [], []]


def test_an_unreadable_record_is_set_aside_with_its_page_and_the_rest_is_normalised():
    frames, unreadable = _normalise_chunk([page(trade(1)), page(trade(2), {"tid": 2.5}, None)], "key")
    assert list(frames.orders["order_id"]) == ["1", "2"]
    assert list(frames.orders["raw_page_id"]) == [0, 1]
    assert unreadable[0] == []
    assert [order_id for order_id, _, _ in unreadable[1]] == ["2.5", None]
    assert "a float" in unreadable[1][0][2][0] and "not an order object" in unreadable[1][1][2][0]
