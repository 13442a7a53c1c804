"""Fault injection: the failures a connector must survive, on purpose and reproducibly.

Each platform draws from its own random stream seeded by (fault seed, platform), so the
sequence of faults a connector meets depends only on the seed and on the order of its own
requests to that platform — not on what other tests or shops do at the same time. Tests
that need one particular fault ``force`` it for the next N requests instead of relying on
shares. Clock skew is not drawn per request: it shifts the server's wall clock for the
signed-timestamp check and the ``Date`` header, like a marketplace whose clock is off.
"""
from __future__ import annotations

import random
import threading
from collections import deque
from contextvars import ContextVar

from sandbox.scenario import FaultShares

#: fault kinds drawn per request, in the order their shares are stacked
FAULT_KINDS: tuple[str, ...] = ("server_error", "throttle", "truncated_body", "slow", "duplicate_rows")
#: hostile answers a test forces (never drawn by share): a 200 with an empty body or ``{}``; a
#: page count (TOP ``total_results``, JD ``orderTotal``, PDD ``total_count``, Douyin ``total``)
#: that lies low (the rows on this page) or high (×1000); the next-page cursor (Shopify
#: ``page_info``, Amazon ``NextToken``) repeating the one the request sent; a body dripped a
#: few bytes at a time for ``drip_seconds``; a body padded to ``oversized_body_bytes``; a 307
#: to ``redirect_url`` (another host) with the request's path and query; a 200 HTML page (a
#: proxy's or a login page, with an e-mail address in it); a page shifted one row on (``page_shift``:
#: as when an order entered the window ahead of it while the client paged, so the row at the page's
#: start moved onto a page already read and is on no page read — the count still includes it); the
#: platform's own refusal of an expired access token, in its error envelope (``error_envelope``)
FORCED_KINDS: tuple[str, ...] = ("empty_body", "empty_object", "lying_total", "inflated_total", "repeat_cursor",
                                 "slow_drip", "oversized_body", "cross_host_redirect", "html_body", "page_shift",
                                 "error_envelope")

#: set while the sandbox answers a request that got ``page_shift`` (read by ``page_positions``)
PAGE_SHIFT: ContextVar[bool] = ContextVar("page_shift", default=False)
#: set while the sandbox answers a request that got ``error_envelope``: its token counts as expired
TOKEN_EXPIRED: ContextVar[bool] = ContextVar("token_expired", default=False)


class FaultInjector:
    """Decides, per API request, which fault (if any) the response gets."""

    def __init__(self, shares: FaultShares | None = None):
        self._lock = threading.Lock()
        self._forced: dict[str | None, deque[str]] = {}
        self._streams: dict[str, random.Random] = {}
        self._hidden: dict[str, frozenset[str]] = {}
        self.shares = shares or FaultShares()

    def hide(self, shop_id: str, order_id: str) -> None:
        """Leave ``order_id`` off every order list of ``shop_id`` while the lists' counts still
        include it (a marketplace whose index and count disagree: an order no page shows)."""
        with self._lock:
            self._hidden[shop_id] = self._hidden.get(shop_id, frozenset()) | {str(order_id)}

    def hidden(self, shop_id: str) -> frozenset[str]:
        return self._hidden.get(shop_id, frozenset())

    @property
    def shares(self) -> FaultShares:
        return self._shares

    @shares.setter
    def shares(self, shares: FaultShares) -> None:
        with self._lock:
            self._shares = shares
            self._streams.clear()  # a new configuration restarts every stream from its seed

    def configure(self, **changes) -> FaultShares:
        """Change some settings (validated like a scenario's ``faults``); returns the result."""
        self.shares = FaultShares.model_validate({**self._shares.model_dump(), **changes})
        return self._shares

    def force(self, kind: str, platform: str | None = None, count: int = 1) -> None:
        """The next ``count`` requests (to ``platform``, or to any platform) get ``kind``."""
        if kind not in FAULT_KINDS + FORCED_KINDS:
            raise ValueError(f"unknown fault kind '{kind}'; known: {', '.join(FAULT_KINDS + FORCED_KINDS)}")
        with self._lock:
            self._forced.setdefault(platform, deque()).extend([kind] * count)

    def clear(self) -> None:
        """No forced faults and all shares zero (clock skew kept at 0 too)."""
        with self._lock:
            self._forced.clear()
            self._hidden.clear()
        self.shares = FaultShares(seed=self._shares.seed)

    @property
    def clock_skew_seconds(self) -> float:
        return self._shares.clock_skew_seconds

    def draw(self, platform: str) -> str | None:
        """The fault for this request to ``platform``, or None for a normal answer."""
        with self._lock:
            for key in (platform, None):
                queue = self._forced.get(key)
                if queue:
                    return queue.popleft()
            stream = self._streams.get(platform)
            if stream is None:
                stream = self._streams[platform] = random.Random(f"{self._shares.seed}:{platform}")
            roll = stream.random()
        cumulative = 0.0
        for kind in FAULT_KINDS:
            cumulative += getattr(self._shares, kind)
            if roll < cumulative:
                return kind
        return None
