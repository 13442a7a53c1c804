"""Which time window an incremental pull covers (domain-rules.md §1).

``[watermark − lookback, now − safety_lag]``: the lookback re-reads the last minutes because
marketplaces make late writes visible a little after their ``modified`` time; the safety lag
keeps the window's end out of the still-moving present. Long gaps are split by the
connectors to each platform's own limit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware (UTC)")

    @property
    def empty(self) -> bool:
        return self.end <= self.start


def pull_window(watermark: datetime | None, now: datetime, lookback: timedelta, safety_lag: timedelta,
                first_pull_since: datetime, since: datetime | None = None, until: datetime | None = None) -> Window:
    """The window of the next pull.

    ``since``/``until`` (a backfill) override the watermark and the clock. Without a
    watermark (first pull of a shop) the pull starts at ``first_pull_since``.
    """
    end = until if until is not None else now - safety_lag
    if since is not None:
        start = since
    elif watermark is not None:
        start = watermark - lookback
    else:
        start = first_pull_since
    return Window(start=start, end=max(end, start))


def watermark_limit(window: Window, watermark: datetime | None, now: datetime, lookback: timedelta,
                    safety_lag: timedelta) -> datetime | None:
    """How far reading ``window`` may move the watermark; None: it must leave it alone.

    The watermark says "everything modified before this has been read". Only a window that
    starts at or before ``watermark − lookback`` (where the next incremental pull would start)
    continues it; a backfill starting later leaves unread minutes between the two, and moving
    the watermark over them would lose their orders for good. A shop never pulled has no
    watermark and so no gap: its first pull sets it (from ``first_pull_since`` or from the
    ``--since`` a person chose). The watermark never passes ``now − safety_lag`` either (an
    ``until`` in the future: what will be modified until then does not exist yet).
    """
    if watermark is not None and window.start > watermark - lookback:
        return None
    return min(window.end, now - safety_lag)


def split(window: Window, max_length: timedelta) -> list[Window]:
    """Consecutive windows no longer than ``max_length`` covering ``window`` exactly."""
    if max_length <= timedelta(0):
        raise ValueError("max_length must be positive")
    parts, cursor = [], window.start
    while cursor < window.end:
        nxt = min(cursor + max_length, window.end)
        parts.append(Window(cursor, nxt))
        cursor = nxt
    return parts
