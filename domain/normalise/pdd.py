"""Pinduoduo orders (``pdd.order.number.list.increment.get``).

Money arrives as **float yuan** (``12.5``): each value goes through ``Decimal(repr(x))``
(``domain.money``), never float arithmetic. Receiver fields are PDD ciphertext: stored as
the ciphertext marker (or PDD's own ``*_mask`` values when present), hashed for matching.
Refund status is per order: the refund row carries the order's payment once refunded.

Fields read as PDD documents them (``pdd.order.number.list.increment.get`` /
``pdd.order.information.get``): ``trade_type`` 1 is a deposit (presale) order whose
``step_order_info.step_trade_status`` says 0 deposit unpaid / 1 deposit paid, balance unpaid /
2 both paid; ``gift_list`` holds the gifts (lines to pick, free); ``confirm_status`` 0 not
concluded / 1 concluded / 2 cancelled and ``group_status`` 0 grouping / 1 grouped / 2 failed (a
cancelled or failed group order is not a sale, one still grouping not yet); the street is
``receiver_address`` (current) or ``address`` (older documents, fixtures p1–p3).
"""
from __future__ import annotations

from domain.canonical import CanonicalFrames, OrderStatus
from domain.money import major_to_minor
from domain.normalise._common import (order_id_of, REFUNDED, REFUNDING, derived_order_discount, line_row,
                                      order_row, overlay_refunds, refund_row, text_or_none, to_frames,
                                      unknown_status)
from domain.pii import (address_identity, clear_identity, mask_address, mask_name, mask_phone, mask_text, protect_name,
                        protect_phone, stable_hash)
from domain.timeutil import parse_beijing

PLATFORM = "pdd"

#: where PDD orders carry buyer data (``pdd.order.number.list.increment.get`` /
#: ``pdd.order.information.get`` fields; the documentation examples p1–p3 show ``receiver_name``,
#: ``receiver_phone`` and ``address`` in clear), masked before a raw page or a quarantined record is
#: stored (``domain.pii.mask_pii_payload``, issue 18 #12); PDD ciphertext is kept as sent. The
#: ``*_mask`` fields are PDD's own masked copies.
PII_PATHS = {
    "**.receiver_name": "name", "**.receiver_phone": "phone", "**.receiver_address": "street",
    "**.address": "street", "**.id_card_name": "name", "**.id_card_num": "id", "**.card_no": "id",
    "**.mask_password": "id", "**.buyer_memo": "text", "**.remark": "text",
}

ORDER_STATUS = {1: OrderStatus.PAID, 2: OrderStatus.SHIPPED, 3: OrderStatus.COMPLETED}
#: order ``refund_status``: 1 none / 2 after-sale in progress / 3 refunding / 4 refunded
REFUND_STATUS = {2: REFUNDING, 3: REFUNDING, 4: REFUNDED}
TRADE_TYPE_DEPOSIT = 1
#: ``step_order_info.step_trade_status``: deposit unpaid / deposit paid, balance unpaid / all paid
STEP_NOTHING_PAID, STEP_DEPOSIT_PAID, STEP_ALL_PAID = 0, 1, 2
#: ``confirm_status`` (成交状态) and ``group_status`` (成团状态)
CONFIRM_PENDING, CONFIRM_CANCELLED = 0, 2
GROUP_FORMING, GROUP_FAILED = 0, 2


def normalise(records: list[dict], shop_id: str, hash_key: bytes | str) -> CanonicalFrames:
    orders, lines, refunds = [], [], []
    for record in records:
        order_id = order_id_of(record, "order_sn")
        line_totals, line_refunds = [], []
        items = [(item, False) for item in record.get("item_list") or []] + \
            [(gift, True) for gift in record.get("gift_list") or []]
        for line_no, (item, is_gift) in enumerate(items, start=1):
            quantity = int(item.get("goods_count") or 0)
            unit_price = major_to_minor(item.get("goods_price"))
            gross = unit_price * quantity if unit_price is not None else None
            line_total = 0 if is_gift else gross    # a gift is picked and packed, never paid for
            line_totals.append(line_total)
            if not is_gift:
                item_refund = item.get("refund_status", record.get("refund_status"))
                line_refunds.append((item, line_total, REFUND_STATUS.get(_int(item_refund))))
            else:
                item_refund = None
            lines.append(line_row(
                platform=PLATFORM, shop_id=shop_id, order_id=order_id, line_no=line_no,
                line_id=text_or_none(item.get("sku_id")), sku=item.get("outer_id") or None,
                marketplace_item_id=text_or_none(item.get("goods_id")),
                marketplace_sku_id=text_or_none(item.get("sku_id")),
                title=item.get("goods_name"), variant=item.get("goods_spec"), quantity=quantity,
                unit_price_minor=unit_price, line_total_minor=line_total,
                discount_minor=(gross or 0) if is_gift else 0,
                currency="CNY", is_gift=is_gift, refund_status=text_or_none(item_refund),
            ))
        platform_status = record.get("order_status")
        status = ORDER_STATUS.get(_int(platform_status)) or unknown_status(platform_status)
        status, is_presale, balance_paid = _presale(record, status)
        status = _concluded(record, status)
        total = major_to_minor(record.get("pay_amount"))
        post_fee = major_to_minor(record.get("postage"))
        modified = parse_beijing(record.get("updated_at"))
        per_item = any("refund_status" in item for item, _, _ in line_refunds)
        if per_item:  # items say which of them are refunded: a partial refund stays partial
            states = [state for _, _, state in line_refunds]
            if any(states):
                status = overlay_refunds(status, states)
            for item, line_total, state in line_refunds:
                if state:
                    refunds.append(refund_row(
                        platform=PLATFORM, shop_id=shop_id, refund_id=f"{order_id}:{item.get('sku_id')}",
                        order_id=order_id, line_id=text_or_none(item.get("sku_id")), sku=item.get("outer_id") or None,
                        quantity=int(item.get("goods_count") or 0),
                        amount_minor=line_total if state == REFUNDED else None, currency="CNY",
                        status=state, created_at=modified, modified_at=modified,
                    ))
        elif refund_state := REFUND_STATUS.get(_int(record.get("refund_status"))):
            status = overlay_refunds(status, [refund_state])
            refunds.append(refund_row(
                platform=PLATFORM, shop_id=shop_id, refund_id=f"{order_id}:refund", order_id=order_id,
                amount_minor=total if refund_state == REFUNDED else None, currency="CNY",
                status=refund_state, created_at=modified, modified_at=modified,
            ))
        province, city, district = record.get("province"), record.get("city"), record.get("town")
        address = record.get("receiver_address") or record.get("address")
        orders.append(order_row(
            platform=PLATFORM, shop_id=shop_id, order_id=order_id, status=status,
            platform_status=text_or_none(platform_status), currency="CNY",
            total_minor=total, post_fee_minor=post_fee,
            discount_minor=derived_order_discount(total, post_fee, line_totals),
            created_at=parse_beijing(record.get("created_time")), paid_at=parse_beijing(record.get("pay_time")),
            modified_at=modified, shipped_at=parse_beijing(record.get("shipping_time")),
            ship_by_at=parse_beijing(record.get("last_ship_time")),
            is_presale=is_presale, presale_balance_paid=balance_paid,
            buyer_key=stable_hash(record.get("open_id") or clear_identity(record.get("receiver_phone")), hash_key),
            receiver_name_masked=mask_name(record.get("receiver_name_mask")) or protect_name(record.get("receiver_name")),
            receiver_phone_masked=mask_phone(record.get("receiver_phone_mask")) or protect_phone(record.get("receiver_phone")),
            province=province, city=city, district=district,
            address_masked=mask_address(address, province, city, district),
            address_hash=stable_hash(address_identity(record.get("open_address_id"), province, city, district,
                                                      address), hash_key),
            buyer_remark=mask_text(record.get("buyer_memo")), seller_remark=mask_text(record.get("remark")),
            carrier=_carrier(record.get("logistics_id")), tracking_no=text_or_none(record.get("tracking_number")),
            line_count=len(line_totals),
        ))
    return to_frames(orders, lines, refunds)


def _presale(record: dict, status: str) -> tuple[str, bool, bool | None]:
    """(status, is presale, balance paid) of a deposit order (``trade_type`` 1) from its
    ``step_order_info.step_trade_status``; without that, a paid deposit order is taken as
    deposit-only (it must not ship) and a shipped one as paid in full."""
    if _int(record.get("trade_type")) != TRADE_TYPE_DEPOSIT:
        return status, False, None
    step = _int((record.get("step_order_info") or {}).get("step_trade_status"))
    if step == STEP_ALL_PAID:
        return status, True, True
    if step == STEP_NOTHING_PAID:
        return (OrderStatus.PENDING_PAYMENT if status == OrderStatus.PAID else status), True, False
    if status == OrderStatus.PAID:   # STEP_DEPOSIT_PAID, or no step information
        return OrderStatus.PRESALE_DEPOSIT_PAID, True, False
    return status, True, step != STEP_DEPOSIT_PAID


def _concluded(record: dict, status: str) -> str:
    """A cancelled deal or a failed group is no sale (cancelled); one still grouping or not yet
    concluded is not paid for shipping (pending payment). Absent fields (older documents) mean
    concluded."""
    confirm, group = _int(record.get("confirm_status")), _int(record.get("group_status"))
    if confirm == CONFIRM_CANCELLED or group == GROUP_FAILED:
        return OrderStatus.CANCELLED
    if (confirm == CONFIRM_PENDING or group == GROUP_FORMING) and status in (OrderStatus.PAID,
                                                                             OrderStatus.PRESALE_DEPOSIT_PAID):
        return OrderStatus.PENDING_PAYMENT
    return status


def _carrier(logistics_id: object) -> str | None:
    """PDD's logistics id as a string; ``0`` (or nothing) is PDD's "no carrier chosen yet" on an
    order not shipped, not a carrier called "0"."""
    return None if _int(logistics_id) == 0 else text_or_none(logistics_id)


def _int(value: object) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
