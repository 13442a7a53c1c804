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
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Callable, ClassVar, TypeVar
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

    Bounds against a marketplace (or something posing as one) that never stops answering:
    ``connect_timeout_s`` to open a connection and ``timeout_s`` between two bytes of an
    answer; ``call_deadline_s`` for one whole answer read in chunks (a body dripped a few
    bytes at a time never trips ``timeout_s``); ``max_body_bytes`` for one answer (the
    largest real page of orders is a few MB: a bigger body is refused, not archived);
    ``window_deadline_s`` for all the pages of one window; ``page_overrun`` pages read past
    the count a platform reported before the mismatch is an error (the page cap is
    ``ceil(total / page_size) + page_overrun``), and ``max_pages`` for a cursor-paged window,
    where no count is reported.
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
    connect_timeout_s: float = 10.0
    call_deadline_s: float = 120.0
    max_body_bytes: int = 20 * 1024 * 1024
    window_deadline_s: float = 7200.0
    page_overrun: int = 2
    max_pages: int = 5000
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
    #: when ``access_token`` stops working (TOP, PDD, Douyin and JD give ``expires_in`` at
    #: authorisation); None when unknown or it does not expire. Not a secret.
    expires_at: datetime | None = None
    #: what renews ``access_token`` where the platform allows (TOP, PDD, Douyin, JD refresh
    #: calls; Amazon's LWA refresh token, which gives an hourly access token), and when it
    #: ends itself (None: unknown). See ``Connector.refresh_credentials``.
    refresh_token: str = ""
    refresh_expires_at: datetime | None = None

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never reach a log line or a message."""
        values = (self.app_secret, self.access_token, self.refresh_token, *map(str, self.extras.values()))
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


class TokenExpiredError(AuthError):
    """The platform refused the access token itself (expired, revoked or unknown): a refresh
    may cure it, so a connector holding a refresh token refreshes once and retries the call
    once (``Connector._with_fresh_token``); without one it is an ``AuthError`` like any other."""


class TokenRefreshError(AuthError):
    """Renewing the access token failed (no refresh token, the refresh token expired or was
    refused): only a person can fix it, by authorising the app again in the platform's back
    office. ``detail`` says what the platform answered (its error fields only)."""


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


def describe_body(body: Any, raw: bytes = b"") -> str:
    """What an answer was, by its shape only (never a value: an order list carries buyer data)."""
    if body is None:
        return "an empty body" if not raw.strip() else f"{len(raw)} bytes that are not JSON"
    if isinstance(body, dict):
        if not body:
            return "an empty JSON object {}"
        keys = [str(k)[:40] for k in list(body)[:8]]
        return "a JSON object with the keys " + ", ".join(keys) + (" …" if len(body) > 8 else "")
    if isinstance(body, list):
        return f"a JSON list of {len(body)} items"
    return f"a JSON {type(body).__name__}"


class UnexpectedReplyError(ConnectorError):
    """A 200 whose body is not the platform's success envelope (empty, ``{}``, another API's
    answer, a proxy's page): never read as "no orders". Not retried."""


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
    #: the platform's own count of orders in this page's window, as reported with this page
    #: (TOP ``total_results``, PDD ``total_count``, JD ``orderTotal``, Douyin ``total``, Shopify
    #: ``orders/count.json``); None where the API gives none (Amazon: NextToken exhausted)
    total: int | None = None


@dataclass(frozen=True)
class WindowCount:
    """Whether one window was read completely: the platform's count next to what was captured.

    ``expected`` is the count reported by the last request of the last read (the state at the
    end of the scan: orders that left the window while it was read are no longer in it, and
    those were captured before they left); ``captured`` the distinct orders on the pages of
    that read. ``expected`` None: the platform gives no count (Amazon), and completeness is the
    cursor running out. ``reads``: 2 when a mismatch made the window be read again.
    """

    window: Window
    expected: int | None
    captured: int
    reads: int = 1

    @property
    def complete(self) -> bool:
        return self.expected is None or self.captured >= self.expected


@dataclass(frozen=True)
class PushResult:
    reply: dict
    ok: bool


@dataclass(frozen=True)
class ShipmentResult:
    reply: dict
    ok: bool


def renewed(credentials: Credentials, now: datetime, access_token: str, expires_in: float | None, *,
            refresh_token: str | None = None, refresh_expires_in: float | None = None,
            refresh_expires_at: datetime | None = None) -> Credentials:
    """``credentials`` after a refresh answered ``access_token`` valid ``expires_in`` seconds
    (and perhaps a new refresh token and its validity)."""
    if refresh_expires_at is None and refresh_expires_in:
        refresh_expires_at = now + timedelta(seconds=float(refresh_expires_in))
    return replace(credentials, access_token=access_token,
                   expires_at=now + timedelta(seconds=float(expires_in)) if expires_in else None,
                   refresh_token=refresh_token or credentials.refresh_token,
                   refresh_expires_at=refresh_expires_at or (None if refresh_token else credentials.refresh_expires_at))


_T = TypeVar("_T")


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
        #: per window of the last ``pull_orders``: the platform's count and what was captured
        self.window_counts: list[WindowCount] = []
        #: called with the new credentials after each refresh, to store them back where they came
        #: from (``tasks.secrets.store_credentials``); the wall clock tokens expire by
        self.on_refresh: Callable[[Credentials], None] | None = None
        self.token_clock: Callable[[], datetime] = utc_now

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

        Each window's completeness is checked against the platform's own count (``Page.total``):
        fewer distinct orders on its pages than the count, and the window is read once more;
        still fewer, and its ``WindowCount`` in ``window_counts`` (one per window, appended
        before the next window's first page) says it is incomplete: the caller must not move
        its watermark past it. Windows without a count (Amazon) are complete when the cursor
        runs out (``_check_cursor`` stops a cursor that never does).
        """
        newest: dict[str, object] = {}
        self.window_counts = []
        for window in self.windows(start, end):
            for reads in (1, 2):
                deadline = time.monotonic() + self.settings.window_deadline_s
                seen: set[str] = set()
                unkeyed, expected = 0, None
                for page in self._pages(window):
                    if time.monotonic() > deadline:
                        raise TransientError(
                            f"window {window.start.isoformat()} – {window.end.isoformat()} still not read after "
                            f"{self.settings.window_deadline_s:.0f} s (window_deadline_s), at page {page.page_no}: "
                            "the marketplace answers too slowly or its pages do not end; nothing past the last "
                            "complete window was stored — run the pull again later", platform=self.platform,
                            shop_id=self.shop_id)
                    expected = page.total if page.total is not None else expected
                    fresh = []
                    for record in page.records:
                        try:
                            key, modified = self.order_key(record), self.order_modified(record)
                            seen.add(key)
                            known = newest.get(key)
                            newer = known is None or (modified is not None and modified > known)
                        except (KeyError, TypeError, AttributeError, ValueError):
                            # not an order object, or no id: nothing to dedup by; pass it on so
                            # validation quarantines it with a reason instead of the pull failing
                            unkeyed += 1
                            fresh.append(record)
                            continue
                        if not newer:
                            continue
                        newest[key] = modified
                        fresh.append(record)
                    page.records = fresh
                    yield page
                count = WindowCount(window, expected, len(seen) + unkeyed, reads)
                if count.complete:
                    break
                self.log.warning("%s %s: window %s – %s: the platform counts %s orders, %d were on its pages%s",
                                 self.platform, self.shop_id, window.start.isoformat(), window.end.isoformat(),
                                 expected, count.captured, "; reading it again" if reads == 1 else "")
            self.window_counts.append(count)

    def count_orders(self, start: datetime, end: datetime) -> int | None:
        """The platform's own count of orders modified in ``[start, end)`` (summed over the
        platform's windows), or None where the API gives no count (``shopops ingest audit``)."""
        total = 0
        for window in self.windows(start, end):
            count = self._window_count(window)
            if count is None:
                return None
            total += count
        return total

    def _window_count(self, window: Window) -> int | None:
        """The platform's count of one window; the platforms that report one override this."""
        return None

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

        Counts are not trusted blindly. One that lies low would end the scan early: while the
        page it calls the last is full, the next page is read too, up to the page cap
        ``ceil(total / page_size) + page_overrun`` (beyond it the mismatch is an error). One
        that lies high would have thousands of empty pages read: the last two pages by the
        count both empty is an error.
        """
        size = self.settings.page_size
        raw, records, total = fetch(first_page)
        expected = max(1, math.ceil(total / size))
        last_page = first_page + expected - 1
        tail = {first_page: (raw, records, total)}   # the page read last is reused; the others are read again
        while True:
            if last_page not in tail:
                tail = {last_page: fetch(last_page)}
            if len(tail[last_page][1]) < size:
                break
            if last_page - first_page + 1 >= expected + self.settings.page_overrun:
                raise PlatformError(
                    f"the platform reported {total} orders ({expected} pages of {size}) but page {last_page} is "
                    f"still full: its count is wrong and the scan would end early; nothing of this window was "
                    "stored — run the pull again later or report it to the platform", code="total_too_low",
                    platform=self.platform, shop_id=self.shop_id)
            last_page += 1
        empty_tail = 0
        for page_no in range(last_page, first_page - 1, -1):
            if page_no in tail:
                raw, records, page_total = tail[page_no]
            else:
                raw, records, page_total = fetch(page_no)
            if empty_tail >= 0 and not records and page_no > first_page:
                empty_tail += 1
                if empty_tail >= 2:
                    raise PlatformError(
                        f"the platform reported {total} orders ({last_page - first_page + 1} pages of {size}) "
                        f"but pages {page_no} and {page_no + 1} are empty: its count is inflated; stopped instead "
                        "of reading empty pages", code="total_too_high", platform=self.platform,
                        shop_id=self.shop_id)
            else:
                empty_tail = -1   # rows found: emptier pages behind them were rows leaving the window
            related: list[bytes] = []
            if finish is not None:
                records, related = finish(records)
            yield self._page(window, page_no, raw, records, related, total=page_total)

    def _unexpected(self, what: str, expected: str, body: Any, raw: bytes = b"") -> UnexpectedReplyError:
        """The error for an answer that is not ``expected`` (the success envelope's shape)."""
        return UnexpectedReplyError(
            f"{what}: the answer is not a {self.platform} success reply (expected {expected}; got "
            f"{describe_body(body, raw)}) — nothing of it was read as orders and the watermark stays; "
            "if it repeats, check the shop's base_url and whatever sits between us and the marketplace",
            platform=self.platform, shop_id=self.shop_id)

    def _page(self, window: Window, page_no: int, raw: bytes, records: list[dict],
              related_raw: list[bytes] | None = None, total: int | None = None) -> Page:
        """A Page with the HTTP cost counted since the previous page."""
        stats = self.http.take_stats()
        return Page(shop_id=self.shop_id, platform=self.platform, window_start=window.start,
                    window_end=window.end, page_no=page_no, raw=raw, records=records,
                    fetched_at=self.clock(), retries=stats.retries, throttle_waits=stats.throttle_waits,
                    throttle_wait_s=stats.throttle_wait_s, related_raw=related_raw or [], total=total)

    @abc.abstractmethod
    def _pages(self, window: Window) -> Iterator[Page]:
        """The pages of one window (no longer than ``max_window``)."""

    def _check_cursor(self, what: str, cursor: str, seen: set[str], page_no: int) -> None:
        """A cursor-paged scan (no count to check against) must not loop or run on: the same
        next-page cursor twice, or more than ``max_pages`` pages in one window, is an error."""
        if cursor in seen:
            raise PlatformError(f"{what}: the next-page cursor after page {page_no} was already given before: the "
                                "platform would send the same pages forever; stopped, nothing of this window was "
                                "stored", code="cursor_repeats", platform=self.platform, shop_id=self.shop_id)
        if page_no >= self.settings.max_pages:
            raise PlatformError(f"{what}: still more pages after {page_no} (max_pages): stopped; raise max_pages "
                                "for this shop if the window really holds that many orders", code="page_cap",
                                platform=self.platform, shop_id=self.shop_id)
        seen.add(cursor)

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

    # -- access tokens -----------------------------------------------------------------------
    #: True where the platform's API renews an access token from a refresh token (the subclass's
    #: ``_refresh`` documents the call); Shopify's admin token does not expire
    REFRESHABLE: ClassVar[bool] = False

    def can_refresh(self) -> bool:
        return self.REFRESHABLE and bool(self.credentials.refresh_token)

    def token_expires_within(self, margin: timedelta) -> bool:
        """The access token ends within ``margin`` from now (or has ended); False when unknown."""
        expires = self.credentials.expires_at
        return expires is not None and expires - margin <= self.token_clock()

    def refresh_credentials(self, reason: str) -> Credentials:
        """Renew the access token through the platform's refresh call and use it from now on;
        ``on_refresh`` stores it. A refusal (or nothing to refresh with) is ``TokenRefreshError``;
        a network failure stays ``TransientError`` (the refresh token is still good)."""
        creds, now = self.credentials, self.token_clock()
        if not self.REFRESHABLE:
            raise TokenRefreshError("the platform's API gives no way to renew this shop's access token",
                                    platform=self.platform, shop_id=self.shop_id)
        if not creds.refresh_token:
            raise TokenRefreshError("the shop's credentials hold no refresh_token", platform=self.platform,
                                    shop_id=self.shop_id)
        if creds.refresh_expires_at is not None and creds.refresh_expires_at <= now:
            raise TokenRefreshError(f"the refresh token ended on {creds.refresh_expires_at:%Y-%m-%d %H:%M %Z}",
                                    platform=self.platform, shop_id=self.shop_id)
        try:
            fresh = self._refresh(now)
        except (TokenRefreshError, TransientError, ThrottledError):
            raise
        except ConnectorError as exc:
            raise TokenRefreshError(f"the platform refused the refresh: {exc.detail}", platform=self.platform,
                                    shop_id=self.shop_id) from None
        self.credentials = fresh
        self.http.add_secrets(fresh.secrets())
        until = f"{fresh.expires_at:%Y-%m-%d %H:%M %Z}" if fresh.expires_at else "an unknown time"
        self.log.info("%s %s: access token renewed (%s); valid until %s", self.platform, self.shop_id, reason, until)
        if self.on_refresh is not None:
            self.on_refresh(fresh)
        return fresh

    def _refresh(self, now: datetime) -> Credentials:
        """The platform's refresh call: the credentials with the new token (``renewed``)."""
        raise NotImplementedError

    def _with_fresh_token(self, send: Callable[[], _T]) -> _T:
        """``send()``; when the platform refuses the access token and a refresh token is held,
        one refresh and one more ``send()`` (which must build its request anew)."""
        try:
            return send()
        except TokenExpiredError as exc:
            if not self.can_refresh():   # an authorisation error like any other, for the person who renews it
                raise AuthError(exc.detail, platform=self.platform, shop_id=self.shop_id) from None
        self.refresh_credentials("the platform refused the access token")
        try:
            return send()
        except TokenExpiredError as exc:   # refused again with a token just issued: not a refresh matter
            raise AuthError(exc.detail, platform=self.platform, shop_id=self.shop_id) from None

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
