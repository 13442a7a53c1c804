"""JD POP orders (``jingdong.pop.order.search``): decimal strings, Beijing times.

Discounts: ``couponDetailList`` entries with a ``skuId`` are that line's discount, the entry
without is the order's. Refunds: JD's after-sales APIs hold them; on the order, ``LOCKED``
(frozen while a cancellation or after-sale is handled) means ``refunding``, and a per-line
``refundStatus`` 0/1/2 (none / open / refunded) is read when present [U].
"""
from __future__ import annotations

from domain.canonical import CanonicalFrames, OrderStatus
from domain.money import major_to_minor
from domain.normalise._common import (order_id_of, REFUNDED, REFUNDING, derived_order_discount, joined, line_row,
                                      order_row, overlay_refunds, refund_row, text_or_none, to_frames,
                                      unknown_status)
from domain.pii import mask_address, mask_name, mask_phone, mask_text, stable_hash
from domain.timeutil import parse_beijing

PLATFORM = "jd"

ORDER_STATE = {
    "WAIT_SELLER_STOCK_OUT": OrderStatus.PAID,        # 等待出库
    "WAIT_SELLER_DELIVERY": OrderStatus.PAID,         # 等待发货 (cross-border)
    "PAUSE": OrderStatus.PAID,                        # on hold, still to ship
    "POP_ORDER_PAUSE": OrderStatus.PAID,
    "WAIT_GOODS_RECEIVE_CONFIRM": OrderStatus.SHIPPED,
    "FINISHED_L": OrderStatus.COMPLETED,
    "TRADE_CANCELED": OrderStatus.CANCELLED,
    "LOCKED": OrderStatus.REFUNDING,                  # frozen for a cancellation / after-sale
}
LINE_REFUND_STATUS = {"1": REFUNDING, "2": REFUNDED}


def _line_discounts(record: dict) -> dict[str, int]:
    """skuId → that line's coupon discounts (entries without a skuId are order-level)."""
    discounts: dict[str, int] = {}
    for coupon in record.get("couponDetailList") or []:
        if coupon.get("skuId") not in (None, ""):
            sku = str(coupon["skuId"])
            discounts[sku] = discounts.get(sku, 0) + (major_to_minor(coupon.get("couponPrice")) or 0)
    return discounts


def normalise(records: list[dict], shop_id: str, hash_key: bytes | str) -> CanonicalFrames:
    orders, lines, refunds = [], [], []
    for record in records:
        order_id = order_id_of(record, "orderId")
        modified = parse_beijing(record.get("modified"))
        discounts = _line_discounts(record)
        line_totals, refund_states = [], []
        for line_no, item in enumerate(record.get("itemInfoList") or [], start=1):
            quantity = int(item.get("itemTotal") or 0)
            unit_price = major_to_minor(item.get("jdPrice"))
            line_id = text_or_none(item.get("skuId"))
            discount = discounts.get(line_id, 0)
            line_total = unit_price * quantity - discount if unit_price is not None else None
            line_totals.append(line_total)
            refund_code = text_or_none(item.get("refundStatus"))
            refund_state = LINE_REFUND_STATUS.get(refund_code)
            refund_states.append(refund_state)
            lines.append(line_row(
                platform=PLATFORM, shop_id=shop_id, order_id=order_id, line_no=line_no,
                line_id=line_id, sku=item.get("outerSkuId") or None,
                marketplace_item_id=text_or_none(item.get("wareId")), marketplace_sku_id=line_id,
                title=item.get("skuName"), variant=None, quantity=quantity,
                unit_price_minor=unit_price, line_total_minor=line_total, discount_minor=discount,
                currency="CNY", is_gift=False, refund_status=refund_code,
            ))
            if refund_state:
                refunds.append(refund_row(
                    platform=PLATFORM, shop_id=shop_id, refund_id=f"{order_id}:{line_id}", order_id=order_id,
                    line_id=line_id, sku=item.get("outerSkuId") or None, quantity=quantity,
                    amount_minor=line_total, currency="CNY", status=refund_state,
                    created_at=modified, modified_at=modified,
                ))
        consignee = record.get("consigneeInfo") or {}
        total = major_to_minor(record.get("orderPayment"))
        post_fee = major_to_minor(record.get("freightPrice"))
        province, city, district = consignee.get("province"), consignee.get("city"), consignee.get("county")
        state = record.get("orderState")
        orders.append(order_row(
            platform=PLATFORM, shop_id=shop_id, order_id=order_id,
            status=overlay_refunds(ORDER_STATE.get(state) or unknown_status(state), refund_states),
            platform_status=state,
            currency="CNY", total_minor=total, post_fee_minor=post_fee,
            discount_minor=derived_order_discount(total, post_fee, line_totals),
            created_at=parse_beijing(record.get("orderStartTime")),
            paid_at=parse_beijing(record.get("paymentConfirmTime")),
            modified_at=modified,
            shipped_at=parse_beijing(record.get("waybillTime")),
            is_presale=False,
            buyer_key=stable_hash(record.get("pin") or consignee.get("mobile"), hash_key),
            receiver_name_masked=mask_name(consignee.get("fullname")),
            receiver_phone_masked=mask_phone(consignee.get("mobile") or consignee.get("telephone")),
            province=province, city=city, district=district,
            address_masked=mask_address(consignee.get("fullAddress"), province, city, district),
            address_hash=stable_hash(joined(consignee.get("fullAddress")), hash_key),
            buyer_remark=mask_text(record.get("orderRemark")), seller_remark=mask_text(record.get("venderRemark")),
            carrier=text_or_none(record.get("logisticsId")), tracking_no=text_or_none(record.get("waybill")),
            line_count=len(line_totals),
        ))
    return to_frames(orders, lines, refunds)
