"""Pulling one shop's orders into the warehouse (domain-rules.md §1).

``pull_shop`` is plain Python (tests call it directly); ``ingest_shop`` is its Prefect task.
Per shop: take the shop's run guard (a lease row, so a manual run cannot overlap a scheduled
one), compute the window ``[watermark − lookback, now − safety lag]``, let the connector cut
it to the platform's limit, and for each sub-window read pages, normalise, validate,
quarantine what fails and upsert the rest **in one transaction per chunk** together with the
archived raw pages. The watermark moves to a sub-window's end in the same transaction as
its last chunk, so a crash anywhere leaves either the old watermark (the rerun re-reads the
window; upserts are idempotent) or the new one with all its data.
"""
from __future__ import annotations

import os
import signal
import socket
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import numpy as np
import pandas as pd
from prefect import task

from config.schema import AppConfig, ShopConfig
from connectors import (Connector, ConnectorError, Credentials, FileImportError, Page, TokenRefreshError,
                        build_connector, default_settings, redact)
from domain.canonical import CanonicalFrames
from domain.normalise import normalise
from domain.text import Text
from domain.validation import (ValidationOutcome, ValidationRules, prepare_suite, resolve_listed_skus,
                               undecodable_bytes_as_text, undecodable_fields, validate_orders)
from domain.windows import Window, pull_window, watermark_limit
from warehouse import repository
from warehouse.db import make_engine
from tasks.secrets import EXPIRING_PLATFORMS, pii_hash_key, shop_credentials, store_credentials
from shopops.i18n import label, say, t, when

#: Test seam (tests/integration/test_ingest_crash.py): ``SHOPOPS_TEST_CRASH_AT=<point>:<n>`` makes
#: the process SIGKILL itself the n-th time it passes ``_crash_point(<point>)``, to prove that a
#: crash at any of these points leaves a warehouse a rerun makes exactly right. Never set in
#: production; unset, each point costs one environment lookup. Points, in pull order: lease,
#: fetch (a page received), validate (before the chunk's transaction), archive, quarantine,
#: upsert, watermark (inside the transaction, before COMMIT), committed (after COMMIT),
#: capture_log (before the run's log row), release (before the run guard is given back).
CRASH_ENV = "SHOPOPS_TEST_CRASH_AT"
_crash_passes: Counter[str] = Counter()


def _crash_point(point: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    _crash_passes[point] += 1
    if _crash_passes[point] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


#: an update counts as "late" when the order changed this long after it was created
LATE_UPDATE_AFTER = timedelta(days=1)


@dataclass
class ShopPullResult:
    """What one shop's pull did; one row of the run's report."""

    shop_id: str
    platform: str
    status: str = "ok"                     # ok | incomplete | skipped | failed
    window_start: datetime | None = None
    window_end: datetime | None = None
    windows: int = 0
    pages: int = 0
    orders_new: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    orders_stale: int = 0
    quarantined: int = 0
    late_updates: int = 0
    retries: int = 0
    throttle_waits: int = 0
    throttle_wait_s: float = 0.0
    duration_s: float = 0.0
    error: str | None = None
    top_reasons: dict[str, int] = field(default_factory=dict)
    #: the platform's own count over the windows read (None: it gives none, Amazon) and the
    #: distinct orders on their pages; windows short of their count also when read again
    orders_expected: int | None = None
    orders_captured: int = 0
    incomplete_windows: int = 0

    @property
    def orders_seen(self) -> int:
        return self.orders_new + self.orders_updated + self.orders_unchanged + self.orders_stale + self.quarantined

    def as_row(self) -> dict:
        row = asdict(self)
        row["top_reasons"] = "; ".join(f"{r} ×{n}" for r, n in self.top_reasons.items())
        return row


class ShopPullError(RuntimeError):
    """A shop's pull failed unexpectedly (not a marketplace or secret error): raised so the
    task shows Failed with its traceback, carrying the shop's report row (``result``, with the
    error redacted) so the flow still reports it with the other shops (issue 19 #9)."""

    def __init__(self, result: ShopPullResult):
        super().__init__(result.error)
        self.result = result

    def __reduce__(self):  # pickled with its result (Prefect may persist a task's exception)
        return type(self), (self.result,)


@dataclass
class _Chunk:
    pages: list[Page] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(len(p.records) for p in self.pages)


def incomplete_windows_text(short: list) -> Text:
    """Why a pull is incomplete: the windows whose pages held fewer orders than the platform
    counts (``WindowCount``-like: window, expected, captured, reads) and what happens next. English
    in the pull log table; said in the reader's language in the report (issue 23 #2)."""
    windows = [Text(f"window {when(c.window.start)} – {when(c.window.end)}: the platform counts "
                    f"{c.expected} orders, its pages held {c.captured} (read {c.reads} times)",
                    "pull_window_short", start=when(c.window.start), end=when(c.window.end),
                    expected=c.expected, captured=c.captured, reads=c.reads) for c in short[:5]]
    if len(short) > 5:
        windows.append(Text(f"{len(short) - 5} more", "pull_windows_more", n=len(short) - 5))
    return Text.joined([Text.joined(windows), Text(
        " — the watermark stays before the first of them; the next pull reads them again. If it repeats, "
        "compare with the platform's back-office (`shopops ingest audit`) and report it to the platform",
        "pull_incomplete_advice")], "")


def reason_family(reason: str) -> str:
    """A reason without its particulars, for counting: "line 2: SKU 'X-1' is not in the
    catalogue" → "SKU … is not in the catalogue"."""
    text = re.sub(r"^line \d+: ", "", reason)
    text = re.sub(r"'[^']*'", "…", text)           # quoted values
    text = re.sub(r"\s*\([^)]*\)", "", text)       # parenthesised details
    return re.sub(r"-?\d[\d:\-+.T ]*\d|\d", "N", text).strip()  # amounts, ids, times


def _normalise_page(page: Page, hash_key: str) -> tuple[CanonicalFrames, list[tuple[str | None, dict, list[str]]]]:
    """Canonical frames of a page; records that cannot be read at all come back separately
    (with the reason) so they are quarantined instead of failing the page."""
    try:
        return normalise(page.platform, page.records, page.shop_id, hash_key=hash_key), []
    except Exception:  # noqa: BLE001 - find the bad record(s); the good ones go on
        good, unreadable = [], []
        for record in page.records:
            if not isinstance(record, dict):  # null, a string, a list: nothing to normalise
                unreadable.append((None, record, [f"could not be read: the record is {type(record).__name__} "
                                                  f"{str(record)[:80]!r}, which is not an order object"]))
                continue
            try:
                normalise(page.platform, [record], page.shop_id, hash_key=hash_key)
                good.append(record)
            except Exception as exc:  # noqa: BLE001
                order_id = next((str(record[k]) for k in ("tid", "orderId", "order_sn", "order_id", "id", "AmazonOrderId")
                                 if isinstance(record, dict) and record.get(k) is not None), None)
                what = f"field {exc} is missing" if isinstance(exc, KeyError) else str(exc)
                unreadable.append((order_id, record, [f"could not be read: {type(exc).__name__}: {what}"]))
        return normalise(page.platform, good, page.shop_id, hash_key=hash_key), unreadable


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _take_undecodable(page: Page, hash_key: str) -> list[tuple]:
    """Take the records holding bytes that were not UTF-8 text out of the page (issue 19 #8):
    ``(order id, the record with those bytes as \\xNN text, reasons naming the fields, the
    fields, modified time)``, for the quarantine. The rest of the page goes on. Only a page
    whose bodies are not all UTF-8 is searched (the bytes are lost on decoding, so that is
    the only way in)."""
    if all(_is_utf8(body) for body in (page.raw, *page.related_raw)):
        return []
    kept, taken = [], []
    for record in page.records:
        fields = undecodable_fields(record)
        if not fields:
            kept.append(record)
            continue
        readable = undecodable_bytes_as_text(record)
        order_id, modified = _version_of(page, readable, hash_key)
        reasons = [f"could not be read: field '{name}' holds bytes that are not UTF-8 text (shown as \\xNN); "
                   "the marketplace sent this order corrupted: check it in the back-office" for name in fields]
        taken.append((order_id, readable, reasons, fields, modified))
    page.records = kept
    return taken


def _version_of(page: Page, record: dict, hash_key: str) -> tuple[str | None, datetime | None]:
    """Order id and modified time (UTC) of a record, if it can be normalised at all."""
    try:
        orders = normalise(page.platform, [record], page.shop_id, hash_key=hash_key).orders
        modified = pd.Timestamp(orders["modified_at"].iloc[0])
        return str(orders["order_id"].iloc[0]), (None if pd.isna(modified) else modified.to_pydatetime())
    except Exception:  # noqa: BLE001 - kept by its id alone
        order_id = next((str(record[k]) for k in ("tid", "orderId", "order_sn", "order_id", "id", "AmazonOrderId")
                         if isinstance(record, dict) and record.get(k) is not None), None)
        return order_id, None


def _normalise_chunk(pages: list[Page], hash_key: str) -> tuple[CanonicalFrames, list[list]]:
    """Canonical frames of a chunk's pages, each order's ``raw_page_id`` its page's position
    in ``pages``; the records that cannot be read, per page.

    One ``normalise`` call over the whole chunk: typing the frames costs about as much for 100
    orders as for 5,000, so per page it was most of the pipeline's time (measured on a
    Double-11 hour: 24 of 60 s per page, a fifth of that per chunk). Only when some record
    cannot be read does it go page by page (and record by record inside the bad page), so
    the rest still lands.
    """
    records = [record for page in pages for record in page.records]
    frames = None
    if pages:
        try:
            frames = normalise(pages[0].platform, records, pages[0].shop_id, hash_key=hash_key)
        except Exception:  # noqa: BLE001 - an unreadable record: find it page by page below
            frames = None
    # every normaliser writes one order row per record, in order: the rows' pages follow
    if frames is not None and len(frames.orders) == len(records):
        frames.orders["raw_page_id"] = np.repeat(np.arange(len(pages)), [len(p.records) for p in pages])
        return frames, [[] for _ in pages]
    parts, unreadable_by_page = [], []
    for index, page in enumerate(pages):
        frames, unreadable = _normalise_page(page, hash_key)
        frames.orders["raw_page_id"] = index
        parts.append(frames)
        unreadable_by_page.append(unreadable)
    return _concat(parts), unreadable_by_page


#: what reading a key or modified time of a malformed record raises
_UNREADABLE = (KeyError, TypeError, AttributeError, ValueError)


def _keep_newest_versions(pages: list[Page], connector: Connector) -> None:
    """Within a chunk, one version per order: the newest (the later one on a tie).

    The connector yields a newer version of an order it already yielded (it changed while
    the scan ran); validating both together would add up two versions' lines against one
    total. Records without a readable key stay, for validation to quarantine.
    """
    newest: dict[str, tuple[int, int, object]] = {}
    for p, page in enumerate(pages):
        for r, record in enumerate(page.records):
            try:
                key, modified = connector.order_key(record), connector.order_modified(record)
                seen = newest.get(key)
                if seen is None or seen[2] is None or (modified is not None and modified >= seen[2]):
                    newest[key] = (p, r, modified)
            except _UNREADABLE:
                continue
    winners = {(p, r) for p, r, _ in newest.values()}
    for p, page in enumerate(pages):
        page.records = [record for r, record in enumerate(page.records)
                        if (p, r) in winners or not _keyed(connector, record)]


def _modified_or_none(connector: Connector, record: object) -> datetime | None:
    """The record's modified time as the connector reads it (UTC), if it can: an unreadable
    record kept with it is closed once a valid version at least as new is stored (issue 18 #11)."""
    try:
        modified = connector.order_modified(record)
    except _UNREADABLE:
        return None
    return modified if isinstance(modified, datetime) and modified.tzinfo is not None else None


def _keyed(connector: Connector, record: object) -> bool:
    try:
        connector.order_key(record)
        connector.order_modified(record)
    except _UNREADABLE:
        return False
    return True


def _concat(parts: list[CanonicalFrames]) -> CanonicalFrames:
    if not parts:
        return CanonicalFrames()
    non_empty = lambda frames: [f for f in frames if len(f)] or [frames[0]]  # noqa: E731
    return CanonicalFrames(
        orders=pd.concat(non_empty([p.orders for p in parts]), ignore_index=True),
        lines=pd.concat(non_empty([p.lines for p in parts]), ignore_index=True),
        refunds=pd.concat(non_empty([p.refunds for p in parts]), ignore_index=True),
    )


class ShopPull:
    """One shop's pull: the state a run accumulates while it commits chunk after chunk."""

    def __init__(self, config: AppConfig, shop: ShopConfig, engine, connector: Connector, *, owner: str,
                 lease_holder: str | None = None,
                 hash_key: str, clock: Callable[[], datetime], progress: Callable[[float], None] | None = None):
        self.config, self.shop, self.engine, self.connector = config, shop, engine, connector
        self.owner, self.hash_key, self.clock, self.progress = owner, hash_key, clock, progress
        #: who holds the shop's run guard (the run and its process: ``lease_holder_id``)
        self.lease_holder = lease_holder or owner
        rules = config.rules.orders
        self.rules = ValidationRules(known_currencies=frozenset(rules.known_currencies),
                                     line_total_tolerance_minor_per_line=rules.line_total_tolerance_minor_per_line,
                                     paid_time_future_tolerance_seconds=rules.paid_time_future_tolerance_seconds)
        self.lease_ttl = timedelta(minutes=rules.run_lease_minutes)
        # import GX and build the suite while the first pages are fetched (the client waits on
        # the marketplace then); validate_orders waits for it if it is not ready yet
        threading.Thread(target=prepare_suite, args=(self.rules,), name="gx-suite", daemon=True).start()
        self.known_skus = repository.known_skus(engine)
        #: lines without a merchant code get their SKU from the shop's listings (issue 18 #10)
        self.listing_skus = repository.listing_skus(engine, shop.id)
        self.result = ShopPullResult(shop_id=shop.id, platform=shop.platform)
        self.reasons: Counter[str] = Counter()

    def commit(self, chunk: _Chunk, *, watermark: datetime | None) -> repository.UpsertResult:
        """Normalise, validate, archive, quarantine, upsert (and move the watermark) atomically."""
        _keep_newest_versions(chunk.pages, self.connector)
        undecodable_by_page = [_take_undecodable(page, self.hash_key) for page in chunk.pages]
        # raw_page_id: the page's position in the chunk, replaced by the archived page's id below
        frames, unreadable_by_page = _normalise_chunk(chunk.pages, self.hash_key)
        resolve_listed_skus(frames, self.listing_skus, self.known_skus)
        outcome = (validate_orders(frames, self.known_skus, self.clock(), self.rules) if len(frames.orders)
                   else ValidationOutcome(valid=frames))
        _crash_point("validate")
        with self.engine.begin() as conn:
            if not repository.acquire_lease(conn, self.shop.id, self.lease_holder, self.lease_ttl):
                raise RuntimeError(f"shop {self.shop.id}: the run guard was taken over by another run "
                                   "(this run stalled longer than run_lease_minutes); stopping without writing")
            page_ids = self._archive(conn, chunk.pages)
            _crash_point("archive")
            # valid.orders is frames.orders itself when nothing was rejected: map each frame once
            archived = np.asarray(page_ids, dtype=np.int64)
            for frame in {id(f): f for f in (frames.orders, outcome.valid.orders)}.values():
                if len(frame):
                    frame["raw_page_id"] = archived[frame["raw_page_id"].to_numpy(dtype=np.int64)]
            valid = outcome.valid
            quarantined = len(outcome.rejected)
            if quarantined:
                repository.quarantine_records(conn, outcome.rejected, frames)
            for page_id, unreadable in zip(page_ids, unreadable_by_page):
                if unreadable:
                    quarantined += len(unreadable)
                    repository.quarantine_raw_records(conn, self.shop.platform, self.shop.id,
                                                      [(*item, _modified_or_none(self.connector, item[1]))
                                                       for item in unreadable], raw_page_id=page_id)
            for page_id, undecodable in zip(page_ids, undecodable_by_page):
                if undecodable:
                    quarantined += len(undecodable)
                    repository.quarantine_undecodable_records(conn, self.shop.platform, self.shop.id, undecodable,
                                                              raw_page_id=page_id)
            _crash_point("quarantine")
            upserted = repository.upsert_orders(conn, valid)
            _crash_point("upsert")
            if watermark is not None:
                repository.set_watermark(conn, self.shop.id, watermark)
                _crash_point("watermark")
        _crash_point("committed")
        self._count(chunk, outcome, upserted, quarantined,
                    [u + [item[:3] for item in d] for u, d in zip(unreadable_by_page, undecodable_by_page)])
        return upserted

    @staticmethod
    def _archive(conn, pages: list[Page]) -> list[int]:
        """The pages as received (and the bodies of their follow-up calls) for audit and
        replay, in one statement; the archived id of each page."""
        rows, page_rows = [], []
        for page in pages:
            common = dict(platform=page.platform, shop_id=page.shop_id, window_start=page.window_start,
                          window_end=page.window_end, page_no=page.page_no, fetched_at=page.fetched_at)
            # TOP fullinfo / Amazon orderItems bodies
            rows += [repository.RawPageRow(payload=extra, record_count=0, **common) for extra in page.related_raw]
            page_rows.append(len(rows))
            rows.append(repository.RawPageRow(payload=page.raw, record_count=len(page.records), **common))
        ids = repository.archive_raw_pages(conn, rows)
        return [ids[n] for n in page_rows]

    def _count(self, chunk, outcome, upserted, quarantined, unreadable_by_page) -> None:
        r = self.result
        r.pages += len(chunk.pages)
        r.orders_new += upserted.new
        r.orders_updated += upserted.updated
        r.orders_unchanged += upserted.unchanged
        r.orders_stale += upserted.stale
        r.quarantined += quarantined
        r.retries += sum(p.retries for p in chunk.pages)
        r.throttle_waits += sum(p.throttle_waits for p in chunk.pages)
        r.throttle_wait_s += sum(p.throttle_wait_s for p in chunk.pages)
        orders = outcome.valid.orders
        if upserted.updated and len(orders):
            age = pd.to_datetime(orders["modified_at"], utc=True) - pd.to_datetime(orders["created_at"], utc=True)
            r.late_updates += int((age > LATE_UPDATE_AFTER).sum())
        for reasons in outcome.rejected.get("reasons", []):
            self.reasons.update({reason_family(x) for x in reasons})
        for unreadable in unreadable_by_page:
            self.reasons.update(reason_family(reasons[0]) for _, _, reasons in unreadable)

    def run(self, window: Window, watermark_up_to: datetime | None) -> ShopPullResult:
        """Read the window; commit whenever a chunk is full and at the end.

        Chunks span sub-windows (PDD's are 30 minutes: one commit per sub-window would pay
        the validation suite's fixed cost hundreds of times on a backfill). The watermark in
        each commit is the end of the last sub-window read completely, so it never passes
        data that is not in the same transaction or an earlier one; nor ``watermark_up_to``
        (``domain.windows.watermark_limit``): None for a backfill that starts after the
        watermark, which leaves it where it is (it did not read the minutes in between).
        """
        def mark(until: datetime | None) -> datetime | None:
            if until is None or watermark_up_to is None:
                return None
            # never past a window whose pages held fewer orders than the platform counts
            short = [c.window.start for c in self.connector.window_counts if not c.complete]
            return min(until, watermark_up_to, *short)

        started, started_at = time.monotonic(), datetime.now(timezone.utc)
        sub_windows = self.connector.windows(window.start, window.end)
        self.result.window_start, self.result.window_end = window.start, window.end
        self.result.windows = len(sub_windows)
        chunk_orders = self.config.rules.orders.chunk_orders
        number_of = {sub.start: n for n, sub in enumerate(sub_windows, start=1)}
        chunk, completed_until = _Chunk(), None
        try:
            # one scan over the whole window: the connector dedups across its sub-windows (an
            # order modified exactly on a boundary comes back from both)
            for page in self.connector.pull_orders(window.start, window.end):
                _crash_point("fetch")
                if page.window_start > window.start:
                    # sub-windows are read in order: every one before this page's is complete
                    completed_until = max(completed_until or page.window_start, page.window_start)
                    if self.progress:
                        self.progress(100.0 * (number_of.get(page.window_start, 1) - 1) / len(sub_windows))
                chunk.pages.append(page)
                if chunk.records >= chunk_orders:
                    self.commit(chunk, watermark=mark(completed_until))
                    chunk = _Chunk()
            completed_until = sub_windows[-1].end if sub_windows else None
            if chunk.pages or mark(completed_until) is not None:
                self.commit(chunk, watermark=mark(completed_until))
            if self.progress:
                self.progress(100.0)
        except Exception as exc:
            self._log_window(window, started_at, "failed", error=self._safe(exc))
            raise
        self.result.duration_s = round(time.monotonic() - started, 3)
        self.result.top_reasons = dict(self.reasons.most_common(5))
        short = [c for c in self.connector.window_counts if not c.complete]
        if short:
            self.result.status = "incomplete"
            self.result.error = incomplete_windows_text(short)
        self._log_window(window, started_at, self.result.status, error=self.result.error)
        return self.result

    def _safe(self, exc: Exception) -> str:
        return redact(f"{type(exc).__name__}: {exc}", self.connector.credentials.secrets())[:2000]

    def _log_window(self, window: Window, started: datetime, status: str, error: str | None = None) -> None:
        """One capture-log row per shop and pull window, with what it read and wrote, and one
        ``capture_windows`` row per window read: the platform's count next to what was captured."""
        r = self.result
        counts = self.connector.window_counts
        known = [c.expected for c in counts if c.expected is not None]
        r.orders_expected = sum(known) if known else None
        r.orders_captured = sum(c.captured for c in counts)
        r.incomplete_windows = sum(not c.complete for c in counts)
        finished = datetime.now(timezone.utc)
        _crash_point("capture_log")
        repository.write_capture_log(self.engine, repository.CaptureLogEntry(
            shop_id=self.shop.id, window_start=window.start, window_end=window.end, status=status,
            started_at=started, finished_at=finished, flow_run_id=self.owner,
            duration_s=(finished - started).total_seconds(), error=error, pages=r.pages, orders_new=r.orders_new,
            orders_updated=r.orders_updated, orders_unchanged=r.orders_unchanged, quarantined=r.quarantined,
            late_updates=r.late_updates, retries=r.retries, throttle_waits=r.throttle_waits,
            throttle_wait_s=r.throttle_wait_s, orders_expected=r.orders_expected, orders_captured=r.orders_captured),
            windows=[dict(window_start=c.window.start, window_end=c.window.end, expected=c.expected,
                          captured=c.captured, reads=c.reads, status="complete" if c.complete else "incomplete")
                     for c in counts])


#: this machine, as a lease holder names it (short: the holder fits the 64-character column)
_HOST = socket.gethostname()[:12]


def lease_holder_id(owner: str) -> str:
    """The run guard's holder: the run (flow run id or a manual id) and its process on this
    machine, so a later run can tell at once whether the holder is still alive."""
    return f"{owner[:40]}|{_HOST}|{os.getpid()}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # a zombie (exited, not yet reaped) is gone too
        return open(f"/proc/{pid}/stat", encoding="ascii").read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _flow_run_finished(run_id: str) -> bool:
    """The Prefect server says the flow run ``run_id`` has ended (or never existed)."""
    try:
        uuid.UUID(run_id)
    except ValueError:
        return False
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():   # no team server to ask (a throwaway one would know nothing)
        return False
    try:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        with get_client(sync_client=True) as client:
            try:
                state = client.read_flow_run(run_id).state
            except ObjectNotFound:
                return True
        return state is not None and state.is_final()
    except Exception:  # noqa: BLE001 - an unreachable server proves nothing: the lease decides
        return False


def holder_is_gone(holder: str) -> bool:
    """Whether the run guard's holder is certainly dead: its process on this machine has exited,
    or the Prefect server says its flow run ended. Unknown counts as alive (the lease decides)."""
    parts = holder.split("|")
    if len(parts) == 3 and parts[1] == _HOST and parts[2].isdigit() and not _process_alive(int(parts[2])):
        return True
    return _flow_run_finished(parts[0])


def describe_holder(holder: str | None) -> str:
    parts = (holder or "").split("|")
    return f"run {parts[0]} (process {parts[2]} on {parts[1]})" if len(parts) == 3 else f"run {holder}"


def take_run_guard(engine, shop_id: str, holder: str, ttl: timedelta) -> str | None:
    """Take the shop's run guard; a holder that is gone (killed, crashed) is replaced at once
    instead of after its lease. None when taken, else why this run leaves the shop alone."""
    if repository.acquire_lease(engine, shop_id, holder, ttl):
        return None
    current, until = repository.read_lease(engine, shop_id)
    if current is None and repository.acquire_lease(engine, shop_id, holder, ttl):   # released meanwhile
        return None
    if current is not None and holder_is_gone(current) and repository.take_over_lease(engine, shop_id, current, holder, ttl):
        import logging

        logging.getLogger(__name__).warning(t("pull_guard_taken_over", shop=shop_id, holder=describe_holder(current)))
        return None
    until_text = "?"
    if until is not None:
        until_text = when(until)
    return Text(f"another run is pulling this shop right now ({describe_holder(current)}, its guard lasts until "
                f"{until_text}); this run left it alone. If that run is stuck, cancel it in the UI: the next run then "
                "takes over at once", "pull_guard_held", holder=describe_holder(current), until=until_text)


def shop_connector(shop: ShopConfig, clock: Callable[[], datetime]) -> Connector:
    """The connector of ``shop`` with its settings from shops.yaml and its credentials."""
    overrides = {k: v for k, v in (("page_size", shop.page_size),) if v}
    if shop.max_window_minutes:
        overrides["max_window"] = timedelta(minutes=shop.max_window_minutes)
    settings = default_settings(shop.platform, shop.base_url or "", **{**overrides, **shop.connector_options})
    if shop.platform == "file":  # an export folder: a column mapping, no credentials
        return build_connector("file", shop.id, settings, Credentials(), clock=clock, mapping=shop.column_mapping)
    connector = build_connector(shop.platform, shop.id, settings, shop_credentials(shop), clock=clock)
    # a renewed access token goes back where the credentials came from, for the next run
    connector.on_refresh = lambda credentials: store_credentials(shop, credentials)
    return connector


def refresh_if_ending(connector: Connector, platform: str, before: timedelta) -> bool:
    """At the start of a shop's pull: renew the access token when it ends within ``before``
    (``orders.token_refresh_before_hours``) and the credentials hold a refresh token (TOP, PDD,
    Douyin, JD; Amazon's hourly LWA token is renewed by its connector). True if renewed."""
    if platform not in EXPIRING_PLATFORMS or not connector.can_refresh() or not connector.token_expires_within(before):
        return False
    connector.refresh_credentials(f"it ends within {before.total_seconds() / 3600:g} h "
                                  "(orders.token_refresh_before_hours)")
    return True


def pull_shop(config: AppConfig, shop_id: str, *, database_url: str, since: datetime | None = None,
              until: datetime | None = None, owner: str | None = None, connector: Connector | None = None,
              clock: Callable[[], datetime] | None = None,
              progress: Callable[[float], None] | None = None) -> ShopPullResult:
    """Pull one shop's window into the warehouse; never raises for the shop's own failures
    (they come back as ``status="failed"`` with the reason), so other shops go on. An
    unexpected error raises ``ShopPullError`` holding that failed result."""
    shop = config.shop(shop_id)
    clock = clock or (lambda: datetime.now(timezone.utc))
    owner = owner or f"manual-{uuid.uuid4()}"
    rules = config.rules.orders
    engine = make_engine(database_url)
    result = ShopPullResult(shop_id=shop.id, platform=shop.platform)
    try:
        holder = lease_holder_id(owner)
        refusal = take_run_guard(engine, shop.id, holder, timedelta(minutes=rules.run_lease_minutes))
        if refusal is not None:
            result.status = "skipped"
            result.error = refusal
            return result
        _crash_point("lease")
        try:
            if connector is None:
                connector = shop_connector(shop, clock)
            now, watermark = clock(), repository.get_watermark(engine, shop.id)
            limits = dict(lookback=timedelta(minutes=rules.lookback_minutes),
                          safety_lag=timedelta(minutes=rules.safety_lag_minutes))
            window = pull_window(watermark, now, first_pull_since=now - timedelta(hours=rules.first_pull_hours),
                                 since=since, until=until, **limits)
            refresh_if_ending(connector, shop.platform, timedelta(hours=rules.token_refresh_before_hours))
            pull = ShopPull(config, shop, engine, connector, owner=owner, lease_holder=holder, hash_key=pii_hash_key(), clock=clock,
                            progress=progress)
            return pull.run(window, watermark_up_to=watermark_limit(window, watermark, now, **limits))
        except Exception as exc:  # noqa: BLE001 - reported per shop; the flow decides the run's state
            secrets = connector.credentials.secrets() if connector is not None else ()
            result.status = "failed"
            result.error = redact(f"{type(exc).__name__}: {exc}", secrets)[:2000]
            if isinstance(exc, FileImportError) and exc.problems:   # a back-office export refused, in the locale
                from shopops.i18n import t, translator

                translate = translator()
                result.error = redact(t("in_fi_refused", problems="; ".join(p.render(translate) for p in exc.problems)),
                                      secrets)[:2000]
            if isinstance(exc, TokenRefreshError):   # only a person can fix it: say who and how
                from shopops.i18n import t

                result.error = redact(t("tok_refresh_failed", shop=shop.id, platform=shop.platform,
                                        detail=exc.detail), secrets)[:2000]
            if isinstance(exc, ConnectorError) or "MissingSecretError" in type(exc).__name__:
                return result
            result.error += " (unexpected; the run's log has the traceback)"
            raise ShopPullError(result) from exc
        finally:
            _crash_point("release")
            repository.release_lease(engine, shop.id, holder)
    finally:
        engine.dispose()


@task(name="ingest-shop", task_run_name="ingest-{shop_id}")
def ingest_shop(config: AppConfig, shop_id: str, database_url: str, since: datetime | None, until: datetime | None,
                owner: str) -> ShopPullResult:
    """One shop's pull as a Prefect task (a shop is the unit of work; pages are plain loops)."""
    from prefect import get_run_logger
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    logger = get_run_logger()
    artifact_id = None
    if since is not None:  # a backfill: show progress in the UI
        artifact_id = create_progress_artifact(progress=0.0, description=t("pull_backfill_progress", shop=shop_id))

    def progress(pct: float) -> None:
        if artifact_id is not None:
            update_progress_artifact(artifact_id=artifact_id, progress=pct)

    result = pull_shop(config, shop_id, database_url=database_url, since=since, until=until, owner=owner,
                       progress=progress)
    logger.info(t("pull_log_shop", shop=shop_id, status=label("pull_status", result.status), pages=result.pages,
                  new=result.orders_new, updated=result.orders_updated, unchanged=result.orders_unchanged,
                  quarantined=result.quarantined, error=f" — {say(result.error)}" if result.error else ""))
    return result
