"""HTTP machinery shared by every connector, in one place.

- one ``requests.Session`` per connector: keep-alive matters when a day of orders is
  hundreds of calls;
- a token bucket per connector (and per endpoint where the platform sets its own quota)
  keeps us under the platform's rate instead of learning it from bans;
- bounded retries with full jitter on transient failures (5xx, timeouts, dropped or
  truncated bodies, invalid JSON);
- throttles honoured with the platform's stated wait (TOP's "ban will last N more
  seconds", ``Retry-After``), bounded by ``max_throttle_waits``/``max_throttle_wait_s``;
- every message that leaves passes through ``redact``; urllib3's own debug log of request
  lines (which can contain a token in a query string) is filtered the same way.
"""
from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from connectors.base import (AuthError, ConnectorError, ConnectorSettings, PlatformError, ThrottledError,
                             TransientError, redact)
from domain.pii import mask_contacts
from domain.timeutil import UTC

#: body classifier of a platform: (HTTP status, parsed body) → raise or return
BodyCheck = Callable[[int, Any], None]


class _SecretFilter(logging.Filter):
    """Redacts known secrets from urllib3's request-line debug records."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secrets: tuple[str, ...]) -> None:
        with self._lock:
            self.secrets.update(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = redact(record.getMessage(), tuple(self.secrets))
            record.args = ()
        return True


_URLLIB3_FILTER = _SecretFilter()
logging.getLogger("urllib3.connectionpool").addFilter(_URLLIB3_FILTER)


class TokenBucket:
    """Client-side rate limit: ``rate`` calls per second on average, ``burst`` at once."""

    def __init__(self, rate_per_s: float, burst: int, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        if rate_per_s <= 0:
            raise ValueError("throttle rate must be positive")
        self.rate, self.capacity = rate_per_s, max(1, burst)
        self.tokens, self.sleep, self.clock = float(self.capacity), sleep, clock
        self.updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited."""
        with self._lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
            self.tokens -= 1  # may go negative: the debt is what the sleep below pays off
        if wait:
            self.sleep(wait)
        return wait


@dataclass
class CallStats:
    retries: int = 0
    throttle_waits: int = 0
    throttle_wait_s: float = 0.0


@dataclass(frozen=True)
class Reply:
    status: int
    raw: bytes
    body: Any
    headers: Mapping[str, str]


_WAIT_IN_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:more\s+seconds?|秒)", re.I)


def stated_wait_seconds(message: str) -> float | None:
    """The wait a throttle message states: "This ban will last for 3 more seconds" (TOP),
    "请3秒后重试" (JD, PDD, Douyin); None when it states none."""
    match = _WAIT_IN_TEXT.search(message or "")
    return float(match.group(1)) if match else None


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number ("2", "2.0") or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _session_for(base_url: str) -> requests.Session:
    """A keep-alive session with the environment's proxy and CA settings read once.

    With ``trust_env`` requests re-reads every environment variable on each request to find
    proxies (measured: ≈0.7 ms per call here, more than parsing a page of orders); the
    settings cannot change for the connector's base URL while it runs, so they are resolved
    here (``HTTPS_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``) and the
    per-request lookup is switched off. (``.netrc`` is not consulted: every marketplace call
    carries its own credentials.)
    """
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(base_url or "http://localhost"))
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_bundle:
        session.verify = ca_bundle
    session.trust_env = False
    return session


class HttpClient:
    """Sends one logical call with throttling, retries and error classification."""

    def __init__(self, platform: str, shop_id: str, settings: ConnectorSettings, secrets: tuple[str, ...],
                 log: logging.Logger, sleep: Callable[[float], None] | None = None,
                 jitter: Callable[[], float] = random.random):
        self.platform, self.shop_id, self.settings = platform, shop_id, settings
        self.secrets, self.log, self.jitter = secrets, log, jitter
        self.sleep = sleep if sleep is not None else time.sleep
        self.session = _session_for(settings.base_url)
        self.bucket = TokenBucket(settings.throttle_rate_per_s, settings.throttle_burst, self.sleep)
        self.stats = CallStats()
        _URLLIB3_FILTER.add(secrets)

    def add_secrets(self, secrets: tuple[str, ...]) -> None:
        """More values to redact (a renewed access or refresh token)."""
        self.secrets = tuple(dict.fromkeys((*self.secrets, *secrets)))
        _URLLIB3_FILTER.add(secrets)

    def take_stats(self) -> CallStats:
        stats, self.stats = self.stats, CallStats()
        return stats

    def close(self) -> None:
        self.session.close()

    def _error(self, cls: type[ConnectorError], message: str, **kwargs) -> ConnectorError:
        return cls(mask_contacts(redact(message, self.secrets)), platform=self.platform, shop_id=self.shop_id,
                   **kwargs)

    def call(self, method: str, url: str, *, check: BodyCheck, params: Mapping | None = None,
             data: Mapping | None = None, json_body: Any = None, headers: Mapping[str, str] | None = None,
             what: str = "", bucket: TokenBucket | None = None) -> Reply:
        """One API call: retried on transient errors, waits honoured on throttles.

        ``check`` raises the platform's errors found in a body (TOP and JD report throttles
        and bad signatures with HTTP 200). ``what`` names the call in messages.
        """
        what = what or url
        transient_failures = throttle_waits = 0
        while True:
            (bucket or self.bucket).acquire()
            try:
                return self._once(method, url, check, params, data, json_body, headers, what)
            except ThrottledError as exc:
                wait = exc.retry_after_s if exc.retry_after_s is not None else self._backoff(throttle_waits)
                if throttle_waits >= self.settings.max_throttle_waits or wait > self.settings.max_throttle_wait_s:
                    raise self._error(
                        ThrottledError,
                        f"{what}: still throttled after {throttle_waits} waits (next wait {wait:.0f} s): "
                        f"{exc.detail} — lower throttle_rate_per_s for this shop or run the pull later",
                        retry_after_s=wait) from None
                throttle_waits += 1
                self.stats.throttle_waits += 1
                self.stats.throttle_wait_s += wait
                self.log.warning("%s %s: throttled, waiting %.2f s (%s)", self.shop_id, what, wait, exc.detail)
                self.sleep(wait)
            except TransientError as exc:
                if transient_failures >= self.settings.max_retries:
                    raise self._error(
                        TransientError,
                        f"{what}: gave up after {transient_failures + 1} attempts; last error: {exc.detail} — "
                        "the platform or the network is failing; the pull can be re-run safely later") from None
                wait = self._backoff(transient_failures)
                transient_failures += 1
                self.stats.retries += 1
                self.log.warning("%s %s: %s; retry %d/%d in %.2f s", self.shop_id, what, exc.detail,
                                 transient_failures, self.settings.max_retries, wait)
                self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter (half to all of the capped delay)."""
        ceiling = min(self.settings.backoff_cap_s, self.settings.backoff_base_s * 2 ** attempt)
        return ceiling * (0.5 + 0.5 * self.jitter())

    def _once(self, method, url, check, params, data, json_body, headers, what) -> Reply:
        response, raw = self._fetch(method, url, params, data, json_body, headers, what)
        status = response.status_code
        if status == 429:
            raise self._error(ThrottledError, f"{what}: HTTP 429 Too Many Requests",
                              retry_after_s=retry_after_seconds(response.headers.get("Retry-After")))
        if status >= 500:
            raise self._error(TransientError, f"{what}: HTTP {status} {_excerpt(raw)}")
        try:
            body = _json_body(raw) if raw.strip() else None
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            if status >= 400:
                raise self._error(PlatformError, f"{what}: HTTP {status} {_excerpt(raw)}", code=str(status)) from None
            # described, not quoted: a cut page of orders is buyer data, a proxy's page says nothing
            kind = (response.headers.get("Content-Type") or "no content type").split(";")[0][:60]
            raise self._error(TransientError,
                              f"{what}: the answer is not JSON ({len(raw)} bytes of {kind}): truncated, or not "
                              "the platform's API answering") from None
        try:
            check(status, body)
        except ConnectorError as exc:  # re-raised with shop context and redaction
            raise self._error(type(exc), exc.detail, **_extra(exc)) from None
        if status in (401, 403):
            raise self._error(AuthError, f"{what}: HTTP {status} {_excerpt(raw)} — check the shop's access "
                                         "token and the app's permissions")
        if status >= 400:
            raise self._error(PlatformError, f"{what}: HTTP {status} {_excerpt(raw)}", code=str(status))
        return Reply(status, raw, body, response.headers)

    def _fetch(self, method, url, params, data, json_body, headers, what) -> tuple[requests.Response, bytes]:
        """Send the request and read its answer within the bounds of the settings.

        Redirects are not left to requests: it would follow one to another host with the
        shop's credentials (a token header, a session in a POST body). A redirect within the
        configured host (scheme, host and port of ``base_url``) is followed; any other is
        refused before anything is sent there. The body is read in chunks, stopped at
        ``max_body_bytes`` and at ``call_deadline_s`` after the request was sent.
        """
        settings = self.settings
        deadline = time.monotonic() + settings.call_deadline_s
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self.session.request(method, url, params=params, data=data, json=json_body,
                                                headers=headers, allow_redirects=False, stream=True,
                                                timeout=(settings.connect_timeout_s, settings.timeout_s))
            except requests.Timeout:
                raise self._error(TransientError, f"{what}: no answer within {settings.timeout_s} s") from None
            except requests.RequestException as exc:
                raise self._error(TransientError, f"{what}: {type(exc).__name__}: {exc}") from None
            try:
                if response.is_redirect:
                    target = urljoin(response.url, response.headers.get("Location", ""))
                    if _origin(target) != _origin(settings.base_url):
                        raise self._error(PlatformError,
                                          f"{what}: HTTP {response.status_code} redirect to another host "
                                          f"({_origin_text(target)}, not {_origin_text(settings.base_url)}); "
                                          "refused without sending the shop's credentials there — check the "
                                          "shop's base_url, and whether something between us and the "
                                          "marketplace redirects its answers", code="cross_host_redirect")
                    url, params = target, None   # the query travels in the Location
                    continue
                return response, self._read_body(response, deadline, what)
            finally:
                response.close()
        raise self._error(PlatformError, f"{what}: more than {MAX_REDIRECTS} redirects — check the shop's base_url",
                          code="too_many_redirects")

    def _read_body(self, response: requests.Response, deadline: float, what: str) -> bytes:
        limit, parts, size = self.settings.max_body_bytes, [], 0
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise self._error(PlatformError, f"{what}: the answer is {int(declared)} bytes, over the cap of {limit} "
                                             "(max_body_bytes); it was not read", code="body_too_large")
        try:
            while True:
                if time.monotonic() > deadline:
                    raise self._error(TransientError, f"{what}: the answer did not finish within "
                                                      f"{self.settings.call_deadline_s} s (call_deadline_s; "
                                                      f"{size} bytes had come)")
                # whatever has arrived, without waiting for a full chunk (a drip would hold it)
                part = response.raw.read1(_CHUNK, decode_content=True)
                if not part:
                    break
                size += len(part)
                if size > limit:
                    raise self._error(PlatformError, f"{what}: the answer is over the cap of {limit} bytes "
                                                     "(max_body_bytes); reading stopped", code="body_too_large")
                parts.append(part)
        except requests.Timeout:
            raise self._error(TransientError, f"{what}: no answer within {self.settings.timeout_s} s") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            # a body shorter than Content-Length, a dropped connection, a stalled read
            if isinstance(exc, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
                raise self._error(TransientError, f"{what}: no answer within {self.settings.timeout_s} s") from None
            raise self._error(TransientError, f"{what}: {type(exc).__name__}: {exc}") from None
        raw = b"".join(parts)
        encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        if declared and declared.isdigit() and not encoded and len(raw) < int(declared):
            raise self._error(TransientError, f"{what}: truncated body ({len(raw)} of {declared} bytes)")
        return raw


#: same-host redirects followed at most; a body is read this much at a time
MAX_REDIRECTS = 5
_CHUNK = 256 * 1024


def _origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the port made explicit."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def _origin_text(url: str) -> str:
    scheme, host, port = _origin(url)
    return f"{scheme}://{host}:{port}"


def _json_body(raw: bytes) -> Any:
    """A JSON body; a byte that is not UTF-8 inside a string (one corrupt field of one order)
    does not make the whole page unreadable: it is kept as a lone surrogate (``surrogateescape``)
    for ingestion to quarantine that order, naming the field (issue 19 #8)."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        return json.loads(raw.decode("utf-8", "surrogateescape"))


def _extra(exc: ConnectorError) -> dict:
    if isinstance(exc, ThrottledError):
        return {"retry_after_s": exc.retry_after_s}
    if isinstance(exc, PlatformError):
        return {"code": exc.code}
    return {}


#: the fields of an answer's envelope that say what went wrong (TOP/JD/PDD ``error_response``
#: code/msg/sub_code/sub_msg, Douyin err_no/message, Shopify errors, Amazon errors[].code/message,
#: DingTalk/WeCom errcode/errmsg): the only part of a failed answer a message may repeat
ERROR_FIELDS = frozenset({"code", "msg", "message", "sub_code", "sub_msg", "error_code", "error_msg", "err_no",
                          "err_msg", "errcode", "errmsg", "error", "errors", "error_description", "zh_desc",
                          "en_desc", "resultcode", "englisherr", "chineseerr"})


def error_summary(body: Any, limit: int = 300) -> str:
    """What a parsed answer says went wrong, from its envelope's error code and message fields
    only ("code=27 msg=Invalid session"), masked: the rest of a body (orders, buyer e-mails,
    addresses an error page may echo) never reaches a message, log, run record or report.
    An empty string when the body has no such field."""
    found: list[str] = []

    def walk(value: Any, depth: int) -> None:
        if depth > 4 or len(found) >= 8:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if str(key).lower() in ERROR_FIELDS and isinstance(item, (str, int, float, bool)):
                    found.append(f"{key}={str(item)[:120]}")
                elif str(key).lower() in ERROR_FIELDS and isinstance(item, list) \
                        and all(isinstance(i, (str, int)) for i in item):
                    found.append(f"{key}={'; '.join(str(i)[:120] for i in item[:5])}")
                else:
                    walk(item, depth + 1)
        elif isinstance(value, list):
            for item in value[:5]:
                walk(item, depth + 1)

    walk(body, 0)
    return mask_contacts(" ".join(found))[:limit]


def _excerpt(raw: bytes, limit: int = 300) -> str:
    """A failed answer in a message: its envelope's error fields (``error_summary``), never
    the raw body, of which only the size is said."""
    try:
        summary = error_summary(json.loads(raw), limit) if raw.strip() else ""
    except ValueError:
        summary = ""
    return summary or f"({len(raw)} bytes, body not shown)"
