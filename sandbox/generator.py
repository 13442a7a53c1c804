"""The sandbox world: shops, catalogue, buyers and every order's history, from a scenario.

Orders are generated per shop as columns of numpy arrays (no Python object per order), so a
Double-11 scenario of a million orders builds in seconds and stays small in memory. An order
is not a row but a *history*: the times of its events (created, paid, presale balance paid,
shipped, completed, cancelled, refund requested, refunded). Its state at any instant follows
from which events have happened, so "the order as of T" — what a marketplace would answer at
T, and what the warehouse must end up holding — is a vectorised comparison, and late changes
(a refund a week after shipping) appear as simulated time passes.

The ground truth is canonical (``domain.canonical``); platform renderers turn the same arrays
into each marketplace's wire format, using ``sandbox.wire`` for every platform convention.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames
from sandbox import wire
from sandbox.catalogue import build_catalogue
from sandbox.scenario import Scenario, ShopSpec, load_scenario

NEVER = np.iinfo(np.int64).max
HOUR = 3600
DAY = 86400

BUYER_REMARKS = ("请尽快发货，谢谢", "不要放快递柜", "送人的，请不要放发票", "尺码偏小吗？想换大一码",
                 "周末不在家，请工作日送达", "麻烦包装好一点", "同款加购了，请一起发")
SELLER_REMARKS = ("已核对尺码", "VIP客户，优先发货", "补发赠品", "改地址：已与客户确认", "缺货待补，已告知顾客")
#: (tracking prefix, name, numeric logistics id as JD/PDD send it)
CARRIERS_CN = (("SF", "顺丰速运", 44), ("ZTO", "中通快递", 115), ("YTO", "圆通速递", 85), ("YUNDA", "韵达快递", 121))
CARRIERS_US = (("USPS", "USPS", 1), ("UPS", "UPS", 2))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "丽", "强", "婷", "雪")
PLACES = (("浙江省", "杭州市", "西湖区", "文三路"), ("浙江省", "宁波市", "鄞州区", "天童南路"),
          ("上海", "上海市", "浦东新区", "张杨路"), ("北京", "北京市", "朝阳区", "建国路"),
          ("广东省", "深圳市", "南山区", "科技园南路"), ("广东省", "广州市", "天河区", "天河北路"),
          ("江苏省", "南京市", "鼓楼区", "中山北路"), ("四川省", "成都市", "武侯区", "人民南路"),
          ("湖北省", "武汉市", "洪山区", "珞喻路"), ("山东省", "青岛市", "市南区", "香港中路"))
US_FIRST = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Emily")
US_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Lopez", "Wilson")
US_PLACES = (("California", "CA", "Los Angeles", "90012"), ("New York", "NY", "Brooklyn", "11201"),
             ("Texas", "TX", "Austin", "78701"), ("Washington", "WA", "Seattle", "98101"),
             ("Illinois", "IL", "Chicago", "60601"), ("Florida", "FL", "Miami", "33130"))
US_STREETS = ("Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St")


@dataclass
class Buyers:
    """A pool of buyers, clear values kept only inside the sandbox; platforms mask them."""

    name: np.ndarray
    phone: np.ndarray
    nick: np.ndarray
    province: np.ndarray
    city: np.ndarray
    district: np.ndarray
    street: np.ndarray       # street without number: what masked addresses show
    house_no: np.ndarray     # the number the platforms hide
    postcode: np.ndarray


def _chinese_buyers(rng: np.random.Generator, n: int) -> Buyers:
    surname = np.array(list(SURNAMES), dtype=object)[rng.integers(0, len(SURNAMES), n)]
    given = np.array(GIVEN, dtype=object)[rng.integers(0, len(GIVEN), n)]
    prefixes = np.array(["138", "139", "186", "159", "177", "135", "188", "150"], dtype=object)
    phone = prefixes[rng.integers(0, 8, n)] + pd.Series(rng.integers(0, 10**8, n)).astype(str).str.zfill(8).to_numpy(object)
    place = rng.integers(0, len(PLACES), n)
    places = np.array(PLACES, dtype=object)
    nick = np.array([f"tb{x}" for x in rng.integers(10**6, 10**9, n)], dtype=object)
    return Buyers(name=surname + given, phone=phone, nick=nick, province=places[place, 0], city=places[place, 1],
                  district=places[place, 2], street=places[place, 3],
                  house_no=pd.Series(rng.integers(1, 999, n)).astype(str).to_numpy(object) + "号",
                  postcode=np.array(["310000"] * n, dtype=object))


def _us_buyers(rng: np.random.Generator, n: int) -> Buyers:
    first = np.array(US_FIRST, dtype=object)[rng.integers(0, len(US_FIRST), n)]
    last = np.array(US_LAST, dtype=object)[rng.integers(0, len(US_LAST), n)]
    place = np.array(US_PLACES, dtype=object)[rng.integers(0, len(US_PLACES), n)]
    phone = np.array([f"+1 {a}-555-{b:04d}" for a, b in zip(rng.integers(201, 989, n), rng.integers(0, 10**4, n))], dtype=object)
    return Buyers(name=first + " " + last, phone=phone, nick=np.char.lower(first.astype(str)).astype(object),
                  province=place[:, 1], city=place[:, 2], district=np.array([""] * n, dtype=object),
                  street=np.array(US_STREETS, dtype=object)[rng.integers(0, len(US_STREETS), n)],
                  house_no=pd.Series(rng.integers(1, 9999, n)).astype(str).to_numpy(object), postcode=place[:, 3])


@dataclass
class ShopOrders:
    """Every order of one shop as parallel arrays; times are unix seconds, ``NEVER`` if not yet.

    Lines are stored flat: order ``i`` owns ``line_*[line_start[i] : line_start[i] + line_count[i]]``;
    its first line is the one a refund (if any) returns; gift lines come last.
    """

    shop: ShopSpec
    shop_index: int
    seq: np.ndarray
    created: np.ndarray
    paid: np.ndarray
    balance_paid: np.ndarray
    shipped: np.ndarray
    completed: np.ndarray
    cancelled: np.ndarray
    refund_requested: np.ndarray
    refunded: np.ndarray
    refund_full: np.ndarray
    buyer: np.ndarray
    post_fee: np.ndarray
    order_discount: np.ndarray
    buyer_remark: np.ndarray
    seller_remark: np.ndarray
    carrier: np.ndarray
    line_start: np.ndarray
    line_count: np.ndarray
    line_sku: np.ndarray
    line_quantity: np.ndarray
    line_unit_price: np.ndarray
    line_discount: np.ndarray
    line_gift: np.ndarray
    #: every version of every order, sorted by time: (time, order index, time of its next version)
    event_time: np.ndarray = field(repr=False, default=None)
    event_order: np.ndarray = field(repr=False, default=None)
    event_next: np.ndarray = field(repr=False, default=None)
    #: tracking numbers connectors wrote back (order index → number): shown instead of the generated one
    written_tracking: dict[int, str] = field(repr=False, default_factory=dict)

    def __len__(self) -> int:
        return len(self.seq)

    def line_total(self, positions: np.ndarray) -> np.ndarray:
        """What the buyer pays for the lines at ``positions``: price × quantity − line discount."""
        return self.line_unit_price[positions] * self.line_quantity[positions] - self.line_discount[positions]

    def event_matrix(self, idx: np.ndarray | None = None) -> np.ndarray:
        """The order-by-event time matrix (orders × 8) of ``idx`` (default all orders)."""
        columns = (self.created, self.paid, self.balance_paid, self.shipped, self.completed,
                   self.cancelled, self.refund_requested, self.refunded)
        return np.stack([c if idx is None else c[idx] for c in columns], axis=1)

    def index_events(self) -> None:
        """Build the time-sorted version index the server queries windows with."""
        times = self.event_matrix()
        n, k = times.shape
        order = np.repeat(np.arange(n, dtype=np.int32), k)
        flat = times.ravel()
        keep = flat != NEVER
        order, flat = order[keep], flat[keep]
        by_order = np.lexsort((flat, order))
        order, flat = order[by_order], flat[by_order]
        distinct = np.ones(len(flat), dtype=bool)
        distinct[1:] = (order[1:] != order[:-1]) | (flat[1:] != flat[:-1])
        order, flat = order[distinct], flat[distinct]
        following = np.full(len(flat), NEVER, dtype=np.int64)
        same_order_next = order[1:] == order[:-1]
        following[:-1][same_order_next] = flat[1:][same_order_next]
        by_time = np.argsort(flat, kind="stable")
        self.event_time, self.event_order, self.event_next = flat[by_time], order[by_time], following[by_time]

    def modified_as_of(self, idx: np.ndarray, as_of: int) -> np.ndarray:
        """Latest event time <= as_of for each order in ``idx`` (orders not yet created: NEVER)."""
        times = self.event_matrix(idx)
        visible = np.where(times <= as_of, times, -1)
        latest = visible.max(axis=1)
        return np.where(latest < 0, NEVER, latest)

    def state_as_of(self, idx: np.ndarray, at: np.ndarray | int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(canonical status code, lifecycle code ignoring refunds, refund phase) at ``at``."""
        paid = self.paid[idx] <= at
        balance_due = self.balance_paid[idx] != NEVER
        balance_paid = self.balance_paid[idx] <= at
        lifecycle = np.select(
            [self.cancelled[idx] <= at, self.completed[idx] <= at, self.shipped[idx] <= at,
             paid & (~balance_due | balance_paid), paid & balance_due],
            [wire.CANCELLED, wire.COMPLETED, wire.SHIPPED, wire.PAID, wire.DEPOSIT], default=wire.PENDING)
        refund_phase = np.select([self.refunded[idx] <= at, self.refund_requested[idx] <= at],
                                 [wire.REFUND_DONE, wire.REFUND_OPEN], default=wire.REFUND_NONE)
        status = np.select([(refund_phase == wire.REFUND_DONE) & self.refund_full[idx], refund_phase == wire.REFUND_OPEN],
                           [wire.REFUNDED, wire.REFUNDING], default=lifecycle)
        return status, lifecycle, refund_phase

    def ship(self, i: int, at: int, tracking_no: str, carrier: str) -> bool:
        """A connector confirmed the shipment of order ``i`` at ``at``: from then on it is shipped
        with ``tracking_no`` (and the carrier, when ``carrier`` names one of the sandbox's by
        prefix, name or numeric id). Returns whether the history changed: an order not paid (or
        presale balance not paid), cancelled or already shipped by ``at`` keeps its history, as a
        marketplace ignores a repeated or impossible shipment. Call ``index_events`` afterwards."""
        ready = self.balance_paid[i] if self.balance_paid[i] != NEVER else self.paid[i]
        if ready > at or self.cancelled[i] <= at or self.shipped[i] <= at:
            return False
        carriers = CARRIERS_US if self.shop.currency == "USD" else CARRIERS_CN
        for index, (prefix, name, number) in enumerate(carriers):
            if carrier in (prefix, name, str(number)):
                self.carrier[i] = index
        delay = self.completed[i] - self.shipped[i] if self.completed[i] != NEVER else None
        self.shipped[i] = at
        if delay is not None:
            self.completed[i] = at + delay
        self.written_tracking[i] = tracking_no
        return True

    def request_refund(self, i: int, at: int, settle: bool) -> bool:
        """The buyer asks for a refund of order ``i`` at ``at`` (its first line; the whole order
        when it has one paid line), settled at once when ``settle`` or when the platform has no
        request phase. A full refund settled before shipping closes the order: it never ships.
        Returns whether the history changed (not for an unpaid, cancelled or already refunding
        order). Call ``index_events`` afterwards."""
        if self.paid[i] > at or self.cancelled[i] <= at or self.refund_requested[i] <= at:
            return False
        settled = settle or not wire.TRAITS[self.shop.platform].refund_request_phase
        self.refund_requested[i] = at
        self.refunded[i] = at if settled else NEVER
        if settled and self.refund_full[i] and self.shipped[i] > at:
            self.shipped[i] = self.completed[i] = NEVER
        return True

    def version_history(self, i: int) -> list[tuple[datetime, str]]:
        """Order ``i``'s versions: (modified_at UTC, canonical status) in time order."""
        times = sorted({int(t) for t in self.event_matrix(np.array([i]))[0] if t != NEVER})
        idx = np.array([i])
        return [(datetime.fromtimestamp(t, timezone.utc), wire.STATUS_NAMES[int(self.state_as_of(idx, t)[0][0])])
                for t in times]


@dataclass
class ShopCredentials:
    """What a shop's API client holds. Fake, deterministic from the seed, but secret-looking."""

    app_key: str
    app_secret: str
    access_token: str   # TOP calls it ``session``; Shopify/Amazon use it as the header token
    #: renews the access token (TOP, PDD, Douyin, JD refresh calls; Amazon's LWA refresh token);
    #: Shopify's admin token is never renewed, its refresh token is refused like a wrong one
    refresh_token: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"app_key": self.app_key, "app_secret": self.app_secret, "access_token": self.access_token,
                "session": self.access_token, "refresh_token": self.refresh_token}


def _credentials(seed: int, shop: ShopSpec) -> ShopCredentials:
    def digest(purpose: str) -> str:
        return hashlib.sha256(f"shopops-sandbox:{seed}:{shop.id}:{purpose}".encode()).hexdigest()

    key_digits = str(int(digest("key")[:12], 16))[:8]
    secret, token = digest("secret")[:32], digest("token")
    tokens = {"taobao": f"6100{token[:36]}", "jd": f"{token[:8]}-{token[8:12]}-{token[12:16]}-{token[16:20]}-{token[20:32]}",
              "pdd": token[:32], "douyin": f"{token[:8]}-{token[8:12]}-{token[12:16]}-{token[16:20]}-{token[20:32]}",
              "shopify": f"shpat_{token[:32]}", "amazon": f"Atza|IwEB{token[:48]}"}
    keys = {"jd": key_digits.upper() + digest("key")[:24].upper(), "pdd": digest("key")[:32],
            "shopify": digest("key")[:32], "amazon": f"amzn1.application-oa2-client.{digest('key')[:32]}"}
    refresh = digest("refresh")
    return ShopCredentials(app_key=keys.get(shop.platform, key_digits), app_secret=secret,
                           access_token=tokens[shop.platform],
                           refresh_token=f"Atzr|IwEB{refresh[:48]}" if shop.platform == "amazon" else refresh[:40])


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int, unit: int) -> np.ndarray:
    low, high = bounds
    return (rng.uniform(low, high, n) * unit).astype(np.int64)


def _hourly_counts(scenario: Scenario, rng: np.random.Generator, shop_share: float) -> tuple[np.ndarray, np.ndarray]:
    """(hour start in unix s, order count) over the scenario, following the curve and surges."""
    start = int(scenario.start.timestamp())
    hours = int(np.ceil(scenario.days * 24))
    hour_start = start + np.arange(hours, dtype=np.int64) * HOUR
    offset = pd.Timestamp(scenario.start).tz_convert(scenario.curve_timezone).utcoffset().total_seconds()
    local_hour = ((hour_start + int(offset)) // HOUR) % 24
    curve = np.asarray(scenario.hourly_curve, dtype=float)
    rate = scenario.orders_per_day * shop_share * curve[local_hour] / curve.sum()
    for surge in scenario.surges:
        inside = (hour_start >= surge.start.timestamp()) & (hour_start < surge.end.timestamp())
        rate = np.where(inside, rate * surge.multiplier, rate)
    return hour_start, rng.poisson(rate)


def _generate_shop(scenario: Scenario, shop: ShopSpec, shop_index: int, shop_share: float,
                   catalogue: pd.DataFrame) -> ShopOrders:
    rng = np.random.default_rng([scenario.seed, 2, shop_index])
    traits = wire.TRAITS[shop.platform]
    late = scenario.late_changes
    hour_start, counts = _hourly_counts(scenario, rng, shop_share)
    n = int(counts.sum())
    created = np.repeat(hour_start, counts) + rng.integers(0, HOUR, n)
    created.sort()

    # lifecycle: pay (or abandon), presale balance, ship, complete, refund
    abandoned = (rng.random(n) < scenario.cancellation_rate) if traits.lists_unpaid else np.zeros(n, bool)
    pay_delay = _uniform(rng, late.pay_delay_minutes, n, 60) if traits.lists_unpaid else np.zeros(n, np.int64)
    paid = np.where(abandoned, NEVER, created + pay_delay)
    cancelled = np.where(abandoned, created + _uniform(rng, late.cancel_delay_minutes, n, 60), NEVER)
    presale = ~abandoned & _presale_draw(scenario, shop, shop_index, rng, n)
    balance_paid = np.where(presale, paid + _uniform(rng, late.presale_balance_delay_days, n, DAY), NEVER)
    ready = np.where(presale, balance_paid, paid)
    shipped = np.where(abandoned, NEVER, ready + _uniform(rng, late.ship_delay_hours, n, HOUR))
    completed = np.where(abandoned | (not traits.completes), NEVER, shipped + _uniform(rng, late.complete_delay_days, n, DAY))
    refund_rate = scenario.refund_rate / max(1e-9, 1 - scenario.cancellation_rate) if traits.lists_unpaid else scenario.refund_rate
    refunds = ~abandoned & (rng.random(n) < min(1.0, refund_rate)) & traits.refunds_visible
    refund_requested = np.where(refunds, shipped + _uniform(rng, late.refund_request_delay_days, n, DAY), NEVER)
    settle = _uniform(rng, late.refund_settle_delay_days, n, DAY) if traits.refund_request_phase else 0
    refunded = np.where(refunds, refund_requested + settle, NEVER)

    # lines: paid lines drawn by popularity (distinct SKUs per order), then the gift line
    weights = np.asarray(scenario.line_count_weights) / sum(scenario.line_count_weights)
    paid_lines = rng.choice(np.arange(1, len(weights) + 1), size=n, p=weights)
    has_gift = rng.random(n) < scenario.gift_share
    line_count = (paid_lines + has_gift).astype(np.int16)
    line_start = np.concatenate([[0], np.cumsum(line_count[:-1], dtype=np.int64)])
    total_lines = int(line_count.sum())
    line_order = np.repeat(np.arange(n), line_count)
    position = np.arange(total_lines) - line_start[line_order]
    is_gift_line = has_gift[line_order] & (position == line_count[line_order] - 1)

    sold = catalogue.index[~catalogue["is_gift"]].to_numpy()
    gifts = catalogue.index[catalogue["is_gift"]].to_numpy()
    popularity = catalogue.loc[sold, "popularity"].to_numpy()
    sku = sold[rng.choice(len(sold), size=total_lines, p=popularity / popularity.sum())]
    sku = _distinct_per_order(sku, line_order, is_gift_line, sold)
    sku = np.where(is_gift_line, gifts[rng.integers(0, len(gifts), total_lines)], sku).astype(np.int32)
    quantity = np.where(is_gift_line, 1, rng.choice(np.arange(1, scenario.max_quantity + 1), total_lines,
                        p=_decreasing(scenario.max_quantity))).astype(np.int16)
    price_column = "list_price_usd_minor" if shop.currency == "USD" else "list_price_minor"
    unit_price = catalogue[price_column].to_numpy(np.int64)[sku]
    gross = unit_price * quantity
    discounted = (rng.random(total_lines) < 0.3) & ~is_gift_line & traits.line_discounts
    step = 100 if shop.currency == "CNY" else 1
    line_discount = np.where(discounted, (gross * rng.uniform(0.05, 0.2, total_lines) // step) * step, 0).astype(np.int64)
    lines_sum = np.bincount(line_order, weights=gross - line_discount, minlength=n).astype(np.int64)

    if shop.currency == "CNY":
        post_fee = np.where(rng.random(n) < 0.15, rng.choice([800, 1000, 1200], n), 0)
        coupon = np.where((lines_sum >= 20000) & (rng.random(n) < 0.25), rng.choice([1000, 2000, 5000], n), 0)
    else:
        post_fee = np.where(lines_sum < 5000, 599, 0)
        coupon = np.where((lines_sum >= 10000) & (rng.random(n) < 0.15), 500, 0)
    order_discount = (np.minimum(coupon, lines_sum // 2) if traits.order_discounts else np.zeros(n)).astype(np.int64)

    remark_count = len(BUYER_REMARKS)
    buyer_remark = np.where(rng.random(n) < scenario.remark_share, rng.integers(0, remark_count, n), -1).astype(np.int16)
    seller_remark = np.where(rng.random(n) < scenario.remark_share / 2, rng.integers(0, len(SELLER_REMARKS), n), -1).astype(np.int16)
    carriers = CARRIERS_US if shop.currency == "USD" else CARRIERS_CN
    orders = ShopOrders(
        shop=shop, shop_index=shop_index, seq=np.arange(1, n + 1, dtype=np.int64), created=created, paid=paid,
        balance_paid=balance_paid, shipped=shipped, completed=completed, cancelled=cancelled,
        refund_requested=refund_requested, refunded=refunded, refund_full=(paid_lines == 1),
        buyer=rng.integers(0, scenario.buyers, n).astype(np.int32), post_fee=post_fee.astype(np.int64),
        order_discount=order_discount, buyer_remark=buyer_remark, seller_remark=seller_remark,
        carrier=rng.integers(0, len(carriers), n).astype(np.int8), line_start=line_start, line_count=line_count,
        line_sku=sku, line_quantity=quantity, line_unit_price=unit_price, line_discount=line_discount,
        line_gift=is_gift_line)
    orders.index_events()
    return orders


def _presale_draw(scenario: Scenario, shop: ShopSpec, shop_index: int, rng: np.random.Generator, n: int) -> np.ndarray:
    """Which orders are deposit presales (``scenario.presale_share``; none where the platform has
    no deposit presale). Taobao draws from the shop's main stream, as it always did; PDD and
    Douyin from a stream of their own, so every other draw of their worlds (and every other
    platform's) stays what it was before they had presales."""
    if not wire.TRAITS[shop.platform].presale:
        return np.zeros(n, bool)
    stream = rng if shop.platform == "taobao" else np.random.default_rng([scenario.seed, 4, shop_index])
    return stream.random(n) < scenario.presale_share


def _decreasing(k: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1) ** 2.5
    return weights / weights.sum()


def _distinct_per_order(sku: np.ndarray, line_order: np.ndarray, is_gift: np.ndarray, sold: np.ndarray) -> np.ndarray:
    """Replace repeated SKUs within an order by the next SKU (a buyer adds quantity, not lines)."""
    sku = sku.copy()
    position_in_sold = np.searchsorted(sold, sku)
    for _ in range(20):
        keys = line_order.astype(np.int64) * (len(sold) + 1) + position_in_sold
        keys = np.where(is_gift, -1 - np.arange(len(sku)), keys)
        by_key = np.argsort(keys, kind="stable")
        repeated = np.zeros(len(sku), bool)
        repeated[by_key[1:]] = keys[by_key[1:]] == keys[by_key[:-1]]
        if not repeated.any():
            break
        position_in_sold = np.where(repeated, (position_in_sold + 1) % len(sold), position_in_sold)
    return sold[position_in_sold]


@dataclass
class World:
    """Everything the sandbox marketplace serves, generated once from a scenario."""

    scenario: Scenario
    catalogue: pd.DataFrame
    orders: dict[str, ShopOrders]
    buyers_cn: Buyers
    buyers_us: Buyers
    credentials: dict[str, ShopCredentials]

    @property
    def shops(self) -> list[ShopSpec]:
        return list(self.scenario.shops)

    @property
    def end(self) -> datetime:
        return self.scenario.end

    def shop(self, shop_id: str) -> ShopSpec:
        return self.scenario.shop(shop_id)

    @cached_property
    def catalogue_arrays(self) -> dict[str, np.ndarray]:
        """Catalogue columns as numpy arrays, indexed by catalogue row (fast per-page lookups)."""
        return {column: self.catalogue[column].to_numpy(object) for column in ("sku", "name", "variant")}

    @cached_property
    def listing_id_tables(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per platform: (item id, variant id) strings per catalogue row; Amazon: ASIN and none."""
        item_no, sku_no = self.catalogue["item_no"].to_numpy(), self.catalogue["sku_no"].to_numpy()
        tables = {"amazon": (np.array([wire.asin(int(x)) for x in sku_no], dtype=object),
                             np.full(len(sku_no), None, dtype=object))}
        for platform in ("taobao", "jd", "pdd", "douyin", "shopify"):
            tables[platform] = (np.array([str(wire.item_id(platform, int(x))) for x in item_no], dtype=object),
                                np.array([str(wire.sku_id(platform, int(x))) for x in sku_no], dtype=object))
        return tables

    def buyers_of(self, shop: ShopSpec) -> Buyers:
        return self.buyers_us if shop.currency == "USD" else self.buyers_cn

    def order_count(self) -> int:
        return sum(len(o) for o in self.orders.values())

    def versions_modified_between(self, shop_id: str, start: datetime, end: datetime,
                                  as_of: datetime | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Orders whose current version (as of ``as_of``, default ``end``) was modified in [start, end].

        Returns (order indices, modified unix seconds), oldest modification first. This is
        what an incremental "modified between" API answers at ``as_of``: an order modified in
        the window and again later has moved out of it.
        """
        orders = self.orders[shop_id]
        now = int((as_of or end).timestamp())
        low, high = int(start.timestamp()), min(int(end.timestamp()), now)
        return modified_between(orders, low, high, now)

    def clear_buyer_values(self) -> list[str]:
        """What must never appear in clear where the pipeline writes (the leak scan's ground
        truth): every buyer's name, and the nicks of the Chinese buyers (TOP ``buyer_nick``, JD
        ``pin``; the other platforms send none). E-mail addresses are found by their shape."""
        values = {*self.buyers_cn.name, *self.buyers_cn.nick, *self.buyers_us.name}
        return sorted(str(v) for v in values)

    def credentials_json(self) -> dict[str, dict[str, str]]:
        return {shop_id: {"platform": self.shop(shop_id).platform, **cred.as_dict()}
                for shop_id, cred in self.credentials.items()}

    def ground_truth(self, shop_id: str, as_of: datetime | None = None) -> CanonicalFrames:
        """The shop's orders as a faithful pull at ``as_of`` (default: scenario end) must store them."""
        return canonical_frames(self, self.orders[shop_id], int((as_of or self.end).timestamp()))


def modified_between(orders: ShopOrders, low: int, high: int, now: int) -> tuple[np.ndarray, np.ndarray]:
    """Event-index query behind ``World.versions_modified_between`` (unix seconds, inclusive)."""
    first = np.searchsorted(orders.event_time, low, side="left")
    last = np.searchsorted(orders.event_time, high, side="right")
    current = orders.event_next[first:last] > now
    return orders.event_order[first:last][current], orders.event_time[first:last][current]


def _utc(seconds: np.ndarray) -> pd.Series:
    """Unix seconds (``NEVER`` = missing) → UTC-aware timestamps with NaT."""
    as_float = np.where(seconds == NEVER, np.nan, seconds.astype(float))
    return pd.Series(pd.to_datetime(as_float, unit="s", utc=True))


@dataclass
class OrderColumns:
    """Orders ``idx`` of a shop as they stand at one instant, as arrays (one entry per order,
    per line, per refund). Canonical columns use canonical names with times in unix seconds
    (``NEVER`` when not yet); ``extra`` holds what only the wire formats need."""

    orders: dict[str, np.ndarray]
    lines: dict[str, np.ndarray]
    refunds: dict[str, np.ndarray]
    extra: dict[str, np.ndarray]
    line_order: np.ndarray   # for each line, the position of its order in ``orders``


def _visible(seconds: np.ndarray, as_of: int | np.ndarray) -> np.ndarray:
    return np.where(seconds <= as_of, seconds, NEVER)


def order_columns(world: World, orders: ShopOrders, as_of: int, idx: np.ndarray, with_hashes: bool = True) -> OrderColumns:
    """The single derivation of an order's state: ground truth and HTTP pages both use it
    (pages without the buyer/address hashes, which exist only in the canonical model)."""
    shop = orders.shop
    platform = shop.platform
    status, lifecycle, refund_phase = orders.state_as_of(idx, as_of)
    modified = orders.modified_as_of(idx, as_of)
    numbers = wire.order_numbers(platform, orders.shop_index, orders.seq[idx])
    order_id = wire.order_ids(platform, orders.shop_index, orders.seq[idx], orders.created[idx])
    b = orders.buyer[idx]
    counts = orders.line_count[idx].astype(np.int64)
    line_pos = np.repeat(orders.line_start[idx], counts) + _ranges(counts)
    line_order = np.repeat(np.arange(len(idx)), counts)
    line_total = orders.line_total(line_pos)
    lines_sum = np.bincount(line_order, weights=line_total, minlength=len(idx)).astype(np.int64)
    shipped = _visible(orders.shipped[idx], as_of)
    shipped_visible = shipped != NEVER
    carriers = CARRIERS_US if shop.currency == "USD" else CARRIERS_CN
    paid = _visible(orders.paid[idx], as_of)
    has_deadline = platform in ("pdd", "amazon")
    order_cols = {
        "order_id": order_id,
        "status": np.array(wire.STATUS_NAMES, dtype=object)[status],
        "platform_status": wire.platform_status(platform, status, lifecycle, refund_phase),
        "total_minor": lines_sum + orders.post_fee[idx] - orders.order_discount[idx],
        "post_fee_minor": orders.post_fee[idx], "discount_minor": orders.order_discount[idx],
        "tax_minor": np.zeros(len(idx), dtype=np.int64),   # prices are tax-inclusive everywhere here
        "created_at": orders.created[idx], "paid_at": paid, "modified_at": modified, "shipped_at": shipped,
        "ship_by_at": np.where((paid != NEVER) & has_deadline, orders.paid[idx] + 2 * DAY, NEVER),
        "is_presale": orders.balance_paid[idx] != NEVER,
        "presale_balance_paid": orders.balance_paid[idx] <= as_of,
        **delivered_pii(platform, world.buyers_of(shop), b, with_hashes),
        "buyer_remark": _pick(BUYER_REMARKS, orders.buyer_remark[idx]),
        "seller_remark": _pick(SELLER_REMARKS, orders.seller_remark[idx]),
        "carrier": np.where(shipped_visible, carrier_values(platform, carriers)[orders.carrier[idx]], None),
        "tracking_no": np.where(shipped_visible & (platform != "amazon"), tracking_numbers(orders, idx, as_of), None),
        "line_count": counts,
    }
    line_no = _ranges(counts) + 1
    sku_rows = orders.line_sku[line_pos]
    item_table, variant_table = world.listing_id_tables[platform]
    catalogue = world.catalogue_arrays
    line_refund_phase = np.where(line_no == 1, refund_phase[line_order], wire.REFUND_NONE)
    line_cols = {
        "order_id": order_id[line_order], "line_no": line_no,
        "line_id": line_id_strings(platform, numbers[line_order], line_no, line_pos, sku_rows, world),
        "sku": catalogue["sku"][sku_rows],
        "marketplace_item_id": item_table[sku_rows], "marketplace_sku_id": variant_table[sku_rows],
        "title": catalogue["name"][sku_rows], "variant": catalogue["variant"][sku_rows],
        "quantity": orders.line_quantity[line_pos].astype(np.int64),
        "unit_price_minor": orders.line_unit_price[line_pos], "line_total_minor": line_total,
        "discount_minor": orders.line_discount[line_pos],
        "is_gift": orders.line_gift[line_pos],
        "refund_status": np.array(wire.LINE_REFUND_STATUS[platform], dtype=object)[line_refund_phase],
    }
    refunding = refund_phase != wire.REFUND_NONE
    first_line = orders.line_start[idx][refunding]
    refund_cols = {
        "refund_id": wire.refund_ids(platform, order_id[refunding], numbers[refunding]),
        "order_id": order_id[refunding],
        "line_id": line_id_strings(platform, numbers[refunding], np.ones(len(first_line), np.int64), first_line,
                                   orders.line_sku[first_line], world),
        "sku": catalogue["sku"][orders.line_sku[first_line]],
        "quantity": orders.line_quantity[first_line].astype(np.int64),
        "amount_minor": orders.line_total(first_line),
        "status": np.where(refund_phase[refunding] == wire.REFUND_DONE, "refunded", "refunding").astype(object),
        "created_at": orders.refund_requested[idx][refunding], "modified_at": modified[refunding],
    }
    extra = {
        "order_number": numbers, "seq": orders.seq[idx], "buyer": b, "postcode": world.buyers_of(shop).postcode[b], "status_code": status, "lifecycle_code": lifecycle,
        "refund_phase": refund_phase, "refunding": refunding,
        "refunded_at": _visible(orders.refunded[idx], as_of),
        "completed_at": _visible(orders.completed[idx], as_of),
        "cancelled_at": _visible(orders.cancelled[idx], as_of),
        "balance_paid_at": _visible(orders.balance_paid[idx], as_of),
        "carrier_name": np.array([c[1] for c in carriers], dtype=object)[orders.carrier[idx]],
        "carrier_id": np.array([c[2] for c in carriers], dtype=np.int64)[orders.carrier[idx]],
        "line_global": line_pos, "line_catalogue_row": sku_rows, "line_refund_phase": line_refund_phase,
    }
    return OrderColumns(order_cols, line_cols, refund_cols, extra, line_order)


def canonical_frames(world: World, orders: ShopOrders, as_of: int, idx: np.ndarray | None = None) -> CanonicalFrames:
    """Canonical orders, lines and refunds of ``orders[idx]`` as they stand at ``as_of``."""
    if idx is None:
        idx = np.nonzero(orders.created <= as_of)[0]
    cols = order_columns(world, orders, as_of, idx)
    shop = orders.shop
    constant = {"platform": shop.platform, "shop_id": shop.id, "currency": shop.currency}
    time_columns = ("created_at", "paid_at", "modified_at", "shipped_at", "ship_by_at")
    o = pd.DataFrame({**constant, **{k: (_utc(v) if k in time_columns else v) for k, v in cols.orders.items()}})
    lines = pd.DataFrame({**constant, **cols.lines})
    refunds = pd.DataFrame({**constant, **{k: (_utc(v) if k.endswith("_at") else v) for k, v in cols.refunds.items()}})
    return CanonicalFrames(orders=o[list(ORDER_COLUMNS)], lines=lines[list(LINE_COLUMNS)],
                           refunds=refunds[list(REFUND_COLUMNS)])


def _ranges(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count, concatenated (vectorised ``np.concatenate([arange(c) …])``)."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum()), dtype=np.int64) - starts


def _pick(texts: tuple[str, ...], index: np.ndarray) -> np.ndarray:
    table = np.array([*texts, None], dtype=object)
    return table[np.where(index < 0, len(texts), index)]


def line_id_strings(platform: str, order_number: np.ndarray, line_no: np.ndarray, global_line: np.ndarray,
                    sku_rows: np.ndarray, world: World) -> np.ndarray:
    """Canonical ``line_id``: the platform's line id; JD and PDD have none, so their skuId."""
    if platform in ("jd", "pdd"):
        return world.listing_id_tables[platform][1][sku_rows]
    return wire.line_numbers(platform, order_number, line_no, global_line).astype(str).astype(object)


def carrier_values(platform: str, carriers: tuple) -> np.ndarray:
    """Canonical ``carrier`` is what the platform sends: the name (TOP, Douyin, Shopify), the
    numeric logistics id as a string (JD ``logisticsId``, PDD ``logistics_id``), nothing for
    Amazon (getOrders carries no shipment details)."""
    if platform == "amazon":
        return np.full(len(carriers), None, dtype=object)
    if platform in ("jd", "pdd"):
        return np.array([str(c[2]) for c in carriers], dtype=object)
    return np.array([c[1] for c in carriers], dtype=object)


def tracking_numbers(orders: ShopOrders, idx: np.ndarray, as_of: int) -> np.ndarray:
    """The generated number, or the one a connector wrote back (``ShopOrders.ship``) once that
    shipment has happened by ``as_of``."""
    carriers = CARRIERS_US if orders.shop.currency == "USD" else CARRIERS_CN
    prefix = np.array([c[0] for c in carriers], dtype=object)[orders.carrier[idx]]
    digits = (orders.seq[idx] * 982_451_653 + orders.shop_index * 7_777) % 10**12
    numbers = np.array([f"{p}{d:012d}" for p, d in zip(prefix, digits.tolist())], dtype=object)
    if orders.written_tracking:
        for n, i in enumerate(idx.tolist()):
            if i in orders.written_tracking and orders.shipped[i] <= as_of:
                numbers[n] = orders.written_tracking[i]
    return numbers


def delivered_pii(platform: str, buyers: Buyers, b: np.ndarray, with_hashes: bool = True) -> dict[str, np.ndarray]:
    """Buyer columns of buyers ``b`` as a normaliser can derive them from what the platform
    sends: masked values, and (``with_hashes``) hashes of the opaque buyer id and of the
    masked address — the payload renderers never need the hashes, so pages skip them."""
    n = len(b)
    none = np.full(n, None, dtype=object)
    if platform == "amazon":   # the Orders API gives only city/state/postcode without PII roles
        columns = {"buyer_nick_masked": none, "receiver_name_masked": none, "receiver_phone_masked": none,
                   "province": buyers.province[b], "city": buyers.city[b], "district": none, "address_masked": none}
        address_parts = zip(buyers.province[b], buyers.city[b], buyers.postcode[b])
    else:
        district = buyers.district[b]
        columns = {
            "buyer_nick_masked": np.array([wire.mask_name(x) for x in buyers.nick[b]], dtype=object)
            if wire.TRAITS[platform].sends_nick else none,
            "receiver_name_masked": np.array([wire.mask_name(x) for x in buyers.name[b]], dtype=object),
            "receiver_phone_masked": np.array([wire.mask_phone(x) for x in buyers.phone[b]], dtype=object),
            "province": buyers.province[b], "city": buyers.city[b],
            "district": np.where(district == "", None, district),
            "address_masked": buyers.street[b] + "***",
        }
        address_parts = zip(buyers.province[b], buyers.city[b], columns["address_masked"])
    if with_hashes:
        columns["buyer_key"] = np.array([wire.stable_hash(platform, buyer_open_id(platform, int(x))) for x in b],
                                        dtype=object)
        columns["address_hash"] = np.array([wire.stable_hash(*parts) for parts in address_parts], dtype=object)
    return columns


@lru_cache(maxsize=1 << 20)
def buyer_open_id(platform: str, buyer: int) -> str:
    """The buyer id the platform sends: TOP ``buyer_open_uid``, JD ``open_id_buyer``, PDD
    ``open_id``, Douyin ``doudian_open_id``, Shopify ``customer.id``, Amazon ``BuyerEmail``;
    ``buyer_key`` is ``wire.stable_hash(platform, that id)``."""
    if platform == "shopify":
        return str(wire.SHOPIFY_CUSTOMER_BASE + buyer)
    if platform == "amazon":
        return buyer_email(buyer)
    return f"{platform[:2].upper()}{hashlib.md5(f'{platform}:{buyer}'.encode()).hexdigest()[:20]}"


@lru_cache(maxsize=1 << 20)
def address_open_id(platform: str, buyer: int) -> str:
    """The merge identity the platform sends for a buyer's (one) address, the same on each of
    their orders and different for another address: TOP ``oaid`` (Open Addressee ID, bububa/
    opentaobao ``model/trade/Trade.go``), PDD ``open_address_id`` ("合单ID", open.pinduoduo.com
    order documents; ``pdd.order.merge.ship.order.group``: the same id merges directly)."""
    return f"{platform[:2].upper()}OA{hashlib.md5(f'{platform}-address:{buyer}'.encode()).hexdigest()[:24]}"


@lru_cache(maxsize=1 << 20)
def buyer_email(buyer: int) -> str:
    """Amazon's relay address for a buyer (the only buyer id getOrders gives)."""
    return f"{hashlib.md5(f'amazon:{buyer}'.encode()).hexdigest()[:16]}@marketplace.amazon.com"



def generate(scenario: Scenario | str | Path) -> World:
    """Build the world of ``scenario`` (a Scenario, a scenario name or a path). Deterministic."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    catalogue = build_catalogue(scenario.seed)
    total_weight = sum(s.volume_weight for s in scenario.shops)
    orders = {shop.id: _generate_shop(scenario, shop, i, shop.volume_weight / total_weight, catalogue)
              for i, shop in enumerate(scenario.shops)}
    rng = np.random.default_rng([scenario.seed, 3])
    return World(scenario=scenario, catalogue=catalogue, orders=orders,
                 buyers_cn=_chinese_buyers(rng, scenario.buyers), buyers_us=_us_buyers(rng, scenario.buyers),
                 credentials={s.id: _credentials(scenario.seed, s) for s in scenario.shops})
