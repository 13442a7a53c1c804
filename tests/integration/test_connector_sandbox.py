"""Every connector against the sandbox marketplace over real HTTP, checked against the
generator's ground truth: pull the scenario's day, normalise, and compare with
``world.ground_truth(shop, as_of)`` — same order ids, same lines, amounts to the fen.

The sandbox (another part of the project) signs, pages, limits windows and renders each
platform's wire format; this test is where the connectors and it must agree.
"""
from __future__ import annotations

import pytest

sandbox_server = pytest.importorskip("sandbox.server", reason="the sandbox marketplace is not available")
sandbox_scenario = pytest.importorskip("sandbox.scenario", reason="the sandbox marketplace is not available")

from connectors import Credentials, build_connector, default_settings  # noqa: E402
from domain.normalise import normalise  # noqa: E402

HASH_KEY = b"integration-test-key"
#: one shop per platform of the smoke scenario (config/scenarios/smoke.yaml)
SHOPS = ["tmall-flagship", "jd-pop", "pdd-main", "douyin-main", "shopify-global", "amazon-us"]


def pull(world, server, shop_id: str, **overrides):
    """Every page of the scenario's day for one shop, as canonical frames."""
    from helpers.sandbox_connector import sandbox_connector

    shop = world.shop(shop_id)
    records, pages = [], 0
    with sandbox_connector(world, server, shop_id, **overrides) as connector:
        for page in connector.pull_orders(world.scenario.start, world.end):
            records.extend(page.records)
            pages += 1
    assert pages > 0
    return normalise(shop.platform, records, shop_id, hash_key=HASH_KEY)


def newest_versions(frames):
    """The connector yields a newer version after an older one; storage keeps the newest."""
    orders = frames.orders.sort_values("modified_at").drop_duplicates("order_id", keep="last")
    keep = set(zip(orders["order_id"], orders["modified_at"]))
    return orders.set_index("order_id"), keep


@pytest.mark.parametrize("shop_id", SHOPS)
def test_a_pulled_day_equals_the_ground_truth(world, server, shop_id):
    truth = world.ground_truth(shop_id, world.end)
    pulled = pull(world, server, shop_id)
    orders, _ = newest_versions(pulled)
    truth_orders = truth.orders.set_index("order_id")

    assert sorted(orders.index) == sorted(truth_orders.index)
    assert all(isinstance(i, str) for i in orders.index)
    joined = truth_orders.join(orders, rsuffix="_pulled")
    per_order_only = world.shop(shop_id).platform == "pdd"  # no line discounts on PDD's wire: see below
    columns = ("total_minor", "post_fee_minor", "line_count", "status", "currency") + (
        () if per_order_only else ("discount_minor",))
    for column in columns:
        mismatched = joined[joined[column].astype(str) != joined[f"{column}_pulled"].astype(str)]
        assert mismatched.empty, f"{column} differs:\n{mismatched[[column, f'{column}_pulled']].head()}"
    assert (joined["modified_at"] == joined["modified_at_pulled"]).all()

    lines = pulled.lines.drop_duplicates(["order_id", "line_no"], keep="last").set_index(["order_id", "line_no"])
    truth_lines = truth.lines.set_index(["order_id", "line_no"])
    assert len(lines) == len(truth_lines) and set(lines.index) == set(truth_lines.index)
    both = truth_lines.join(lines, rsuffix="_pulled")
    for column in ("line_id", "sku", "quantity", "unit_price_minor"):
        assert (both[column].astype(str) == both[f"{column}_pulled"].astype(str)).all(), column
    if per_order_only:
        # PDD reports discounts per order only: lines carry list price × quantity, the
        # order's discount the rest, so the sums agree to the fen
        truth_sum = truth_lines.groupby(level=0)["line_total_minor"].sum() - truth_orders["discount_minor"]
        pulled_sum = lines.groupby(level=0)["line_total_minor"].sum() - orders["discount_minor"]
        assert (truth_sum.sort_index() == pulled_sum.sort_index().astype("int64")).all()
    else:
        assert (both["line_total_minor"].astype("int64") == both["line_total_minor_pulled"].astype("int64")).all()


def test_money_is_integer_minor_units_everywhere(world, server):
    pulled = pull(world, server, "pdd-main")  # float yuan on the wire
    for frame, columns in ((pulled.orders, ("total_minor", "post_fee_minor")), (pulled.lines, ("line_total_minor",))):
        for column in columns:
            assert str(frame[column].dtype) == "Int64"
    assert str(pulled.orders["modified_at"].dtype) == "datetime64[us, UTC]"


@pytest.fixture(scope="module")
def faulty_server(world):
    """The same world behind an unreliable gateway: 5xx, throttles (stated wait 0 s to keep
    the test fast), truncated bodies and rows repeated across pages."""
    faults = sandbox_scenario.FaultShares(seed=3, server_error=0.08, throttle=0.08, truncated_body=0.08,
                                          duplicate_rows=0.2, throttle_retry_after_seconds=0)
    with sandbox_server.SandboxServer(world, faults=faults) as running:
        yield running


@pytest.mark.parametrize("shop_id", SHOPS)
def test_faults_cost_retries_but_lose_nothing(world, faulty_server, shop_id):
    truth = world.ground_truth(shop_id, world.end)
    pulled = pull(world, faulty_server, shop_id, page_size=10, max_retries=8)  # many requests, many faults
    orders, _ = newest_versions(pulled)
    assert sorted(orders.index) == sorted(truth.orders["order_id"])
    assert orders["total_minor"].sum() == truth.orders["total_minor"].sum()
    stats = faulty_server.state.stats_json()[world.shop(shop_id).platform]
    assert sum(v for k, v in stats.items() if k.startswith("fault:")) > 0  # faults really happened


@pytest.mark.parametrize("shop_id", ["tmall-flagship", "jd-pop", "pdd-main", "douyin-main", "shopify-global",
                                     "amazon-us"])
def test_stock_push_read_and_shipment_write_back(world, server, shop_id):
    shop = world.shop(shop_id)
    line = world.ground_truth(shop_id, world.end).lines.iloc[0]
    item_id, sku_id = str(line["marketplace_item_id"]), str(line["marketplace_sku_id"])
    options, extras = {}, {}
    if shop.platform == "shopify":  # stock lives on the variant's inventory item at a location
        from sandbox import wire
        from sandbox.platforms.shopify import inventory_item_id
        sku_id, options = str(inventory_item_id(sku_id)), {"location_id": wire.SHOPIFY_LOCATION_ID}
    if shop.platform == "amazon":  # Listings Items API: the seller's SKU under the seller id
        sku_id, extras = str(line["sku"]), {"seller_id": amazon_seller_id(shop_id)}
    base_url = f"{server.url}/{shop.platform}" + (f"/{shop_id}" if shop.platform == "shopify" else "")
    secret = world.credentials[shop_id]
    credentials = Credentials(app_key=secret.app_key, app_secret=secret.app_secret, access_token=secret.access_token,
                              extras=extras)
    with build_connector(shop.platform, shop_id, default_settings(shop.platform, base_url, **options),
                         credentials) as connector:
        assert connector.push_stock(item_id, sku_id, 17).ok
        assert connector.read_stock(item_id, sku_id) == 17
        assert connector.confirm_shipment(str(line["order_id"]), "SF", "SF100200300").ok
    writes = server.state.shipments
    assert {"shop_id": shop_id, "order_id": str(line["order_id"]), "tracking_no": "SF100200300"}.items() <= \
        next(w for w in writes if w["shop_id"] == shop_id).items()
    assert server.state.stock[(shop_id, line["sku"])] == 17


def amazon_seller_id(shop_id: str) -> str:
    from sandbox.platforms.amazon import seller_id
    return seller_id(shop_id)


def amazon_connector(world, server, shop_id="amazon-us", **options):
    secret = world.credentials[shop_id]
    credentials = Credentials(app_key=secret.app_key, app_secret=secret.app_secret, access_token=secret.access_token,
                              extras={"seller_id": amazon_seller_id(shop_id)})
    return build_connector("amazon", shop_id, default_settings("amazon", f"{server.url}/amazon", **options),
                           credentials)


def test_amazon_write_calls_speak_the_sp_api_shapes(world, server):
    """confirmShipment is a 204 without a body; the listing's quantity is read back from
    ``fulfillmentAvailability``; both writes show in ``/_sandbox/writes``."""
    import requests

    truth = world.ground_truth("amazon-us", world.end)
    order_id = str(truth.orders.loc[truth.orders["platform_status"] == "Unshipped", "order_id"].iloc[0])
    sku = str(truth.lines["sku"].iloc[-1])
    with amazon_connector(world, server) as amazon:
        pushed = amazon.push_stock("", sku, 5)
        assert pushed.ok and pushed.reply["status"] == "ACCEPTED" and pushed.reply["issues"] == []
        assert amazon.read_stock("", sku) == 5
        shipped = amazon.confirm_shipment(order_id, "UPS", "1Z999AA10123456784")
    assert shipped.ok and shipped.reply == {}
    writes = requests.get(f"{server.url}/_sandbox/writes", params={"shop_id": "amazon-us"}, timeout=10).json()
    assert {"shop_id": "amazon-us", "sku": sku, "quantity": 5} in writes["stock"]
    assert {"order_id": order_id, "carrier": "UPS", "tracking_no": "1Z999AA10123456784"}.items() <= \
        writes["shipments"][-1].items()


def test_amazon_writes_are_retried_through_throttles_and_server_errors(world, server):
    """The write routes go through the same fault machinery as the reads."""
    truth = world.ground_truth("amazon-us", world.end)
    sku = str(truth.lines["sku"].iloc[1])
    order_id = str(truth.orders.loc[truth.orders["platform_status"] == "Unshipped", "order_id"].iloc[-1])

    def faults_so_far():
        return sum(v for k, v in server.state.stats_json().get("amazon", {}).items() if k.startswith("fault:"))

    faults_before = faults_so_far()
    with amazon_connector(world, server, backoff_base_s=0.01, backoff_cap_s=0.05) as amazon:
        for kind in ("throttle", "server_error", "truncated_body"):
            server.faults.force(kind, "amazon")
            assert amazon.push_stock("", sku, 9).ok
            server.faults.force(kind, "amazon")
            assert amazon.read_stock("", sku) == 9
        server.faults.force("server_error", "amazon", count=2)
        assert amazon.confirm_shipment(order_id, "USPS", "9400111899223100000000").ok
    assert faults_so_far() - faults_before == 8
    assert server.state.shipments[-1]["tracking_no"] == "9400111899223100000000"


def test_amazon_unknown_order_and_listing_are_clear_platform_errors(world, server):
    from connectors import AuthError, PlatformError

    before = len(server.state.shipments)
    with amazon_connector(world, server) as amazon:
        with pytest.raises(PlatformError, match="404 NotFound: Order 999-0000000-0000000 not found") as info:
            amazon.confirm_shipment("999-0000000-0000000", "UPS", "1Z1")
        assert info.value.code == "NotFound"
        with pytest.raises(PlatformError, match="404 NOT_FOUND: SKU 'NO-SUCH-SKU' not found") as info:
            amazon.read_stock("", "NO-SUCH-SKU")
        assert info.value.code == "NOT_FOUND"
        pending = world.ground_truth("amazon-us", world.end).orders.query("platform_status == 'Pending'")
        assert len(pending)  # the smoke world has an unpaid order: it cannot be shipped
        with pytest.raises(PlatformError, match="InvalidInput: Order .* is Pending"):
            amazon.confirm_shipment(str(pending["order_id"].iloc[0]), "UPS", "1Z2")
    assert len(server.state.shipments) == before  # nothing was recorded
    with amazon_connector(world, server, seller_id="AWRONGSELLER12") as amazon, pytest.raises(AuthError):
        amazon.push_stock("", str(world.ground_truth("amazon-us", world.end).lines["sku"].iloc[0]), 1)
    secret = world.credentials["amazon-us"]
    no_seller = Credentials(app_key=secret.app_key, app_secret=secret.app_secret, access_token=secret.access_token)
    with build_connector("amazon", "amazon-us", default_settings("amazon", f"{server.url}/amazon"), no_seller) as amazon, \
            pytest.raises(PlatformError, match="seller_id"):
        amazon.read_stock("", "CG-KHA-L")


@pytest.mark.parametrize("shop_id", ["tmall-flagship", "douyin-main", "shopify-global"])
def test_refunds_match_where_the_order_api_carries_them(world, server, shop_id):
    """Per-line refund state and money travel on these platforms' order payloads. Refund ids
    only on TOP and Shopify (Douyin keeps them in its after-sales API, so rows get
    "order:line" ids here); PDD has only an order-level refund flag. JD's order API has no
    per-line refund field at all (issue 18 #7): its refunds show in ``orderState`` only
    (LOCKED, DELIVERY_RETURN, TRADE_CANCELED after payment), checked with the status in
    ``test_a_pulled_day_equals_the_ground_truth``."""
    truth = world.ground_truth(shop_id, world.end).refunds
    pulled = pull(world, server, shop_id).refunds.drop_duplicates("refund_id", keep="last")

    def rows(frame, with_id):
        return sorted(((r.refund_id if with_id else "", r.order_id, int(r.amount_minor), r.status)
                       for r in frame.itertuples()))

    with_id = world.shop(shop_id).platform in ("taobao", "shopify")
    assert rows(pulled, with_id) == rows(truth, with_id)


# --- hostile answers (issue 19: 4, 5, 6, 8) -----------------------------------------------------
# Each forces one of the sandbox's hostile answers (sandbox.faults.FORCED_KINDS) and checks the
# connector stops with a clear ConnectorError instead of reading it as "no more orders" (or
# following it forever, or sending credentials elsewhere).

OFFSET_PAGED = ["tmall-flagship", "jd-pop", "pdd-main", "douyin-main"]


@pytest.fixture
def hostile(server):
    """The module's server with every forced fault and fault setting cleared afterwards."""
    server.faults.clear()
    yield server
    server.faults.clear()


def requests_to(server, platform: str) -> int:
    return server.state.stats_json().get(platform, {}).get("requests", 0)


def pull_error(world, server, shop_id: str, **overrides):
    """The ConnectorError a pull of the scenario's day ends with (fails if it ends without one)."""
    from connectors import ConnectorError

    with pytest.raises(ConnectorError) as info:
        pull(world, server, shop_id, **overrides)
    return info.value


@pytest.mark.parametrize("kind, described", [("empty_body", "an empty body"),
                                             ("empty_object", "an empty JSON object {}")])
@pytest.mark.parametrize("shop_id", SHOPS)
def test_an_empty_answer_is_an_error_naming_the_platform_never_no_orders(world, hostile, shop_id, kind, described):
    from connectors.base import UnexpectedReplyError

    platform = world.shop(shop_id).platform
    hostile.faults.force(kind, platform)
    error = pull_error(world, hostile, shop_id)
    assert isinstance(error, UnexpectedReplyError)
    assert error.platform == platform and f"[{platform} {shop_id}]" in str(error)
    assert described in str(error) and "watermark stays" in str(error)


@pytest.mark.parametrize("shop_id", OFFSET_PAGED)
def test_a_count_that_lies_low_is_paged_past_until_a_short_page(world, hostile, shop_id):
    """Every answer says "this page is all there is" while it is full: the connector reads on
    to the short page (allowed here to overrun the count by up to 100 pages) and loses nothing."""
    hostile.faults.force("lying_total", world.shop(shop_id).platform, count=100_000)
    truth = world.ground_truth(shop_id, world.end)
    orders, _ = newest_versions(pull(world, hostile, shop_id, page_size=3, page_overrun=100))
    assert sorted(orders.index) == sorted(truth.orders["order_id"])


@pytest.mark.parametrize("shop_id", ["tmall-flagship", "jd-pop", "douyin-main"])
def test_a_count_that_lies_low_beyond_the_page_cap_is_an_error(world, hostile, shop_id):
    hostile.faults.force("lying_total", world.shop(shop_id).platform, count=100_000)
    error = pull_error(world, hostile, shop_id, page_size=3)   # page cap = ceil(3 / 3) + 2 = 3 pages
    assert error.code == "total_too_low" and "still full" in str(error)


@pytest.mark.parametrize("shop_id", OFFSET_PAGED)
def test_an_inflated_count_stops_after_two_empty_pages_not_thousands(world, hostile, shop_id):
    platform = world.shop(shop_id).platform
    hostile.faults.force("inflated_total", platform, count=100_000)
    before = requests_to(hostile, platform)
    error = pull_error(world, hostile, shop_id)
    assert error.code == "total_too_high" and "inflated" in str(error)
    assert requests_to(hostile, platform) - before <= 3   # the count, then the two last pages by it


@pytest.mark.parametrize("shop_id", ["shopify-global", "amazon-us"])
def test_a_repeating_cursor_is_an_error_not_an_endless_pull(world, hostile, shop_id):
    platform = world.shop(shop_id).platform
    hostile.faults.force("repeat_cursor", platform, count=100_000)
    before = requests_to(hostile, platform)
    error = pull_error(world, hostile, shop_id, page_size=5)
    assert error.code == "cursor_repeats" and "already given" in str(error)
    assert requests_to(hostile, platform) - before < 100   # a few windows, Amazon with each order's items call


def test_a_cursor_paged_window_stops_at_max_pages(world, hostile):
    error = pull_error(world, hostile, "shopify-global", page_size=2, max_pages=3)
    assert error.code == "page_cap" and "max_pages" in str(error)


@pytest.fixture
def recorder():
    from helpers.recorder import Recorder

    running = Recorder()
    yield running
    running.close()


@pytest.mark.parametrize("shop_id", ["tmall-flagship", "jd-pop", "shopify-global", "amazon-us"])
def test_a_redirect_to_another_host_is_refused_and_no_credential_goes_there(world, hostile, recorder, shop_id):
    platform = world.shop(shop_id).platform
    hostile.faults.configure(redirect_url=recorder.url)
    hostile.faults.force("cross_host_redirect", platform)
    error = pull_error(world, hostile, shop_id)
    assert error.code == "cross_host_redirect" and recorder.url.split("//")[1] in str(error)
    assert recorder.seen == []   # no request at all: no token header, no session in a body
    secret = world.credentials[shop_id]
    assert secret.access_token not in str(error) and secret.app_secret not in str(error)


def test_a_redirect_within_the_same_host_is_followed(world, hostile):
    hostile.faults.configure(redirect_url=hostile.url)   # same scheme, host and port
    hostile.faults.force("cross_host_redirect", "taobao")
    truth = world.ground_truth("tmall-flagship", world.end)
    orders, _ = newest_versions(pull(world, hostile, "tmall-flagship"))
    assert sorted(orders.index) == sorted(truth.orders["order_id"])


def test_a_slow_drip_answer_is_cut_at_the_call_deadline(world, hostile):
    from connectors import TransientError

    hostile.faults.configure(drip_seconds=5.0)      # far longer than the deadline: it cannot finish in time
    hostile.faults.force("slow_drip", "jd", count=2)
    error = pull_error(world, hostile, "jd-pop", call_deadline_s=0.3, max_retries=1)
    assert isinstance(error, TransientError) and "call_deadline_s" in str(error)


def test_an_oversized_answer_is_refused_at_the_size_cap(world, hostile):
    hostile.faults.configure(oversized_body_bytes=3 * 1024 * 1024)
    hostile.faults.force("oversized_body", "douyin")
    error = pull_error(world, hostile, "douyin-main", max_body_bytes=1024 * 1024)
    assert error.code == "body_too_large" and "max_body_bytes" in str(error)


def test_a_window_that_takes_too_long_is_an_error(world, hostile):
    from connectors import TransientError

    hostile.faults.configure(slow_seconds=0.3)
    hostile.faults.force("slow", "pdd")
    error = pull_error(world, hostile, "pdd-main", window_deadline_s=0.1)   # one answer alone takes 0.3 s
    assert isinstance(error, TransientError) and "window_deadline_s" in str(error)


@pytest.mark.parametrize("shop_id", ["tmall-flagship", "shopify-global"])
def test_an_html_page_is_an_error_that_describes_it_without_quoting_it(world, hostile, shop_id):
    from connectors import TransientError

    platform = world.shop(shop_id).platform
    hostile.faults.force("html_body", platform, count=100)
    error = pull_error(world, hostile, shop_id, max_retries=1)
    assert isinstance(error, TransientError) and f"[{platform} {shop_id}]" in str(error)
    assert "not JSON" in str(error) and "text/html" in str(error)
    assert "example.com" not in str(error) and "zhang" not in str(error)   # described, never quoted
