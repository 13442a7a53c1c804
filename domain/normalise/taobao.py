"""Taobao/Tmall TOP trades (``taobao.trades.sold.increment.get`` / ``trade.fullinfo.get``).

Money is decimal strings in yuan, times Beijing strings, ``tid``/``oid`` 64-bit integers
(kept exact: the connector's JSON parser keeps Python ints, and they become strings here).
Presale ("step") trades carry ``step_trade_status``: the deposit paid but balance unpaid
is its own canonical state because such orders must not ship.
"""
from __future__ import annotations

from domain.canonical import CanonicalFrames, OrderStatus
from domain.money import major_to_minor
from domain.normalise._common import (order_id_of, REFUND_CLOSED, REFUND_REJECTED, REFUND_REQUESTED, REFUNDED,
                                      REFUNDING, derived_order_discount, line_row, order_row,
                                      overlay_refunds, refund_row, text_or_none, to_frames,
                                      unknown_status)
from domain.pii import address_identity, clear_identity, mask_address, mask_name, mask_phone, mask_text, stable_hash
from domain.timeutil import parse_beijing

PLATFORM = "taobao"

#: where TOP trades carry buyer data (``taobao.trade.fullinfo.get`` Trade fields, seen in the
#: captured fixtures t1–t3: ``buyer_email``, ``buyer_alipay_no``, ``buyer_area`` …), masked before a
#: raw page or a quarantined record is stored (``domain.pii.mask_pii_payload``, issue 18 #12). The
#: seller's own fields (``seller_*``) and opaque ids (``buyer_open_uid``, ``oaid``) are not buyer data
#: in clear; ``alipay_no`` is the payment's number, ``alipay_id`` the buyer's Alipay user id.
PII_PATHS = {
    "**.buyer_nick": "nick", "**.buyer_email": "email", "**.buyer_alipay_no": "account", "**.alipay_id": "id",
    "**.buyer_ip": "ip", "**.buyer_area": "area", "**.receiver_name": "name", "**.receiver_mobile": "phone",
    "**.receiver_phone": "phone", "**.receiver_address": "street", "**.invoice_name": "name",
    "**.buyer_message": "text", "**.buyer_memo": "text", "**.seller_memo": "text",
}

TRADE_STATUS = {
    "TRADE_NO_CREATE_PAY": OrderStatus.PENDING_PAYMENT,
    "WAIT_BUYER_PAY": OrderStatus.PENDING_PAYMENT,
    "PAY_PENDING": OrderStatus.PENDING_PAYMENT,
    "WAIT_PRE_AUTH_CONFIRM": OrderStatus.PENDING_PAYMENT,
    "WAIT_SELLER_SEND_GOODS": OrderStatus.PAID,
    "PAID_FORBID_CONSIGN": OrderStatus.PAID,
    "SELLER_CONSIGNED_PART": OrderStatus.SHIPPED,
    "WAIT_BUYER_CONFIRM_GOODS": OrderStatus.SHIPPED,
    "TRADE_BUYER_SIGNED": OrderStatus.SHIPPED,
    "TRADE_FINISHED": OrderStatus.COMPLETED,
    "TRADE_CLOSED": OrderStatus.CANCELLED,          # closed after payment: refunds decide
    "TRADE_CLOSED_BY_TAOBAO": OrderStatus.CANCELLED,
}

#: line ``refund_status`` → canonical refund status; NO_REFUND means no refund row
REFUND_STATUS = {
    "WAIT_SELLER_AGREE": REFUND_REQUESTED,
    "WAIT_BUYER_RETURN_GOODS": REFUNDING,
    "WAIT_SELLER_CONFIRM_GOODS": REFUNDING,
    "SELLER_REFUSE_BUYER": REFUND_REJECTED,
    "CLOSED": REFUND_CLOSED,
    "SUCCESS": REFUNDED,
}
NO_REFUND = "NO_REFUND"

STEP_DEPOSIT_PAID = "FRONT_PAID_FINAL_NOPAID"
STEP_ALL_PAID = "FRONT_PAID_FINAL_PAID"
#: ``trade.type`` of a presale (分阶段付款) trade
STEP_TYPE = "step"
_BALANCE_PAID_STATUSES = {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED}


def trade_lines(trade: dict) -> list[dict]:
    """The trade's sub-orders whether or not ``simplify=true`` removed the wrapper."""
    orders = trade.get("orders") or []
    return orders.get("order", []) if isinstance(orders, dict) else orders


def _status(trade: dict) -> tuple[str, bool, bool | None]:
    """(canonical status, is presale, presale balance paid).

    A presale trade is ``type == "step"`` or has a ``step_trade_status``; TOP's captured step
    trades (fixture t3, 2013) carry only ``type: "step"``. Without the step state, a trade TOP
    already counts as paid, shipped or finished has its balance paid; one still waiting for
    payment is not known to be (None)."""
    platform_status = trade.get("status")
    status = TRADE_STATUS.get(platform_status) or unknown_status(platform_status)
    step = trade.get("step_trade_status")
    if not step:
        if trade.get("type") != STEP_TYPE:
            return status, False, None
        return status, True, (True if status in _BALANCE_PAID_STATUSES else None)
    balance_paid = step == STEP_ALL_PAID
    if step == STEP_DEPOSIT_PAID and status == OrderStatus.PENDING_PAYMENT:
        status = OrderStatus.PRESALE_DEPOSIT_PAID
    return status, True, balance_paid


def normalise(records: list[dict], shop_id: str, hash_key: bytes | str) -> CanonicalFrames:
    orders, lines, refunds = [], [], []
    for trade in records:
        order_id = order_id_of(trade, "tid")
        status, is_presale, balance_paid = _status(trade)
        modified = parse_beijing(trade.get("modified"))
        total = major_to_minor(trade.get("payment"))
        post_fee = major_to_minor(trade.get("post_fee"))
        line_totals, refund_states = [], []
        carrier = tracking = None
        for line_no, sub in enumerate(trade_lines(trade), start=1):
            quantity = int(sub.get("num") or 0)
            unit_price = major_to_minor(sub.get("price"))
            line_total = major_to_minor(sub.get("total_fee"))
            line_totals.append(line_total)
            line_id = str(sub["oid"]) if sub.get("oid") is not None else None
            refund_status = sub.get("refund_status") or NO_REFUND
            carrier = carrier or sub.get("logistics_company")
            tracking = tracking or sub.get("invoice_no")
            lines.append(line_row(
                platform=PLATFORM, shop_id=shop_id, order_id=order_id, line_no=line_no,
                line_id=line_id, sku=sub.get("outer_sku_id") or sub.get("outer_iid") or None,
                marketplace_item_id=text_or_none(sub.get("num_iid")), marketplace_sku_id=text_or_none(sub.get("sku_id")),
                title=sub.get("title"), variant=sub.get("sku_properties_name"),
                quantity=quantity, unit_price_minor=unit_price, line_total_minor=line_total,
                discount_minor=(unit_price * quantity - line_total
                                if unit_price is not None and line_total is not None else None),
                currency="CNY", is_gift=False, refund_status=refund_status,
            ))
            if refund_status == NO_REFUND:
                if line_total:  # a free gift left with the buyer does not make a refund partial
                    refund_states.append(None)
                continue
            refund_state = REFUND_STATUS.get(refund_status, unknown_status(refund_status))
            refund_states.append(refund_state)
            # the refund's own fee when the record has it, else the line's payment
            amount = major_to_minor(sub.get("refund_fee") or sub.get("payment") or sub.get("total_fee"))
            refunds.append(refund_row(
                platform=PLATFORM, shop_id=shop_id,
                refund_id=text_or_none(sub.get("refund_id")) or f"{order_id}:{line_id}",
                order_id=order_id, line_id=line_id, sku=sub.get("outer_sku_id") or None,
                quantity=quantity, amount_minor=amount, currency="CNY", status=refund_state,
                created_at=parse_beijing(sub.get("refund_created")) or modified,
                modified_at=parse_beijing(sub.get("modified")) or modified,
            ))
        status = overlay_refunds(status, refund_states)
        province, city, district = (trade.get("receiver_state"), trade.get("receiver_city"),
                                    trade.get("receiver_district"))
        street = trade.get("receiver_address")
        orders.append(order_row(
            platform=PLATFORM, shop_id=shop_id, order_id=order_id,
            status=status, platform_status=trade.get("status"), currency="CNY",
            total_minor=total, post_fee_minor=post_fee,
            discount_minor=derived_order_discount(total, post_fee, line_totals),
            created_at=parse_beijing(trade.get("created")), paid_at=parse_beijing(trade.get("pay_time")),
            modified_at=modified, shipped_at=parse_beijing(trade.get("consign_time")),
            ship_by_at=parse_beijing(trade.get("timeout_action_time")),
            is_presale=is_presale, presale_balance_paid=balance_paid,
            buyer_key=stable_hash(trade.get("buyer_open_uid") or clear_identity(trade.get("buyer_nick")), hash_key),
            buyer_nick_masked=mask_name(trade.get("buyer_nick")),
            receiver_name_masked=mask_name(trade.get("receiver_name")),
            receiver_phone_masked=mask_phone(trade.get("receiver_mobile") or trade.get("receiver_phone")),
            province=province, city=city, district=district,
            address_masked=mask_address(street, province, city, district),
            address_hash=stable_hash(address_identity(trade.get("oaid"), province, city, district, street), hash_key),
            buyer_remark=mask_text(trade.get("buyer_message")), seller_remark=mask_text(trade.get("seller_memo")),
            carrier=carrier, tracking_no=tracking, line_count=len(line_totals),
        ))
    return to_frames(orders, lines, refunds)

