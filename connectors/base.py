"""The one interface every marketplace connector implements, and what it returns.

A connector turns a time window into pages of raw order records (``pull_orders``) and
performs the two writes operations need (stock, shipment). It knows its platform's wire
protocol — signing, paging, window limits, throttling — and nothing about Prefect, the
warehouse or canonical orders (``domain.normalise`` does that from ``Page.records``).

Secrets: ``Credentials`` never prints its secret or token, and every message that leaves a
connector (exceptions, log lines) goes through ``redact`` first: a URL in a requests error
can carry an access token in its query string.
"""
from __future__ import annotations

import abc
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Callable, ClassVar
from urllib.parse import quote, quote_plus

from domain.timeutil import UTC, require_aware
from domain.windows import Window, split

REDACTED = "***"

#: ``fetch(page_no) -> (raw body, records, total count)`` of an offset-paged API
Fetch = Callable[[int], tuple[bytes, list[dict], int]]
#: ``finish(records) -> (completed records, bodies of the extra calls)``
Finish = Callable[[list[dict]], tuple[list[dict], list[bytes]]]


@dataclass(frozen=True)
class ConnectorSettings:
    """How to talk to one shop's API; defaults per platform come from ``default_settings``.

    ``max_window``: longest modified-time window one query may cover (TOP one day, PDD 30
    minutes …). ``safety_lag``: the platform refuses (or has not yet indexed) the last
    minutes, so a window never ends after ``now − safety_lag``. ``throttle_rate_per_s`` and
    ``throttle_burst`` form a client-side token bucket so we stay under the platform's quota
    instead of discovering it through bans. ``options`` holds platform specifics (sign
    method, API version, marketplace ids …), documented on each connector class.
    """

    base_url: str
    page_size: int = 100
    max_window: timedelta = timedelta(days=1)
    safety_lag: timedelta = timedelta(0)
    timeout_s: float = 30.0
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    throttle_rate_per_s: float = 10.0
    throttle_burst: int = 5
    max_throttle_waits: int = 10
    max_throttle_wait_s: float = 300.0
    options: Mapping[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


@dataclass(frozen=True, repr=False)
class Credentials:
    """A shop's API credentials. ``repr``/``str`` show the app key only.

    ``access_token`` is TOP's ``session``, JD/PDD/Douyin's ``access_token``, Shopify's admin
    token, Amazon's LWA access token. ``extras`` holds anything else (e.g. a seller id);
    every extra is treated as secret too.
    """

    app_key: str = ""
    app_secret: str = ""
    access_token: str = ""
    extras: Mapping[str, str] = field(default_factory=dict)

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never reach a log line or a message."""
        values = (self.app_secret, self.access_token, *map(str, self.extras.values()))
        return tuple(v for v in values if v)

    def __repr__(self) -> str:
        extras = ", ".join(f"{k}={REDACTED}" for k in self.extras)
        return (f"Credentials(app_key={self.app_key!r}, app_secret={REDACTED}, access_token={REDACTED}"
                f"{', ' + extras if extras else ''})")

    __str__ = __repr__


def redact(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """``text`` with each secret replaced by ``***``, also in its URL-encoded forms."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) < 4:  # too short to search for without mangling the message
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, REDACTED)
    return text


# --- errors -----------------------------------------------------------------------------

class ConnectorError(Exception):
    """Base of every connector failure; the message says what happened and what to do."""

    def __init__(self, message: str, *, platform: str = "", shop_id: str = ""):
        prefix = f"[{platform} {shop_id}] " if platform else ""
        super().__init__(prefix + message)
        self.platform, self.shop_id, self.detail = platform, shop_id, message


class AuthError(ConnectorError):
    """Bad signature, expired session/token, missing permission. Not retried: a person must
    renew the token or fix the app secret."""


class ThrottledError(ConnectorError):
    """The platform asked us to slow down; ``retry_after_s`` is its stated wait if any."""

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s


class TransientError(ConnectorError):
    """5xx, timeout, dropped connection, truncated or invalid body: worth retrying."""


class PlatformError(ConnectorError):
    """The platform rejected the request for a reason retrying will not fix."""

    def __init__(self, message: str, *, code: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.code = code


#: what to do when a platform refuses a signed request's timestamp (clock skew)
CLOCK_SKEW_ADVICE = ("the platform compares the request's timestamp with its own clock and this host's clock is "
                     "too far off: synchronise it (NTP) and run the pull again")


# --- results ----------------------------------------------------------------------------

@dataclass
class Page:
    """One API response page of orders, as received and as records.

    ``raw`` is the body exactly as received, kept for audit and replay; ``related_raw`` the
    bodies of the extra calls that completed these records (TOP ``trade.fullinfo.get``,
    Amazon ``getOrderItems``). ``records`` are the platform's order dicts, deduplicated
    within the scan. ``retries``/``throttle_waits``/``throttle_wait_s`` count what getting
    this page cost, for the run's report.
    """

    shop_id: str
    platform: str
    window_start: datetime
    window_end: datetime
    page_no: int
    raw: bytes
    records: list[dict]
    fetched_at: datetime
    retries: int = 0
    throttle_waits: int = 0
    throttle_wait_s: float = 0.0
    related_raw: list[bytes] = field(default_factory=list)


@dataclass(frozen=True)
class PushResult:
    reply: dict
    ok: bool


@dataclass(frozen=True)
class ShipmentResult:
    reply: dict
    ok: bool


# --- the interface ----------------------------------------------------------------------

def utc_now() -> datetime:
    """The wall clock. Signed request timestamps always use it (platforms reject a timestamp
    minutes off their own clock); ``Connector.clock`` only decides where windows end."""
    return datetime.now(UTC)


class Connector(abc.ABC):
    """Base of the platform connectors: window splitting and in-scan dedup live here.

    Subclasses implement ``_pages(window)`` (one window, paged the platform's way),
    ``order_key``/``order_modified`` (for dedup) and the three writes.
    """

    platform: ClassVar[str]
    #: per-platform defaults merged into ``ConnectorSettings`` by ``default_settings``
    DEFAULTS: ClassVar[dict[str, Any]] = {}

    def __init__(self, shop_id: str, settings: ConnectorSettings, credentials: Credentials, *,
                 clock: Callable[[], datetime] = utc_now, sleep: Callable[[float], None] | None = None):
        from connectors.http import HttpClient  # here, not at the top: connectors.http imports this module

        self.shop_id = shop_id
        self.settings = settings
        self.credentials = credentials
        self.clock = clock
        self.log = logging.getLogger(f"connectors.{self.platform}")
        self.http = HttpClient(self.platform, shop_id, settings, credentials.secrets(), self.log, sleep=sleep)

    @classmethod
    def default_settings(cls, base_url: str, **overrides: Any) -> ConnectorSettings:
        """The platform's defaults with ``overrides``; names that are not settings fields
        (``sign_method``, ``location_id`` …) become ``options``."""
        known = {f.name for f in fields(ConnectorSettings)}
        values = {**cls.DEFAULTS, **{k: v for k, v in overrides.items() if k in known}}
        options = {**values.pop("options", {}), **{k: v for k, v in overrides.items() if k not in known}}
        return ConnectorSettings(base_url=base_url.rstrip("/"), options=options, **values)

    # -- reading -------------------------------------------------------------------------
    def windows(self, start: datetime, end: datetime) -> list[Window]:
        """``[start, end)`` cut to the platform's longest window, ending no later than
        ``now − safety_lag``."""
        start = require_aware(start, "start")
        end = min(require_aware(end, "end"), self.clock() - self.settings.safety_lag)
        if end <= start:
            return []
        return split(Window(start, end), self.settings.max_window)

    def pull_orders(self, start: datetime, end: datetime) -> Iterator[Page]:
        """Pages of orders modified in ``[start, end)``, deduplicated within this scan.

        Rows move between pages while a modified-time scan runs, so the same order can come
        twice: a record is left out when the scan already yielded that order with a
        ``modified`` at least as new (a newer version is yielded; storage keeps the newest).
        """
        newest: dict[str, object] = {}
        for window in self.windows(start, end):
            for page in self._pages(window):
                fresh = []
                for record in page.records:
                    try:
                        key, modified = self.order_key(record), self.order_modified(record)
                        seen = newest.get(key)
                        newer = seen is None or (modified is not None and modified > seen)
                    except (KeyError, TypeError, AttributeError, ValueError):
                        # not an order object, or no id: nothing to dedup by; pass it on so
                        # validation quarantines it with a reason instead of the pull failing
                        fresh.append(record)
                        continue
                    if not newer:
                        continue
                    newest[key] = modified
                    fresh.append(record)
                page.records = fresh
                yield page

    def _pages_backwards(self, window: Window, fetch: Fetch, first_page: int = 1,
                         finish: Finish | None = None) -> Iterator[Page]:
        """Offset paging read from the last page back to the first.

        While a modified-time scan runs, orders modified again leave the window and every
        row behind them moves up one place: read forwards, the row that moved onto an
        already-read page would be missed for good (its modified time does not change).
        Read backwards, only pages already read shift, so nothing is skipped; the rows seen
        twice are removed by ``pull_orders``. The first request only learns the count (a
        single page is used as it is). ``fetch(page_no)`` returns (raw body, records, total);
        ``finish(records)`` may complete records with extra calls (→ records, their bodies).
        """
        raw, records, total = fetch(first_page)
        last_page = first_page + max(1, math.ceil(total / self.settings.page_size)) - 1
        for page_no in range(last_page, first_page - 1, -1):
            if last_page != first_page:
                raw, records, _ = fetch(page_no)
            related: list[bytes] = []
            if finish is not None:
                records, related = finish(records)
            yield self._page(window, page_no, raw, records, related)

    def _page(self, window: Window, page_no: int, raw: bytes, records: list[dict],
              related_raw: list[bytes] | None = None) -> Page:
        """A Page with the HTTP cost counted since the previous page."""
        stats = self.http.take_stats()
        return Page(shop_id=self.shop_id, platform=self.platform, window_start=window.start,
                    window_end=window.end, page_no=page_no, raw=raw, records=records,
                    fetched_at=self.clock(), retries=stats.retries, throttle_waits=stats.throttle_waits,
                    throttle_wait_s=stats.throttle_wait_s, related_raw=related_raw or [])

    @abc.abstractmethod
    def _pages(self, window: Window) -> Iterator[Page]:
        """The pages of one window (no longer than ``max_window``)."""

    @staticmethod
    @abc.abstractmethod
    def order_key(record: dict) -> str:
        """The platform's order id of a record, as a string."""

    @staticmethod
    @abc.abstractmethod
    def order_modified(record: dict) -> object:
        """A value ordering versions of one order (newer is greater)."""

    # -- writing -------------------------------------------------------------------------
    @abc.abstractmethod
    def push_stock(self, item_id: str, sku_id: str, quantity: int) -> PushResult:
        """Set the sellable quantity of a listing (a full overwrite, never a delta)."""

    @abc.abstractmethod
    def read_stock(self, item_id: str, sku_id: str) -> int:
        """The sellable quantity the marketplace shows for a listing."""

    @abc.abstractmethod
    def confirm_shipment(self, order_id: str, carrier: str, tracking_no: str) -> ShipmentResult:
        """Tell the marketplace an order left with ``carrier`` under ``tracking_no``."""

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
