"""``--as-of DAY``: a run computed for a past day as if it were that day (issue 23 #10).

A run as of DAY is evaluated at the close of DAY in the shop's zone (rules.yaml
orders.default_timezone, Asia/Shanghai): everything up to 24:00 of DAY counts, nothing after.
"Today" in its titles and file names is DAY; restock's demand history is the days up to and
including DAY (the day is over); shipping deadlines are judged at 24:00 of DAY; the follow-up
lists the orders paid on DAY. Such a run recomputes and reports — it sends, stores and
changes nothing, since a past day's alerts, batches and holds cannot be acted on any more.

The flows take ``as_of`` as a date parameter; the CLI's ``--as-of`` is read by
:func:`as_of_day`, which refuses a malformed date and a day that is not yet over.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from shopops.i18n import t

#: how a person may write the day: 2026-11-30 or 2026/11/30 (what Excel and WPS show)
_DAY_FORMATS = ("%Y-%m-%d", "%Y/%m/%d")


class AsOfError(ValueError):
    """A day a run cannot be computed as of (malformed, today or later); the message says why."""


def day_close(day: date, zone: str) -> datetime:
    """The moment ``day`` ends in ``zone`` (00:00 of the next day there), in UTC."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def as_of_day(value: str | date | None, zone: str, now: datetime | None = None) -> date | None:
    """The day of ``--as-of`` (``YYYY-MM-DD`` or ``YYYY/MM/DD``); ``None`` when not given.
    ``AsOfError`` for text that is not a date and for a day that is not over yet in ``zone``
    (today or later: a run without ``--as-of`` computes today)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        text = str(value).strip()
        for fmt in _DAY_FORMATS:
            try:
                value = datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
        else:
            raise AsOfError(t("as_of_malformed", value=text))
    today = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(zone)).date()
    if value >= today:
        raise AsOfError(t("as_of_not_past", day=value.isoformat(), today=today.isoformat()))
    return value


def as_of_option(value: str | None) -> date | None:
    """The CLI's ``--as-of`` callback: the day, or the reason it is refused on stderr and exit
    code 2 (before any run starts, so no failed run is left in the UI)."""
    import typer

    from config.schema import load_config

    try:
        return as_of_day(value, load_config().rules.orders.default_timezone)
    except AsOfError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


#: the catalogue key (shopops/i18n.py) of the help text of every ``--as-of`` option
AS_OF_HELP = "help_as_of"
