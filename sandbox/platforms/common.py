"""What every platform route family shares: signing, parameters, paging, rendering, faults.

Rendering is the hot path (the benchmarks want ≈630 pages of 100 orders per second): a page's
orders are derived in one vectorised call (``order_columns``), each order is turned into its
wire dict once per version and kept as JSON bytes, and a page is spliced from those bytes
with ``orjson.Fragment`` — so paging the same window again costs almost nothing.
"""
from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Awaitable, Callable
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sandbox import wire
from sandbox.faults import PAGE_SHIFT, TOKEN_EXPIRED
from sandbox.generator import NEVER, OrderColumns, order_columns
from sandbox.scenario import ShopSpec
from sandbox.state import SandboxState

BEIJING_OFFSET_S = 8 * 3600
dumps = orjson.dumps


# --- values on the wire -----------------------------------------------------------------------

@lru_cache(maxsize=65536)
def beijing(ts: int | None) -> str:
    """"yyyy-MM-dd HH:mm:ss" in Beijing time, no offset (TOP, JD, PDD strings); "" if none."""
    if ts is None or ts == NEVER:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts + BEIJING_OFFSET_S))


def parse_beijing(text: str) -> int:
    """Inverse of :func:`beijing`; ValueError on a malformed value."""
    parsed = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    return int(parsed.replace(tzinfo=timezone.utc).timestamp()) - BEIJING_OFFSET_S


def iso_in_zone(ts: int | None, zone: str) -> str | None:
    """ISO 8601 with the shop's offset (Shopify)."""
    if ts is None or ts == NEVER:
        return None
    return datetime.fromtimestamp(ts, ZoneInfo(zone)).isoformat()


def iso_utc(ts: int | None) -> str | None:
    """ISO 8601 UTC with a Z (Amazon)."""
    if ts is None or ts == NEVER:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@lru_cache(maxsize=65536)
def decimal_string(minor: int) -> str:
    """Minor units → "199.00" (every platform that sends decimal strings)."""
    sign = "-" if minor < 0 else ""
    minor = abs(int(minor))
    return f"{sign}{minor // 100}.{minor % 100:02d}"


# --- signing ----------------------------------------------------------------------------------

def concatenated(params: dict[str, str]) -> str:
    """key1value1key2value2… over the params sorted by key, ``sign`` and empty values left out."""
    return "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign" and v not in ("", None))


def top_sign(params: dict[str, str], secret: str, sign_method: str) -> str:
    """Taobao TOP: md5 wraps the secret round the string; hmac / hmac-sha256 key with it."""
    text = concatenated(params).encode()
    if sign_method == "md5":
        return hashlib.md5(secret.encode() + text + secret.encode()).hexdigest().upper()
    if sign_method == "hmac":
        return hmac.new(secret.encode(), text, hashlib.md5).hexdigest().upper()
    if sign_method == "hmac-sha256":
        return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unknown sign_method '{sign_method}'")


def wrapped_md5_sign(params: dict[str, str], secret: str) -> str:
    """JD and PDD: UPPER(MD5(secret + key1value1… + secret))."""
    return hashlib.md5((secret + concatenated(params) + secret).encode()).hexdigest().upper()


def signatures_match(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.upper(), expected)


async def request_params(request: Request) -> dict[str, str]:
    """Query string and url-encoded form body merged (the gateways accept a parameter in
    either). Parsed with the standard library: multipart bodies are not accepted."""
    params = dict(request.query_params)
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        params.update(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    return params


# --- responses --------------------------------------------------------------------------------

def json_response(content: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json;charset=UTF-8",
                    headers=headers)


def page_positions(total: int, start: int, size: int, duplicate: bool) -> np.ndarray:
    """Positions ``start:start+size`` of a result of ``total`` rows; with the duplicate-rows
    fault one row of the neighbouring page is repeated (the row before the page, or on a
    first page the row after it), as when a row moves while the client pages."""
    if PAGE_SHIFT.get():   # forced fault: the row at the page's start moved onto a page already read
        start += 1
    positions = np.arange(start, min(start + size, total))
    if duplicate and total:
        if start > 0:
            positions = np.concatenate([[start - 1], positions])
        elif start + size < total:
            positions = np.concatenate([positions, [start + size]])
    return positions


def page_of_window(state: SandboxState, shop: ShopSpec, window: tuple[np.ndarray, np.ndarray], start: int,
                   size: int, duplicate: bool, render: "Renderer", variant: str = "") -> orjson.Fragment:
    """The JSON array of one page of a window query, each order rendered by ``render``."""
    idx, modified = window
    positions = page_positions(len(idx), start, size, duplicate)
    hidden = state.faults.hidden(shop.id)
    if hidden:   # forced fault: orders on no page, still in the count
        hidden_idx = [i for i in (order_index(state, shop, oid) for oid in hidden) if i is not None]
        positions = positions[~np.isin(idx[positions], hidden_idx)]
    state.count(shop.platform, "pages")
    state.count(shop.platform, "orders_served", len(positions))
    page = json_array(rendered_orders(state, shop, idx[positions], modified[positions], render, variant))
    # render the neighbouring pages while the client is busy with this one: the next for a
    # client reading forwards, the previous for one reading backwards (as the connectors do,
    # from the last page to the first); the one it has just read costs only cache look-ups
    loop = asyncio.get_running_loop()
    for neighbour in (start + size, start - size):
        if neighbour < 0:
            continue
        following = page_positions(len(idx), neighbour, size, False)
        if len(following):
            loop.call_soon(rendered_orders, state, shop, idx[following], modified[following], render, variant)
    return page


def single_order(state: SandboxState, shop: ShopSpec, i: int, render: "Renderer", variant: str = "") -> orjson.Fragment:
    """One order at its current version, rendered by ``render`` (cached like page rows)."""
    idx = np.array([i])
    modified = state.world.orders[shop.id].modified_as_of(idx, state.now_s())
    return orjson.Fragment(rendered_orders(state, shop, idx, modified, render, variant)[0])


@dataclass
class PageView:
    """One page of orders as plain Python lists (fast per-order access in renderers)."""

    shop: ShopSpec
    orders: dict[str, list]
    lines: dict[str, list]
    refunds: dict[str, list]
    extra: dict[str, list]
    line_ranges: list[tuple[int, int]]
    refund_of: dict[int, int]   # order position → refund position

    @classmethod
    def build(cls, shop: ShopSpec, cols: OrderColumns) -> "PageView":
        counts = cols.orders["line_count"]
        ends = np.cumsum(counts)
        starts = ends - counts
        refund_positions = np.nonzero(cols.extra["refunding"])[0]
        return cls(shop=shop, orders={k: v.tolist() for k, v in cols.orders.items()},
                   lines={k: v.tolist() for k, v in cols.lines.items()},
                   refunds={k: v.tolist() for k, v in cols.refunds.items()},
                   extra={k: v.tolist() for k, v in cols.extra.items() if len(v) == len(counts)},
                   line_ranges=list(zip(starts.tolist(), ends.tolist())),
                   refund_of={int(p): r for r, p in enumerate(refund_positions)})

    def line_positions(self, j: int) -> range:
        start, end = self.line_ranges[j]
        return range(start, end)


#: ``render(view, j)`` → order ``j`` of the page as a dict; a renderer may also have
#: ``many(view)`` → every order's JSON bytes at once (the fast path, same bytes) and
#: ``also = (variant, fn(view, bodies) -> [bytes | None])``: another variant of the same
#: orders cached alongside (e.g. the single-order call a client makes next)
Renderer = Callable[[PageView, int], dict]


def rendered_orders(state: SandboxState, shop: ShopSpec, idx: np.ndarray, modified: np.ndarray,
                    render: Renderer, variant: str = "") -> list[bytes]:
    """JSON bytes of each order in ``idx`` at its current version, rendered once per version.

    Cached under (order, modified time) — the modified time the rendering actually showed, so
    a clock that moved since the window was queried can never file a newer state under an
    older version's key.
    """
    cache = state.rendered
    found = [cache.get((shop.id, variant, i, m)) for i, m in zip(idx.tolist(), modified.tolist())]
    missing = [n for n, body in enumerate(found) if body is None]
    if missing:
        world = state.world
        # Rendering allocates thousands of short-lived dicts and lists and no reference
        # cycles: no collector passes over them (nor the full passes they set off while the
        # cache grows) while a page renders.
        collecting = gc.isenabled()
        gc.disable()
        try:
            cols = order_columns(world, world.orders[shop.id], state.now_s(), idx[missing], with_hashes=False)
            view = PageView.build(shop, cols)
            modified_at = view.orders["modified_at"]
            keys = idx.tolist()
            many = getattr(render, "many", None)
            if many is not None:
                # a renderer that writes every order's JSON text at once (exact-size bytes)
                bodies = many(view)
            else:
                # an exact-size copy: orjson's output keeps the slack of its growth buffer,
                # and kept by the cache that slack fragments the heap — every order then
                # touches fresh pages (measured on a Double-11 world: ≈170 page faults and
                # 2.4 ms per 100 orders for the dumps alone, 0.4 ms with the copy)
                bodies = [bytes(memoryview(dumps(render(view, j)))) for j in range(len(missing))]
            put = cache.put
            for j, n in enumerate(missing):
                found[n] = body = bodies[j]
                put((shop.id, variant, keys[n], modified_at[j]), body)
            also = getattr(render, "also", None)
            if also is not None:   # (variant, fn(view, bodies)): other renderings of these orders
                also_variant, also_render = also
                for j, body in enumerate(also_render(view, bodies)):
                    if body is not None:
                        put((shop.id, also_variant, keys[missing[j]], modified_at[j]), body)
        finally:
            if collecting:
                gc.enable()
    return found


def json_array(parts: list[bytes]) -> orjson.Fragment:
    return orjson.Fragment(b"[" + b",".join(parts) + b"]")


def order_index(state: SandboxState, shop: ShopSpec, order_id: str) -> int | None:
    """Position of ``order_id`` in the shop's arrays, if the order exists (and is visible yet)."""
    lookup = state.order_lookup.get(shop.id)
    if lookup is None:
        orders = state.world.orders[shop.id]
        ids = wire.order_ids(shop.platform, orders.shop_index, orders.seq, orders.created)
        lookup = state.order_lookup[shop.id] = {oid: i for i, oid in enumerate(ids)}
    i = lookup.get(order_id)
    if i is None or state.world.orders[shop.id].created[i] > state.now_s():
        return None
    return i


# --- the per-platform base ----------------------------------------------------------------------

Handler = Callable[[Request, bool], Awaitable[Response]]


class PlatformAPI:
    """One marketplace's route family; subclasses add routes and the error styles."""

    platform: str = ""

    def __init__(self, state: SandboxState):
        self.state = state

    def throttled(self, retry_after_s: int) -> Response:
        raise NotImplementedError

    def server_error(self) -> Response:
        return Response("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                        status_code=503, media_type="text/html")

    def endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler with stats and fault injection (``handler(request, duplicate_rows)``)."""
        state, platform = self.state, self.platform

        async def wrapped(request: Request) -> Response:
            state.count(platform, "requests")
            fault = state.faults.draw(platform)
            if fault:
                state.count(platform, f"fault:{fault}")
            if fault == "server_error":
                return self.server_error()
            if fault == "throttle":
                return self.throttled(state.faults.shares.throttle_retry_after_seconds)
            if fault == "slow":
                await asyncio.sleep(state.faults.shares.slow_seconds)
            if fault == "cross_host_redirect":   # before the handler: a gateway that sends the client away
                target = state.faults.shares.redirect_url.rstrip("/") + request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return Response(b"", status_code=307, headers={"Location": target})
            if fault == "empty_body":
                return Response(b"", status_code=200, media_type="application/json")
            if fault == "empty_object":
                return json_response({})
            if fault == "html_body":
                return Response(HTML_PAGE, status_code=200, media_type="text/html")
            if fault in ("page_shift", "error_envelope"):   # the handler itself answers differently
                flag = PAGE_SHIFT if fault == "page_shift" else TOKEN_EXPIRED
                reset = flag.set(True)
                try:
                    return await handler(request, False)
                finally:
                    flag.reset(reset)
            response = await handler(request, fault == "duplicate_rows")
            if fault == "truncated_body":
                body = response.body[: max(1, len(response.body) // 2)]
                headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
                response = Response(body, status_code=response.status_code, headers=headers)
            elif fault in HOSTILE_REWRITES:
                response = HOSTILE_REWRITES[fault](request, response, state)
            return response

        return wrapped


# --- hostile answers (forced faults, sandbox.faults.FORCED_KINDS) -------------------------------

#: a page that is not the API's (a proxy's login page), with an address that must not reach a message
HTML_PAGE = (b"<html><head><title>Sign in</title></head><body><p>Session of buyer zhang.san@example.com "
             b"expired, please sign in again.</p></body></html>")

#: the page-count field of each offset-paged order list
_TOTAL_KEYS = ("total_results", "orderTotal", "total_count", "total")


def _with_body(response: Response, body: bytes, headers: dict[str, str] | None = None) -> Response:
    kept = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(body, status_code=response.status_code, headers={**kept, **(headers or {})})


def _count_holder(node: object) -> dict | None:
    """The dict holding a page count (``_TOTAL_KEYS``), searched depth first."""
    if isinstance(node, dict):
        if any(isinstance(node.get(k), int) for k in _TOTAL_KEYS):
            return node
        for value in node.values():
            found = _count_holder(value)
            if found is not None:
                return found
    return None


def _rows_beside(holder: dict) -> int:
    """How many rows the page next to the count carries (a list, or a list inside a dict)."""
    for value in holder.values():
        if isinstance(value, list):
            return len(value)
        if isinstance(value, dict):
            for inner in value.values():
                if isinstance(inner, list):
                    return len(inner)
    return 0


def _lie_about_total(low: bool) -> Callable[[Request, Response, SandboxState], Response]:
    def rewrite(request: Request, response: Response, state: SandboxState) -> Response:
        try:
            body = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            return response
        holder = _count_holder(body)
        if holder is None:
            return response
        key = next(k for k in _TOTAL_KEYS if isinstance(holder.get(k), int))
        # low: "this page is all there is"; high: a thousand times the truth
        holder[key] = _rows_beside(holder) if low else holder[key] * 1000 + 1000
        return _with_body(response, orjson.dumps(body))
    return rewrite


def _repeat_cursor(request: Request, response: Response, state: SandboxState) -> Response:
    """The next-page cursor is the one the request sent: a client that trusts it loops."""
    params = request.query_params
    if "page_info" in params:   # Shopify: the Link header's rel="next"
        base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}?limit={params.get('limit', '50')}"
        return _with_body(response, response.body, {"Link": f'<{base}&page_info={params["page_info"]}>; rel="next"'})
    if "NextToken" in params:   # Amazon: payload.NextToken
        try:
            body = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            return response
        if isinstance(body.get("payload"), dict):
            body["payload"]["NextToken"] = params["NextToken"]
            return _with_body(response, orjson.dumps(body))
    return response


def _slow_drip(request: Request, response: Response, state: SandboxState) -> Response:
    """The real body, a few bytes every 0.1 s for ``drip_seconds`` (then the connection closes
    short of the promised length): it never times out between bytes and never finishes."""
    body, seconds = response.body, state.faults.shares.drip_seconds

    async def drip():
        waited = 0.0
        for start in range(0, len(body), 8):
            if waited >= seconds:
                return
            yield body[start:start + 8]
            await asyncio.sleep(0.1)
            waited += 0.1

    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return StreamingResponse(drip(), status_code=response.status_code,
                             headers={**headers, "content-length": str(len(body) * 10)})


def _oversized(request: Request, response: Response, state: SandboxState) -> Response:
    """The real body padded with whitespace (still valid JSON) to ``oversized_body_bytes``."""
    size = state.faults.shares.oversized_body_bytes
    return _with_body(response, response.body + b" " * max(0, size - len(response.body)))


HOSTILE_REWRITES: dict[str, Callable[[Request, Response, SandboxState], Response]] = {
    "lying_total": _lie_about_total(low=True), "inflated_total": _lie_about_total(low=False),
    "repeat_cursor": _repeat_cursor, "slow_drip": _slow_drip, "oversized_body": _oversized,
}


@dataclass(frozen=True)
class Listings:
    """A platform's listing ids for the catalogue: which listing / variant is which SKU."""

    sku_by_variant_id: dict[str, str]
    skus_by_item_id: dict[str, list[str]]
    ids_by_sku: dict[str, tuple[str, str]]      # sku → (item id, variant id)
    title_by_sku: dict[str, tuple[str, str]]    # sku → (name, variant)

    @classmethod
    def of(cls, state: SandboxState, platform: str) -> "Listings":
        cached = state.listings.get(platform)
        if cached is None:
            cat = state.world.catalogue
            items = [str(wire.item_id(platform, int(n))) for n in cat["item_no"]]
            variants = [str(wire.sku_id(platform, int(n))) for n in cat["sku_no"]]
            by_item: dict[str, list[str]] = {}
            for item, sku in zip(items, cat["sku"]):
                by_item.setdefault(item, []).append(sku)
            cached = state.listings[platform] = cls(
                sku_by_variant_id=dict(zip(variants, cat["sku"])), skus_by_item_id=by_item,
                ids_by_sku={sku: (i, v) for sku, i, v in zip(cat["sku"], items, variants)},
                title_by_sku={sku: (n, v) for sku, n, v in zip(cat["sku"], cat["name"], cat["variant"])})
        return cached


def set_stock(state: SandboxState, shop: ShopSpec, sku: str, quantity: int, incremental: bool) -> int:
    """Apply a stock write from a connector; returns the listing's new sellable quantity."""
    key = (shop.id, sku)
    new = (state.stock.get(key, 0) + quantity) if incremental else quantity
    state.stock[key] = max(0, int(new))
    state.count(shop.platform, "stock_writes")
    return state.stock[key]


def record_shipment(state: SandboxState, shop: ShopSpec, order_id: str, carrier: str, tracking_no: str) -> None:
    """Keep a connector's shipment write-back and ship the order at the simulated now: from then
    on the order lists show it shipped with ``tracking_no`` (``ShopOrders.ship``; a repeated or
    impossible shipment leaves the history as it is)."""
    state.shipments.append({"shop_id": shop.id, "order_id": order_id, "carrier": carrier,
                            "tracking_no": tracking_no, "at": state.clock.now().isoformat()})
    state.count(shop.platform, "shipments")
    i = order_index(state, shop, order_id)
    if i is not None and state.world.orders[shop.id].ship(i, state.now_s(), tracking_no, carrier):
        state.history_changed(shop.id)
