"""The canonical order model every platform's payload is normalised into.

This is the contract between the connectors' normalisers (which produce it) and the
warehouse repository (which stores it). Columns are listed once here; both sides import them.

Conventions (domain-rules.md §1):
- money is integer minor units (fen, cents) in ``*_minor`` columns plus a ``currency`` code;
- times are timezone-aware UTC ``datetime`` values; the shop's zone is kept on the shop;
- ids are strings (Taobao ``tid``/``oid`` exceed 2**53 and must never pass through float);
- buyer PII arrives masked (or as platform ciphertext) and is stored only masked;
  ``buyer_key`` and ``address_hash`` are stable one-way hashes used to merge orders and
  count repeat buyers without keeping the clear value.
"""
from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    PRESALE_DEPOSIT_PAID = "presale_deposit_paid"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDING = "refunding"
    REFUNDED = "refunded"


CANONICAL_STATUSES: frozenset[str] = frozenset(s.value for s in OrderStatus)

PLATFORMS: tuple[str, ...] = ("taobao", "jd", "pdd", "douyin", "shopify", "amazon", "file")

#: key of an order: (platform, shop, order id)
ORDER_KEY: tuple[str, ...] = ("platform", "shop_id", "order_id")

ORDER_COLUMNS: tuple[str, ...] = (
    "platform", "shop_id", "order_id",
    "status",              # canonical, one of CANONICAL_STATUSES
    "platform_status",     # the marketplace's own value, kept for audit
    "currency",            # ISO 4217
    "total_minor",         # what the buyer pays for the order, post fee included
    "post_fee_minor",
    "discount_minor",      # order-level discount not already allocated to lines
    "tax_minor",           # order-level tax not already inside line totals or the post fee
    "created_at", "paid_at", "modified_at",   # UTC; modified_at drives "newest wins"
    "shipped_at", "ship_by_at",                # ship_by_at: marketplace deadline if given
    "is_presale", "presale_balance_paid",
    "buyer_key", "buyer_nick_masked",
    "receiver_name_masked", "receiver_phone_masked",
    "province", "city", "district", "address_masked", "address_hash",
    "buyer_remark", "seller_remark",
    "carrier", "tracking_no",
    "line_count",
)

#: key of an order line: (platform, shop, order id, line number from 1)
LINE_KEY: tuple[str, ...] = ("platform", "shop_id", "order_id", "line_no")

LINE_COLUMNS: tuple[str, ...] = (
    "platform", "shop_id", "order_id", "line_no",
    "line_id",             # the platform's own line id (oid, sku_order_id, OrderItemId …)
    "sku",                 # our SKU (the seller's outer id), may be unknown → quarantine
    "marketplace_item_id", "marketplace_sku_id",
    "title", "variant",
    "quantity",
    "unit_price_minor",    # list price per unit
    "line_total_minor",    # what the buyer pays for this line after line discounts
    "discount_minor",
    "currency",
    "is_gift",
    "refund_status",       # platform value, e.g. NO_REFUND, SUCCESS
)

REFUND_KEY: tuple[str, ...] = ("platform", "shop_id", "refund_id")

REFUND_COLUMNS: tuple[str, ...] = (
    "platform", "shop_id", "refund_id", "order_id",
    "line_id", "sku", "quantity",
    "amount_minor", "currency",
    "status",              # requested | refunding | refunded | rejected | closed
    "created_at", "modified_at",
)


from dataclasses import dataclass, field  # noqa: E402

import pandas as pd  # noqa: E402


def empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass
class CanonicalFrames:
    """A batch of canonical orders with their lines and refunds (columns as above).

    Produced by ``domain.normalise`` from one page (or many) of raw platform records; consumed
    by validation and by ``warehouse.repository``. Frames may be empty but always carry the
    canonical columns.
    """

    orders: pd.DataFrame = field(default_factory=lambda: empty_frame(ORDER_COLUMNS))
    lines: pd.DataFrame = field(default_factory=lambda: empty_frame(LINE_COLUMNS))
    refunds: pd.DataFrame = field(default_factory=lambda: empty_frame(REFUND_COLUMNS))

    def __len__(self) -> int:
        return len(self.orders)
