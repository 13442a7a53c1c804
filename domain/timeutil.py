"""Times in each marketplace's format and zone → timezone-aware UTC, and back for requests.

TOP, JD and PDD write "yyyy-MM-dd HH:mm:ss" in Beijing time without an offset; Douyin sends
unix seconds; Shopify ISO 8601 with the shop's offset; Amazon ISO 8601 UTC. China has had
no daylight saving since 1991, so Beijing time is the fixed offset UTC+8 (cheaper and more
predictable than a zone database lookup).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

UTC = timezone.utc
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
_BEIJING_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_beijing(text: str | None) -> datetime | None:
    """"2026-11-11 00:00:05" (Beijing) → aware UTC datetime; empty → None.

    Sliced by hand: ~5× faster than ``strptime`` and TOP pages carry several times per order.
    """
    if not text:
        return None
    try:
        local = datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]),
                         int(text[11:13]), int(text[14:16]), int(text[17:19]), tzinfo=BEIJING)
    except (ValueError, IndexError):
        local = datetime.strptime(text.strip(), _BEIJING_FORMAT).replace(tzinfo=BEIJING)
    return local.astimezone(UTC)


def parse_unix(seconds: int | str | None) -> datetime | None:
    """Unix seconds → aware UTC; 0 and empty mean "not happened" (Douyin's convention)."""
    if seconds in (None, "", 0, "0"):
        return None
    return datetime.fromtimestamp(int(seconds), UTC)


def parse_iso(text: str | None) -> datetime | None:
    """ISO 8601 with an offset or "Z" → aware UTC. A value without offset is refused."""
    if not text:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset; cannot place it in time")
    return value.astimezone(UTC)


def require_aware(value: datetime, name: str) -> datetime:
    """Guard for connector inputs: naive datetimes are ambiguous across marketplaces' zones."""
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


def format_beijing(value: datetime) -> str:
    """Aware datetime → "yyyy-MM-dd HH:mm:ss" in Beijing time (TOP/JD request parameters)."""
    return value.astimezone(BEIJING).strftime(_BEIJING_FORMAT)


def format_iso_utc(value: datetime) -> str:
    """Aware datetime → "2026-11-11T00:00:00Z" (Amazon parameters)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix_seconds(value: datetime) -> int:
    return int(value.timestamp())


#: how a moment is shown to a person (issue 23 #1): minutes, no seconds, no offset text
LOCAL_TEXT_FORMAT = "%Y-%m-%d %H:%M"


def local_time(value: object, zone: str) -> datetime | None:
    """A moment (aware ``datetime``/``Timestamp``, ISO text; naive means UTC, as stored in the
    database) → aware ``datetime`` in ``zone`` (an IANA name such as "Asia/Shanghai"); empty → None."""
    import pandas as pd
    from zoneinfo import ZoneInfo

    if value is None or value == "":
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    if pd.isna(stamp):
        return None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(ZoneInfo(zone)).to_pydatetime()


def local_text(value: object, zone: str, fmt: str = LOCAL_TEXT_FORMAT) -> str:
    """The one way a moment is written for a person: "2026-12-05 09:30" in ``zone`` (the shop's
    zone, rules.yaml orders.default_timezone); empty or NaT → "". UTC stays in the database.
    ``fmt``: a shorter form where the year is clear (a run's name: "12-05 09:30")."""
    local = local_time(value, zone)
    return local.strftime(fmt) if local is not None else ""
