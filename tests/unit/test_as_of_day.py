"""``--as-of DAY`` read and checked (shopops/as_of.py, issue 23 #10): a past day in the shop's zone."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from shopops.as_of import AsOfError, as_of_day, day_close

ZONE = "Asia/Shanghai"
# 2026-12-05 01:30 in Shanghai is still 2026-12-04 in UTC: "today" is the shop's day
NOW = datetime(2026, 12, 4, 17, 30, tzinfo=timezone.utc)


def test_a_past_day_in_either_way_the_team_writes_it():
    assert as_of_day("2026-12-04", ZONE, NOW) == date(2026, 12, 4)
    assert as_of_day("2026/11/30", ZONE, NOW) == date(2026, 11, 30)
    assert as_of_day(date(2026, 11, 1), ZONE, NOW) == date(2026, 11, 1)
    assert as_of_day(None, ZONE, NOW) is None


@pytest.mark.parametrize("value", ["2026-12-05", "2026-12-06", "2027-01-01"])
def test_today_and_later_are_refused_saying_why(value, monkeypatch):
    monkeypatch.setenv("SHOPOPS_LOCALE", "zh_CN")
    from config.settings import get_settings

    get_settings.cache_clear()
    with pytest.raises(AsOfError, match=f"--as-of {value} 不是已过去的日期（店铺时区今天是 2026-12-05）"):
        as_of_day(value, ZONE, NOW)
    get_settings.cache_clear()


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "30.11.2026", "yesterday", "20261130x"])
def test_a_malformed_date_is_refused_naming_the_form(value):
    with pytest.raises(AsOfError, match="YYYY-MM-DD"):
        as_of_day(value, ZONE, NOW)


def test_the_day_closes_at_midnight_in_the_shop_zone():
    assert day_close(date(2026, 11, 30), ZONE) == datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
