"""JD POP orders (``jingdong.pop.order.search``): decimal strings, Beijing times.

Discounts: ``couponDetailList`` entries with a ``skuId`` are that line's discount, the entry
without is the order's; entries that are not objects (a published capture has
``[[{"abc":"iiii"}]]``) are skipped, never fatal.

Refunds: JD's order API has no per-line refund field (the JOS SDK's ``ItemInfo`` carries
skuId, outerSkuId, skuName, jdPrice, giftPoint, wareId, itemTotal, productNo …; per-line
refunds live in JD's after-sales APIs). On the order, ``orderState`` says it: ``LOCKED`` (frozen
while a cancellation or after-sale is handled) and ``DELIVERY_RETURN`` (配送退货: the parcel
is coming back) are ``refunding``; ``TRADE_CANCELED`` after a payment is a full refund.
``returnOrder`` is JD's after-sale *reship* flag (0 not an exchange, 1 返修发货/直接赔偿/客服补件,
2 售后调货), not a refund. ``UN_KNOWN`` (未知 请联系运营) is kept unmapped on purpose: the
order is quarantined with JD's value in the reason. Sources: the JOS Java SDK
(``OrderQueryJsfService.OrderSearchInfo``/``UserInfo``/``ItemInfo``) and its documented state list.

Buyer identity (merge, repeat buyers): ``open_id_buyer`` (else ``xid_buyer``); ``pin`` only
when it is not masked — JD masks it (``t**``), and a masked value is shared by unrelated
buyers. Address identity: ``consigneeInfo.oaid`` (JD's order address id); a clear street is
hashed, a ciphertext or masked street never is.
"""
from __future__ import annotations

from domain.canonical import CanonicalFrames, OrderStatus
from domain.money import major_to_minor
from domain.normalise._common import (order_id_of, derived_order_discount, line_row, order_row,
                                      text_or_none, to_frames, unknown_status)
from domain.pii import (address_identity, clear_identity, mask_address, mask_text, protect_name, protect_phone,
                        stable_hash)
from domain.timeutil import parse_beijing

#: where JD orders carry buyer data (the JOS SDK's OrderSearchInfo / UserInfo / consigneeInfo),
#: masked before a raw page or a quarantined record is stored (``domain.pii.mask_pii_payload``,
#: issue 18 #12); JD's encrypted consignee values stay as the ciphertext they are.
PII_PATHS = {
    "**.pin": "nick", "**.realPin": "nick", "**.fullname": "name", "**.fullAddress": "street",
    "**.mobile": "phone", "**.telephone": "phone", "**.invoiceTitle": "name",
}

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
    "DELIVERY_RETURN": OrderStatus.REFUNDING,         # 配送退货: returned in delivery, refund follows
    "WAIT_SEND_CODE": OrderStatus.PAID,               # 等待发码 (LOC orders): paid, code not yet sent
}
#: JD states that are real but say nothing usable: requested (so the order is never skipped)
#: and quarantined with JD's value, never guessed
UNRESOLVED_STATES = ("UN_KNOWN",)                     # 未知 请联系运营
#: every state ``jingdong.pop.order.search`` is asked for (``order_state``)
REQUESTED_STATES = (*ORDER_STATE, *UNRESOLVED_STATES)
#: line refund codes: none — JD's order API has no per-line refund field (refunds are in
#: ``orderState``; per line only in JD's after-sales APIs). Kept for the shared per-platform table.
LINE_REFUND_STATUS: dict[str, str] = {}
#: JD's "no such time" placeholders (``paymentConfirmTime`` of an unpaid order, ``orderEndTime`` …)
_NO_TIME = ("0001-01-01 00:00:00", "1970-01-01 00:00:00")


def _line_discounts(record: dict) -> dict[str, int]:
    """skuId → that line's coupon discounts (entries without a skuId are order-level)."""
    discounts: dict[str, int] = {}
    for coupon in record.get("couponDetailList") or []:
        if isinstance(coupon, dict) and coupon.get("skuId") not in (None, ""):
            sku = str(coupon["skuId"])
            discounts[sku] = discounts.get(sku, 0) + (major_to_minor(coupon.get("couponPrice")) or 0)
    return discounts


def _time(text: object):
    return None if not text or text in _NO_TIME else parse_beijing(str(text))


def _status(state: str | None, paid: bool) -> str | None:
    if state == "TRADE_CANCELED" and paid:
        return OrderStatus.REFUNDED      # JD refunds a cancelled paid order in full
    return ORDER_STATE.get(state) or unknown_status(state)


def normalise(records: list[dict], shop_id: str, hash_key: bytes | str) -> CanonicalFrames:
    orders, lines, refunds = [], [], []
    for record in records:
        order_id = order_id_of(record, "orderId")
        modified = _time(record.get("modified"))
        discounts = _line_discounts(record)
        line_totals = []
        for line_no, item in enumerate(record.get("itemInfoList") or [], start=1):
            quantity = int(item.get("itemTotal") or 0)
            unit_price = major_to_minor(item.get("jdPrice"))
            line_id = text_or_none(item.get("skuId"))
            discount = discounts.get(line_id, 0)
            line_total = unit_price * quantity - discount if unit_price is not None else None
            line_totals.append(line_total)
            lines.append(line_row(
                platform=PLATFORM, shop_id=shop_id, order_id=order_id, line_no=line_no,
                line_id=line_id, sku=item.get("outerSkuId") or None,
                marketplace_item_id=text_or_none(item.get("wareId")), marketplace_sku_id=line_id,
                title=item.get("skuName"), variant=None, quantity=quantity,
                unit_price_minor=unit_price, line_total_minor=line_total, discount_minor=discount,
                currency="CNY", is_gift=False, refund_status=None,
            ))
        consignee = record.get("consigneeInfo") or {}
        total = major_to_minor(record.get("orderPayment"))
        post_fee = major_to_minor(record.get("freightPrice"))
        province, city, district = consignee.get("province"), consignee.get("city"), consignee.get("county")
        state = record.get("orderState")
        paid_at = _time(record.get("paymentConfirmTime"))
        orders.append(order_row(
            platform=PLATFORM, shop_id=shop_id, order_id=order_id,
            status=_status(state, paid_at is not None),
            platform_status=state,
            currency="CNY", total_minor=total, post_fee_minor=post_fee,
            discount_minor=derived_order_discount(total, post_fee, line_totals),
            created_at=_time(record.get("orderStartTime")),
            paid_at=paid_at,
            modified_at=modified,
            is_presale=False,
            buyer_key=stable_hash(record.get("open_id_buyer") or record.get("xid_buyer")
                                  or clear_identity(record.get("pin")), hash_key),
            receiver_name_masked=protect_name(consignee.get("fullname")),
            receiver_phone_masked=protect_phone(consignee.get("mobile") or consignee.get("telephone")),
            province=province, city=city, district=district,
            address_masked=mask_address(consignee.get("fullAddress"), province, city, district),
            address_hash=stable_hash(address_identity(consignee.get("oaid"), province, city, district,
                                                      consignee.get("fullAddress")), hash_key),
            buyer_remark=mask_text(record.get("orderRemark")), seller_remark=mask_text(record.get("venderRemark")),
            carrier=text_or_none(record.get("logisticsId")), tracking_no=text_or_none(record.get("waybill")),
            line_count=len(line_totals),
        ))
    return to_frames(orders, lines, refunds)
