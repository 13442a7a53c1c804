"""The mutable side of a running sandbox: simulated clock, faults, stats, stock, caches.

The world is generated once; what a request sees depends on the simulated "now" (late
changes become visible as it advances), on the injected faults, on the stock levels and
shipments connectors wrote back (a confirmed shipment ships the order from that moment, as on
a marketplace, so the next pull sees it shipped), and on refunds a test plants through the
control API.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from datetime import datetime, timedelta, timezone

import numpy as np

from sandbox.faults import TOKEN_EXPIRED, FaultInjector
from sandbox.generator import World, modified_between
from sandbox.scenario import FaultShares, ShopSpec


#: seconds a newly issued access token lasts [U per platform but Amazon's]: LWA 3600 (documented);
#: the others' refresh answers give their own expires_in, 30 days here. Issued tokens end in the
#: sandbox's simulated time (a test moves it instead of waiting); the absolute times a refresh
#: answer carries (TOP ``expire_time``, JD ``refresh_token_expires`` …) are on the wall clock
TOKEN_LIFETIME_S = {"taobao": 30 * 86400, "jd": 30 * 86400, "pdd": 30 * 86400, "douyin": 30 * 86400,
                    "shopify": 30 * 86400, "amazon": 3600}


class SimulatedClock:
    """Business time of the sandbox: fixed at ``now`` unless a ``rate`` makes it run.

    ``rate`` is simulated seconds per wall-clock second (0 = frozen, 1 = real time, 60 = a
    minute per second), so a test or demo can make late changes happen while a connector
    is in the middle of a scan.
    """

    def __init__(self, now: datetime, rate: float = 0.0):
        self._lock = threading.Lock()
        self.set(now, rate)

    def set(self, now: datetime | None = None, rate: float | None = None) -> None:
        with self._lock:
            current = self._now_unlocked() if hasattr(self, "_base") else None
            self._base = (now or current).astimezone(timezone.utc).timestamp()
            self._anchor = time.monotonic()
            if rate is not None:
                if rate < 0:
                    raise ValueError("clock rate must be >= 0")
                self._rate = rate

    def advance(self, seconds: float) -> datetime:
        self.set(self.now() + timedelta(seconds=seconds))
        return self.now()

    def _now_unlocked(self) -> datetime:
        elapsed = (time.monotonic() - self._anchor) * self._rate
        return datetime.fromtimestamp(self._base + elapsed, timezone.utc)

    def now(self) -> datetime:
        with self._lock:
            return self._now_unlocked()

    @property
    def rate(self) -> float:
        return self._rate


class BoundedCache(OrderedDict):
    """A small LRU map: rendered order bodies and window queries are re-used, memory capped."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.capacity:
            self.popitem(last=False)


class SandboxState:
    """Everything a request handler needs besides the request."""

    def __init__(self, world: World, faults: FaultShares | None = None):
        self.world = world
        self.clock = SimulatedClock(world.end)
        self.faults = FaultInjector(faults or world.scenario.faults)
        self.timestamp_tolerance_s = world.scenario.timestamp_tolerance_minutes * 60
        self.jd_timestamp_tolerance_s = world.scenario.jd_timestamp_tolerance_minutes * 60
        self.stats: dict[str, Counter] = defaultdict(Counter)
        catalogue = world.catalogue
        rng = np.random.default_rng([world.scenario.seed, 4])
        #: sellable quantity per (shop, sku) as each marketplace listing shows it
        self.stock: dict[tuple[str, str], int] = {
            (shop.id, sku): int(q) for shop in world.shops
            for sku, q in zip(catalogue["sku"], rng.integers(0, 500, len(catalogue)))}
        self.shipments: list[dict] = []
        self.windows = BoundedCache(256)
        self.rendered = BoundedCache(120_000)   # ≈1.5 KB per rendered order: ≈180 MB at most
        self.order_lookup: dict[str, dict[str, int]] = {}   # order id → position, built on first use
        self.listings: dict[str, object] = {}                # platform → common.Listings
        self._by_app_key = {(s.platform, world.credentials[s.id].app_key): s for s in world.shops}
        self._by_token = {(s.platform, world.credentials[s.id].access_token): s for s in world.shops}
        #: access tokens: per shop the one in force (the world's until a refresh replaces it) and
        #: when it ends in simulated time (None: never, until a test sets a lifetime or expires it);
        #: Amazon's LWA gives any number of hourly tokens beside the world's static one
        self.access: dict[str, tuple[str, int | None]] = {s.id: (world.credentials[s.id].access_token, None)
                                                          for s in world.shops}
        self.lwa_tokens: dict[str, tuple[str, int]] = {}   # token → (shop id, ends at)
        self.refresh_tokens: dict[str, str] = {s.id: world.credentials[s.id].refresh_token for s in world.shops}
        #: seconds a newly issued access token lasts, per platform (``/_sandbox/tokens`` changes it)
        self.token_lifetime_s: dict[str, int] = dict(TOKEN_LIFETIME_S)
        #: shops whose order history changed since their event index was built
        self._changed: set[str] = set()

    # --- clocks -------------------------------------------------------------------------
    def now_s(self) -> int:
        """Simulated business time (unix s): what is visible."""
        return int(self.clock.now().timestamp())

    def wall_now(self) -> float:
        """The server's wall clock (with injected skew): what signed timestamps are checked against."""
        return time.time() + self.faults.clock_skew_seconds

    # --- shops and credentials ------------------------------------------------------------
    def shop_by_app_key(self, platform: str, app_key: str | None) -> ShopSpec | None:
        return self._by_app_key.get((platform, app_key))

    def shop_by_token(self, platform: str, token: str | None) -> ShopSpec | None:
        if TOKEN_EXPIRED.get():   # forced fault error_envelope: every token is refused
            return None
        issued = self.lwa_tokens.get(token or "")
        if issued is not None:
            shop_id, ends = issued
            return self.world.shop(shop_id) if self.now_s() < ends else None
        shop = self._by_token.get((platform, token))
        if shop is not None and self.access[shop.id][0] == token and self._ended(self.access[shop.id][1]):
            return None
        return shop

    def token_expired(self, token: str | None) -> bool:
        """A token this sandbox issued whose time is up (the platform says "expired", not "invalid")."""
        issued = self.lwa_tokens.get(token or "")
        if issued is not None:
            return self._ended(issued[1])
        return any(value == token and self._ended(ends) for value, ends in self.access.values())

    def secret(self, shop: ShopSpec) -> str:
        return self.world.credentials[shop.id].app_secret

    def token(self, shop: ShopSpec) -> str:
        """The shop's access token in force ("\x00expired", which no request carries, once it ended)."""
        if TOKEN_EXPIRED.get():   # forced fault error_envelope: the shop's token has expired
            return "\x00expired"
        token, ends = self.access[shop.id]
        return "\x00expired" if self._ended(ends) else token

    def _ended(self, ends: int | None) -> bool:
        return ends is not None and self.now_s() >= ends

    # --- token refresh (each platform's refresh call) ------------------------------------------
    def refresh_token_ok(self, shop: ShopSpec, given: str | None) -> bool:
        expected = self.refresh_tokens.get(shop.id)
        return bool(given) and bool(expected) and shop.platform != "shopify" and given == expected

    def issue_token(self, shop: ShopSpec) -> tuple[str, int, str]:
        """A new access token for ``shop`` (after its refresh token was checked): (token, seconds it
        lasts, the refresh token to use next). The Chinese platforms replace the token in force and
        hand out a new refresh token; LWA adds an hourly token and keeps its refresh token."""
        lifetime = self.token_lifetime_s[shop.platform]
        token = f"{shop.platform}-sandbox-{secrets.token_hex(16)}"
        ends = self.now_s() + lifetime
        if shop.platform == "amazon":
            self.lwa_tokens[token] = (shop.id, ends)
        else:
            self.access[shop.id] = (token, ends)
            self.refresh_tokens[shop.id] = f"r-{secrets.token_hex(20)}"
        self.count(shop.platform, "token_refreshes")
        return token, lifetime, self.refresh_tokens[shop.id]

    def expire_tokens(self, shop_id: str) -> None:
        """Every access token of the shop ends now (simulated time): the next call is refused."""
        now = self.now_s()
        token, _ = self.access[shop_id]
        self.access[shop_id] = (token, now)
        for value, (owner, ends) in list(self.lwa_tokens.items()):
            if owner == shop_id:
                self.lwa_tokens[value] = (owner, min(ends, now))

    def token_times(self) -> dict[str, dict]:
        """Per shop when its token in force ends (never a token's value)."""
        def iso(ends: int | None) -> str | None:
            return None if ends is None else datetime.fromtimestamp(ends, timezone.utc).isoformat()
        return {shop_id: {"expires_at": iso(ends),
                          "lwa_tokens": [iso(e) for owner, e in self.lwa_tokens.values() if owner == shop_id]}
                for shop_id, (_, ends) in self.access.items()}

    # --- queries ------------------------------------------------------------------------
    def window(self, shop_id: str, low: int, high: int, newest_first: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(order indices, modified s) of orders whose current version falls in [low, high].

        Evaluated at the current simulated time, cached per (window, now): paging through
        a window costs one query, and a moving clock re-evaluates it, as a real API does.
        """
        if shop_id in self._changed:
            self.world.orders[shop_id].index_events()
            self._changed.discard(shop_id)
        now = self.now_s()
        key = (shop_id, low, high, now, newest_first)
        hit = self.windows.get(key)
        if hit is None:
            idx, modified = modified_between(self.world.orders[shop_id], low, min(high, now), now)
            if newest_first:
                idx, modified = idx[::-1], modified[::-1]
            hit = (idx, modified)
            self.windows.put(key, hit)
        return hit

    # --- changes to the history ------------------------------------------------------------
    def history_changed(self, shop_id: str) -> None:
        """An order of the shop got a new event: window answers must be computed again (the
        event index is rebuilt once, at the next window query, however many orders changed)."""
        self._changed.add(shop_id)
        self.windows.clear()

    def count(self, platform: str, what: str, n: int = 1) -> None:
        self.stats[platform][what] += n

    def stats_json(self) -> dict:
        return {platform: dict(counter) for platform, counter in self.stats.items()}
