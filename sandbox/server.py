"""The sandbox marketplace over real HTTP: one Starlette app, a route family per platform.

``/taobao/router/rest``, ``/jd/routerjson``, ``/pdd/api/router``, ``/douyin/...``,
``/shopify/{shop}/admin/api/{version}/...`` and ``/amazon/orders/v0/...`` speak each platform's
wire format (see the platform modules), token refresh included (TOP/PDD/Douyin refresh methods,
``/jd/oauth2/refresh_token``, Amazon's LWA at ``/amazon/auth/o2/token``); ``/_sandbox/...`` is the
control API for tests, the demo and benchmarks (health, simulated clock, faults, stats, stock and
shipments written back, planted refunds, access tokens' lifetimes).

``SandboxServer`` serves it from a background thread with the sandbox's own keep-alive
HTTP/1.1 server (``sandbox.http``: uvicorn's h11 backend stalls ≈44 ms per keep-alive
request here); the app is plain ASGI, so ``uvicorn sandbox.server:…`` works too.
"""
from __future__ import annotations

import gc
import socket
import threading
from datetime import datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from sandbox import wire
from sandbox.generator import World
from sandbox.http import HttpServer
from sandbox.platforms.amazon import AmazonAPI
from sandbox.platforms.common import json_response, order_index
from sandbox.platforms.douyin import DouyinAPI
from sandbox.platforms.jd import JdAPI
from sandbox.platforms.pdd import PddAPI
from sandbox.platforms.shopify import ShopifyAPI
from sandbox.platforms.taobao import TaobaoAPI
from sandbox.scenario import FaultShares
from sandbox.state import SandboxState

PLATFORM_APIS = (TaobaoAPI, JdAPI, PddAPI, DouyinAPI, ShopifyAPI, AmazonAPI)


def _control_routes(state: SandboxState) -> list[Route]:
    async def health(request: Request) -> Response:
        return json_response({"status": "ok", "scenario": state.world.scenario.name,
                              "orders": state.world.order_count(), "now": state.clock.now().isoformat()})

    async def clock(request: Request) -> Response:
        """GET: the simulated time. POST {"now": ISO, "rate": s/s, "advance_seconds": n}: change it."""
        if request.method == "POST":
            body = await request.json()
            try:
                if "now" in body or "rate" in body:
                    now = datetime.fromisoformat(body["now"]) if body.get("now") else None
                    if now is not None and now.tzinfo is None:
                        raise ValueError("now needs a UTC offset")
                    state.clock.set(now, body.get("rate"))
                if body.get("advance_seconds"):
                    state.clock.advance(float(body["advance_seconds"]))
            except (ValueError, TypeError) as exc:
                return json_response({"error": str(exc)}, status=400)
        return json_response({"now": state.clock.now().isoformat(), "rate": state.clock.rate})

    async def faults(request: Request) -> Response:
        """GET: the fault settings. POST {shares…} changes them; {"force": {"kind", "platform",
        "count"}} forces the next requests' faults; {"hide": {"shop_id", "order_id"}} leaves an order
        off every list while the counts include it; {"clear": true} turns everything off."""
        if request.method == "POST":
            body = await request.json()
            try:
                if body.pop("clear", False):
                    state.faults.clear()
                force = body.pop("force", None)
                if force:
                    state.faults.force(force["kind"], force.get("platform"), int(force.get("count", 1)))
                hide = body.pop("hide", None)
                if hide:
                    state.faults.hide(hide["shop_id"], hide["order_id"])
                if body:
                    state.faults.configure(**body)
            except (ValueError, KeyError, TypeError) as exc:
                return json_response({"error": str(exc)}, status=400)
        return json_response(state.faults.shares.model_dump())

    async def stats(request: Request) -> Response:
        return json_response(state.stats_json())

    async def writes(request: Request) -> Response:
        """Stock levels and shipments the connectors wrote back (for push/confirm tests)."""
        shop_id = request.query_params.get("shop_id")
        stock = [{"shop_id": s, "sku": sku, "quantity": q} for (s, sku), q in state.stock.items()
                 if shop_id in (None, s)]
        shipments = [x for x in state.shipments if shop_id in (None, x["shop_id"])]
        return json_response({"stock": stock, "shipments": shipments})

    async def refund(request: Request) -> Response:
        """POST {"shop_id", "order_id", "settle": false}: the buyer asks for a refund now (simulated
        time); settled at once with ``settle`` (or on a platform without a request phase)."""
        body = await request.json()
        try:
            shop = state.world.shop(body["shop_id"])
        except (KeyError, TypeError):
            return json_response({"error": "give shop_id, one of the world's shops, and order_id"}, status=400)
        if not wire.TRAITS[shop.platform].refunds_visible:
            return json_response({"error": f"{shop.platform} order lists do not show refunds"}, status=400)
        i = order_index(state, shop, str(body.get("order_id", "")))
        if i is None:
            return json_response({"error": f"order {body.get('order_id')!r} does not exist in {shop.id}"}, status=404)
        if not state.world.orders[shop.id].request_refund(i, state.now_s(), bool(body.get("settle", False))):
            return json_response({"error": "the order is unpaid, cancelled or already refunding"}, status=409)
        state.history_changed(shop.id)
        return json_response({"shop_id": shop.id, "order_id": body["order_id"], "at": state.clock.now().isoformat()})

    async def tokens(request: Request) -> Response:
        """GET: when each shop's access token ends (simulated time; never a token). POST
        {"shop_id", "expire": true} ends the shop's tokens now; {"platform", "lifetime_s": n}: the
        tokens its refresh call issues from now on last n simulated seconds."""
        if request.method == "POST":
            body = await request.json()
            try:
                if body.get("expire"):
                    state.world.shop(body["shop_id"])
                    state.expire_tokens(body["shop_id"])
                if "lifetime_s" in body:
                    if body["platform"] not in state.token_lifetime_s or int(body["lifetime_s"]) < 1:
                        raise ValueError("give a platform of the world and lifetime_s >= 1")
                    state.token_lifetime_s[body["platform"]] = int(body["lifetime_s"])
            except (ValueError, KeyError, TypeError) as exc:
                return json_response({"error": str(exc)}, status=400)
        return json_response(state.token_times())

    return [Route("/health", health), Route("/clock", clock, methods=["GET", "POST"]),
            Route("/tokens", tokens, methods=["GET", "POST"]),
            Route("/faults", faults, methods=["GET", "POST"]), Route("/stats", stats), Route("/writes", writes),
            Route("/refund", refund, methods=["POST"])]


def build_app(state: SandboxState) -> Starlette:
    mounts = [Mount(f"/{api.platform}", routes=api(state).routes()) for api in PLATFORM_APIS]
    app = Starlette(routes=[*mounts, Mount("/_sandbox", routes=_control_routes(state))])
    app.state.sandbox = state
    return app


class SandboxServer:
    """Serve a world on ``host:port`` (port 0 = any free port) from a background thread.

    >>> with SandboxServer(world) as server:
    ...     requests.get(f"{server.url}/_sandbox/health")
    """

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0, faults: FaultShares | None = None):
        self.world = world
        self.state = SandboxState(world, faults)
        self.host = host
        self._requested_port = port
        self._socket: socket.socket | None = None
        self._server: HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the sandbox server is not started")
        return self._socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def set_clock(self, now: datetime | None = None, rate: float | None = None) -> None:
        self.state.clock.set(now, rate)

    @property
    def faults(self):
        return self.state.faults

    def start(self, timeout_s: float = 10.0) -> "SandboxServer":
        """Bind, serve in a daemon thread, and return once the server accepts requests."""
        if self._thread is not None:
            raise RuntimeError("the sandbox server is already started")
        # The world never changes once generated: move its millions of objects out of the
        # garbage collector's reach, or every full collection re-walks them (measured: the
        # first pass over a Double-11 window ran at ~230 instead of ~400 pages/s).
        gc.freeze()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._socket = sock
        self._server = HttpServer(build_app(self.state), sock)
        self._thread = threading.Thread(target=self._server.run, name=f"sandbox-{self.port}", daemon=True)
        self._thread.start()
        if not self._server.started.wait(timeout_s):
            self.stop()
            raise RuntimeError(f"the sandbox server did not start on {self.host}:{self._requested_port}")
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close every connection, wait for the server thread, and release the port."""
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
