from datetime import datetime, timedelta, timezone

import pytest

from domain.windows import Window, pull_window, split

UTC = timezone.utc
NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def test_incremental_window_is_watermark_minus_lookback_to_now_minus_lag():
    w = pull_window(NOW - 10 * M, NOW, lookback=10 * M, safety_lag=M, first_pull_since=NOW - 1000 * M)
    assert (w.start, w.end) == (NOW - 20 * M, NOW - M)


def test_first_pull_and_backfill():
    assert pull_window(None, NOW, 10 * M, M, first_pull_since=NOW - 60 * M).start == NOW - 60 * M
    w = pull_window(NOW, NOW, 10 * M, M, NOW, since=NOW - 3 * 1440 * M, until=NOW - 1440 * M)
    assert (w.start, w.end) == (NOW - 3 * 1440 * M, NOW - 1440 * M)


def test_a_window_never_ends_before_it_starts():
    w = pull_window(NOW + 5 * M, NOW, lookback=M, safety_lag=M, first_pull_since=NOW)
    assert w.empty and w.start == w.end


def test_split_covers_the_window_exactly_within_the_limit():
    parts = split(Window(NOW - 70 * M, NOW), 30 * M)
    assert [(p.start, p.end) for p in parts] == [
        (NOW - 70 * M, NOW - 40 * M), (NOW - 40 * M, NOW - 10 * M), (NOW - 10 * M, NOW)]
    assert split(Window(NOW, NOW), 30 * M) == []


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(datetime(2026, 1, 1), NOW)
