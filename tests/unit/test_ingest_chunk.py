"""Within a chunk of pages, one version per order reaches validation: the newest."""
from __future__ import annotations

from datetime import datetime, timezone

from connectors.base import Page
from connectors.taobao import TaobaoConnector
from tasks.ingest import _keep_newest_versions

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
