"""Per-platform conventions shared by the ground truth and the HTTP renderers.

The ground truth is canonical, but some canonical values *are* platform values: the order
and line ids, the platform's own status string, the refund id. Both the generator (when it
answers ``ground_truth``) and the renderers (when they write a payload) take them from here,
so the two can never disagree. All functions work on numpy arrays (whole shops at once).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from domain.canonical import OrderStatus

#: canonical statuses as small integer codes (the generator's arrays hold codes)
STATUS_NAMES: tuple[str, ...] = tuple(s.value for s in OrderStatus)
CODE = {name: code for code, name in enumerate(STATUS_NAMES)}
PENDING, PAID, DEPOSIT, SHIPPED, COMPLETED, CANCELLED, REFUNDING, REFUNDED = (
    CODE[s] for s in ("pending_payment", "paid", "presale_deposit_paid", "shipped", "completed",
                      "cancelled", "refunding", "refunded"))

#: line refund phases the generator uses: none, open (requested), done (refunded)
REFUND_NONE, REFUND_OPEN, REFUND_DONE = 0, 1, 2


@dataclass(frozen=True)
class PlatformTraits:
    """What a marketplace's order API can show, which shapes what the generator produces."""

    presale: bool               # deposit presale (定金预售) exists (Tmall/Taobao, PDD trade_type 1, Douyin trade_type 2)
    lists_unpaid: bool          # unpaid orders (and their cancellation) appear in the order API
    refund_request_phase: bool  # a refund is requested, then settled (Shopify refunds at once)
    completes: bool             # orders reach a "completed/finished" state (Amazon stays Shipped)
    refunds_visible: bool       # refunds show in the order API (Amazon: only in Finances)
    order_discounts: bool = True  # an order-level discount is expressible (Amazon: per item only)
    line_discounts: bool = True   # a per-line discount is expressible (PDD: order level only)
    sends_nick: bool = True       # a buyer nick is sent (TOP buyer_nick, JD pin)


TRAITS: dict[str, PlatformTraits] = {
    "taobao": PlatformTraits(presale=True, lists_unpaid=True, refund_request_phase=True, completes=True, refunds_visible=True),
    "jd": PlatformTraits(presale=False, lists_unpaid=False, refund_request_phase=True, completes=True, refunds_visible=True),
    "pdd": PlatformTraits(presale=True, lists_unpaid=False, refund_request_phase=True, completes=True, refunds_visible=True,
                          line_discounts=False, sends_nick=False),
    "douyin": PlatformTraits(presale=True, lists_unpaid=True, refund_request_phase=True, completes=True, refunds_visible=True,
                             sends_nick=False),
    "shopify": PlatformTraits(presale=False, lists_unpaid=True, refund_request_phase=False, completes=True, refunds_visible=True,
                              sends_nick=False),
    "amazon": PlatformTraits(presale=False, lists_unpaid=True, refund_request_phase=False, completes=False, refunds_visible=False,
                             order_discounts=False, sends_nick=False),
}

# --- ids --------------------------------------------------------------------------------------

TAOBAO_TID_BASE = 2_000_000_000_000_000_000   # > 2**53: must never pass through float
DOUYIN_ORDER_BASE = 6_920_000_000_000_000_000
JD_ORDER_BASE = 300_000_000_000
SHOPIFY_ORDER_BASE = 5_900_000_000_000
SHOPIFY_LINE_BASE = 13_000_000_000_000
SHOPIFY_CUSTOMER_BASE = 7_300_000_000_000
SHOPIFY_LOCATION_ID = 65_000_000_000
AMAZON_ITEM_BASE = 50_000_000_000_000
MARKETPLACE_ID_US = "ATVPDKIKX0DER"


def order_numbers(platform: str, shop_index: int, seq: np.ndarray) -> np.ndarray:
    """The platform's numeric order id (int64) where it has one; Amazon/PDD build strings."""
    seq = seq.astype(np.int64)
    if platform == "taobao":
        return TAOBAO_TID_BASE + shop_index * 10**16 + seq * 1009
    if platform == "douyin":
        return DOUYIN_ORDER_BASE + shop_index * 10**15 + seq * 100
    if platform == "jd":
        return JD_ORDER_BASE + shop_index * 10**10 + seq * 7
    if platform == "shopify":
        return SHOPIFY_ORDER_BASE + shop_index * 10**11 + seq * 13
    return seq  # pdd, amazon: see order_ids


def order_ids(platform: str, shop_index: int, seq: np.ndarray, created_s: np.ndarray) -> np.ndarray:
    """Canonical ``order_id`` strings, exactly as the platform writes its order id."""
    if platform == "pdd":
        day = (created_s + 8 * 3600).astype("datetime64[s]").astype("datetime64[D]").astype(str)
        tail = seq.astype(np.int64) * 7919 + shop_index * 10**13 + 10**14
        return np.array([f"{d[2:4]}{d[5:7]}{d[8:10]}-{t}" for d, t in zip(day, tail)], dtype=object)
    if platform == "amazon":
        a = 111 + shop_index
        b = (seq.astype(np.int64) * 7919 + 1_234_567) % 10**7
        c = (seq.astype(np.int64) * 104_729 + 7_654_321) % 10**7
        return np.array([f"{a}-{x:07d}-{y:07d}" for x, y in zip(b, c)], dtype=object)
    return order_numbers(platform, shop_index, seq).astype(str).astype(object)


def line_numbers(platform: str, order_number: np.ndarray, line_no: np.ndarray, global_line: np.ndarray) -> np.ndarray:
    """Numeric line ids for platforms that number their lines (TOP oid, Douyin sku_order_id …)."""
    if platform in ("taobao", "douyin"):
        return order_number + line_no
    if platform == "shopify":
        return SHOPIFY_LINE_BASE + global_line * 3
    if platform == "amazon":
        return AMAZON_ITEM_BASE + global_line * 11
    raise ValueError(f"{platform} has no numeric line ids")


def refund_ids(platform: str, order_id: np.ndarray, order_number: np.ndarray) -> np.ndarray:
    """One refund per refunded order: its id as the platform shows it."""
    if platform == "taobao":
        return (order_number + 500).astype(str).astype(object)
    if platform == "shopify":
        return (order_number + 7).astype(str).astype(object)
    return np.array([f"{o}-R1" for o in order_id], dtype=object)


# --- listing ids (per SKU, per platform) ------------------------------------------------------

def item_id(platform: str, item_no: int) -> int:
    """A product listing's id: num_iid, wareId, goods_id, product_id …"""
    return {"taobao": 600_000_000_000, "jd": 100_000_000, "pdd": 300_000_000_000, "douyin": 3_500_000_000_000_000_000,
            "shopify": 7_600_000_000_000, "amazon": 0}[platform] + item_no * 101


def sku_id(platform: str, sku_no: int) -> int:
    """A variant's id: sku_id, skuId, variant_id (Shopify), also the inventory_item_id seed."""
    return {"taobao": 5_000_000_000_000, "jd": 10_000_000_000, "pdd": 1_200_000_000_000, "douyin": 1_700_000_000_000_000_000,
            "shopify": 44_000_000_000_000, "amazon": 0}[platform] + sku_no * 37


def asin(sku_no: int) -> str:
    return f"B0SBX{sku_no:05d}"


# --- statuses ---------------------------------------------------------------------------------

_LIFECYCLE_STATUS = {
    "taobao": {PENDING: "WAIT_BUYER_PAY", DEPOSIT: "WAIT_BUYER_PAY", PAID: "WAIT_SELLER_SEND_GOODS",
               SHIPPED: "WAIT_BUYER_CONFIRM_GOODS", COMPLETED: "TRADE_FINISHED", CANCELLED: "TRADE_CLOSED_BY_TAOBAO"},
    "jd": {PAID: "WAIT_SELLER_STOCK_OUT", SHIPPED: "WAIT_GOODS_RECEIVE_CONFIRM", COMPLETED: "FINISHED_L"},
    "pdd": {DEPOSIT: "1", PAID: "1", SHIPPED: "2", COMPLETED: "3"},   # a deposit order: step_order_info says which
    "douyin": {PENDING: "1", DEPOSIT: "103", PAID: "2", SHIPPED: "3", COMPLETED: "5", CANCELLED: "4"},  # main_status
    "shopify": {PENDING: "pending", PAID: "paid", SHIPPED: "paid", COMPLETED: "paid", CANCELLED: "voided"},
    "amazon": {PENDING: "Pending", PAID: "Unshipped", SHIPPED: "Shipped", COMPLETED: "Shipped", CANCELLED: "Canceled"},
}
#: platform status of an order whose every paid line was refunded
_FULLY_REFUNDED_STATUS = {"taobao": "TRADE_CLOSED", "jd": "TRADE_CANCELED", "douyin": "4", "shopify": "refunded"}
#: JD locks an order under an open after-sale; the others keep the lifecycle status
_REFUNDING_STATUS = {"jd": "LOCKED"}

#: per-line refund status values: (no refund, refund open, refunded)
LINE_REFUND_STATUS = {
    "taobao": ("NO_REFUND", "WAIT_SELLER_AGREE", "SUCCESS"),
    "jd": ("0", "1", "2"),
    "pdd": ("1", "3", "4"),
    "douyin": ("0", "1", "3"),
    "shopify": ("", "", "refunded"),
    "amazon": ("", "", ""),
}


def platform_status(platform: str, status: np.ndarray, lifecycle: np.ndarray, refund_phase: np.ndarray) -> np.ndarray:
    """The platform's own order status string for each canonical (status, lifecycle) pair.

    ``lifecycle`` is the status ignoring refunds; platforms other than JD keep showing it
    while a refund is open. Shopify partial refunds show ``partially_refunded``; PDD carries
    refunds only in ``refund_status`` so its order status is the lifecycle one.
    """
    table = _LIFECYCLE_STATUS[platform]
    out = np.array([table.get(int(c), "") for c in range(len(STATUS_NAMES))], dtype=object)[lifecycle]
    if platform in _REFUNDING_STATUS:
        out = np.where(status == REFUNDING, _REFUNDING_STATUS[platform], out)
    if platform in _FULLY_REFUNDED_STATUS:
        out = np.where(status == REFUNDED, _FULLY_REFUNDED_STATUS[platform], out)
    if platform == "shopify":
        out = np.where((refund_phase == REFUND_DONE) & (status != REFUNDED), "partially_refunded", out)
    return out.astype(object)


def presale_deposit(total_minor: int) -> int:
    """The deposit (定金) of a presale order of ``total_minor``: a fifth, the rest is the balance
    (尾款). A sandbox convention every renderer shares (TOP ``step_paid_fee``, PDD
    ``advanced_paid_fee``, Douyin's first ``order_phase_list`` phase)."""
    return int(total_minor) // 5


# --- buyer PII as the platforms deliver it ---------------------------------------------------

def mask_phone(phone: str) -> str:
    """138****5678: the first 3 and last 4 digits (rules.yaml privacy)."""
    digits = phone if phone.isdigit() else "".join(ch for ch in phone if ch.isdigit())
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


def mask_name(name: str) -> str:
    """张** / B**: the first character only."""
    return f"{name[:1]}**" if name else ""


def ciphertext(kind: str, clear: str, secret: str, platform: str = "pdd") -> str:
    """An encrypted PII field as the platform sends it: PDD ``~AgAAAAE…~``, Douyin ``#…#``
    (``$…$`` for phones). Deterministic, and deliberately not decryptable."""
    digest = hashlib.sha256(f"{secret}:{kind}:{clear}".encode()).hexdigest()
    if platform == "douyin":
        mark = "$" if kind == "phone" else "#"
        return f"{mark}{digest[:44]}{mark}"
    return f"~AgAAAAE{digest[:40]}~{kind[:1]}~"


def stable_hash(*parts: str) -> str:
    """The sandbox's buyer_key / address_hash: a one-way hash of what the platform delivers."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]
