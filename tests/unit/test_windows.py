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


def test_only_a_window_that_reaches_back_to_the_watermark_may_advance_it():
    """issue 19 #7: a backfill starting after watermark − lookback leaves a gap it did not read."""
    from domain.windows import watermark_limit

    kwargs = dict(lookback=10 * M, safety_lag=M)
    first = NOW - 1440 * M
    incremental = pull_window(NOW - 60 * M, NOW, first_pull_since=first, **kwargs)
    assert watermark_limit(incremental, NOW - 60 * M, NOW, **kwargs) == NOW - M
    reaching_back = pull_window(NOW - 60 * M, NOW, first_pull_since=first, since=NOW - 600 * M, **kwargs)
    assert watermark_limit(reaching_back, NOW - 60 * M, NOW, **kwargs) == NOW - M
    # starts later than watermark − lookback: the minutes between are unread
    later = pull_window(NOW - 60 * M, NOW, first_pull_since=first, since=NOW - 65 * M, **kwargs)
    assert watermark_limit(later, NOW - 60 * M, NOW, **kwargs) is None
    # never pulled: no watermark, no gap; the first pull (or backfill) sets it
    for since in (None, NOW - 100 * M):
        never_pulled = pull_window(None, NOW, first_pull_since=first, since=since, **kwargs)
        assert watermark_limit(never_pulled, None, NOW, **kwargs) == NOW - M
    # an `until` in the future: the watermark stops at now − safety lag (later data does not exist yet)
    future = pull_window(NOW - 60 * M, NOW, first_pull_since=first, since=NOW - 600 * M, until=NOW + 600 * M,
                         **kwargs)
    assert watermark_limit(future, NOW - 60 * M, NOW, **kwargs) == NOW - M
