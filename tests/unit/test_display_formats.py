"""Issue 23 #1 and #3: the one way times, money and ratios are written for a person."""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from domain.timeutil import local_text
from shopops.i18n import number, percent, when, yuan


def test_local_text_is_the_shops_clock_to_the_minute():
    at = datetime(2026, 12, 5, 1, 30, 59, 123456, tzinfo=timezone.utc)
    assert local_text(at, "Asia/Shanghai") == "2026-12-05 09:30"
    assert local_text(pd.Timestamp("2026-12-04 23:59", tz="UTC"), "Asia/Shanghai") == "2026-12-05 07:59"
    assert local_text(datetime(2026, 12, 5, 1, 30), "Asia/Shanghai") == "2026-12-05 09:30"  # naive = stored UTC
    assert local_text(None, "Asia/Shanghai") == "" and local_text(pd.NaT, "Asia/Shanghai") == ""
    assert when(at) == "2026-12-05 09:30"   # the configured zone (rules.yaml orders.default_timezone)


def test_money_in_yuan_with_separators_ratios_as_percent_no_nan():
    assert yuan(123456789) == "1,234,567.89"
    assert yuan(5) == "0.05" and yuan(-150000) == "-1,500.00"
    assert yuan(float("nan")) == "" and yuan(None) == ""
    assert percent(0.1234) == "12.3%" and percent(float("nan")) == ""
    assert number(12.3456) == "12.3" and number(1200.0) == "1,200" and number(None) == ""
