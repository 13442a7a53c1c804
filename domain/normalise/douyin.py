"""Douyin shop orders (``/order/searchList``): money in **int fen**, times unix seconds.

Each ``shop_order`` carries ``sku_order_list``; a sku order's ``after_sale_info`` holds
its refund state. Field meanings as Douyin describes them (official documentation example,
../shared/fixtures/marketplaces/douyin/d2…, and the searchList field descriptions):

- a sku order's ``origin_amount`` is the **unit** price (商品现价) and ``sum_amount`` unit ×
  ``item_num`` (商品现价*件数); ``pay_amount`` what the buyer paid for the line;
- gifts are ``given_product_type: "FREE"`` (``MASTER`` is the item a gift is bound to);
- presale (定金预售) is ``trade_type`` 2, with its phases in ``order_phase_list``
  (``current_phase``/``total_phase``, ``pay_success``); ``main_status`` 103 is 部分支付 (deposit
  paid, balance due); ``main_status`` is read before ``order_status`` (it also carries
  21/22/39, refunds completed before shipping / after shipping / after receipt).

Receiver fields arrive encrypted (``encrypt_post_tel`` …), a different ciphertext on every
order even for one receiver, often with Douyin's masked copies (``mask_post_tel`` …): the
masked copy is stored, else the ciphertext marker. Ciphertext is never hashed and a masked
value never keys anything: the merge identity is ``open_address_id`` (the same for one
receiver address), the buyer ``doudian_open_id``.
"""
from __future__ import annotations

from domain.canonical import CanonicalFrames, OrderStatus
from domain.money import minor_from_int
from domain.normalise._common import (order_id_of, REFUND_REJECTED, REFUNDED, REFUNDING,
                                      derived_order_discount, line_row, order_row, overlay_refunds,
                                      refund_row, text_or_none, to_frames, unknown_status)
from domain.pii import (address_identity, mask_address, mask_name, mask_phone, mask_text, protect_name,
                        protect_phone, stable_hash)
from domain.timeutil import parse_unix

#: where Douyin orders carry buyer data (order.searchList: post_* the clear fields of older
#: replies, mask_* Douyin's own masks; encrypt_* are ciphertext and stay as they are), masked before
#: a raw page or a quarantined record is stored (``domain.pii.mask_pii_payload``, issue 18 #12).
PII_PATHS = {
    "**.post_receiver": "name", "**.mask_post_receiver": "name", "**.post_tel": "phone",
    "**.mask_post_tel": "phone", "**.detail": "street",
}

PLATFORM = "douyin"

ORDER_STATUS = {
    1: OrderStatus.PENDING_PAYMENT,
    105: OrderStatus.PAID,
    2: OrderStatus.PAID,        # preparing (备货中)
    101: OrderStatus.SHIPPED,   # part-shipped
    3: OrderStatus.SHIPPED,
    4: OrderStatus.CANCELLED,
    5: OrderStatus.COMPLETED,
    103: OrderStatus.PRESALE_DEPOSIT_PAID,  # main_status 部分支付: deposit paid, balance due
    21: OrderStatus.REFUNDED,               # main_status 发货前退款完结
    22: OrderStatus.REFUNDED,               # main_status 发货后退款完结
    39: OrderStatus.REFUNDED,               # main_status 收货后退款完结
}
PRESALE_TRADE_TYPE = 2                      # trade_type 定金预售
GIFT = "FREE"                               # given_product_type of a free gift
#: ``after_sale_info.refund_status`` [U]: 0 none, 1 and 2 refunding, 3 refunded, 4 refund failed
REFUND_STATUS = {1: REFUNDING, 2: REFUNDING, 3: REFUNDED, 4: REFUND_REJECTED}


def _name(region: object) -> str | None:
    """Douyin regions are ``{"id": "…", "name": "浙江省"}`` objects (or plain strings)."""
    if isinstance(region, dict):
        return region.get("name") or None
    return region or None


def _unit_price(sku: dict, quantity: int) -> int | None:
    """``origin_amount`` is the unit price; ``sum_amount`` / ``item_num`` when it is missing."""
    if sku.get("origin_amount") is not None:
        return minor_from_int(sku.get("origin_amount"))
    total = minor_from_int(sku.get("sum_amount"))
    return total // quantity if total is not None and quantity and total % quantity == 0 else None


def _presale(record: dict) -> tuple[bool, bool]:
    """(is presale, balance paid) from ``trade_type`` 2 / ``order_phase_list``."""
    phases = [p for p in record.get("order_phase_list") or [] if isinstance(p, dict)]
    if record.get("trade_type") != PRESALE_TRADE_TYPE and not phases:
        return False, False
    last = max((int(p.get("total_phase") or 0) for p in phases), default=2)
    balance_paid = any(int(p.get("current_phase") or 0) >= last and p.get("pay_success") for p in phases)
    return True, balance_paid


def normalise(records: list[dict], shop_id: str, hash_key: bytes | str) -> CanonicalFrames:
    orders, lines, refunds = [], [], []
    for record in records:
        order_id = order_id_of(record, "order_id")
        modified = parse_unix(record.get("update_time"))
        line_totals, refund_states = [], []
        for line_no, sku in enumerate(record.get("sku_order_list") or [], start=1):
            quantity = int(sku.get("item_num") or 0)
            line_total = minor_from_int(sku.get("pay_amount"))
            unit_price = _unit_price(sku, quantity)
            line_totals.append(line_total)
            line_id = text_or_none(sku.get("sku_order_id") or sku.get("order_id"))
            after_sale = sku.get("after_sale_info") or {}
            refund_code = after_sale.get("refund_status")
            lines.append(line_row(
                platform=PLATFORM, shop_id=shop_id, order_id=order_id, line_no=line_no, line_id=line_id,
                sku=sku.get("out_sku_id") or sku.get("code") or None,
                marketplace_item_id=text_or_none(sku.get("product_id")),
                marketplace_sku_id=text_or_none(sku.get("sku_id")),
                title=sku.get("product_name"),
                variant=";".join(f"{s.get('name')}:{s.get('value')}" for s in sku.get("spec") or []) or None,
                quantity=quantity, unit_price_minor=unit_price, line_total_minor=line_total,
                discount_minor=(unit_price * quantity - line_total
                                if unit_price is not None and line_total is not None else None),
                currency="CNY", is_gift=sku.get("given_product_type") == GIFT, refund_status=text_or_none(refund_code),
            ))
            refund_state = REFUND_STATUS.get(refund_code) if refund_code is not None else None
            refund_states.append(refund_state)
            if refund_state:
                refunds.append(refund_row(
                    platform=PLATFORM, shop_id=shop_id,
                    refund_id=text_or_none(after_sale.get("after_sale_id")) or f"{order_id}:{line_id}",
                    order_id=order_id, line_id=line_id, sku=sku.get("out_sku_id") or sku.get("code") or None,
                    quantity=quantity,
                    amount_minor=minor_from_int(after_sale.get("refund_amount", sku.get("pay_amount"))),
                    currency="CNY", status=refund_state,
                    created_at=parse_unix(after_sale.get("apply_time")) or modified,
                    modified_at=parse_unix(after_sale.get("update_time")) or modified,
                ))
        platform_status = record.get("main_status") if record.get("main_status") is not None \
            else record.get("order_status")
        is_presale, balance_paid = _presale(record)
        status = ORDER_STATUS.get(platform_status) or unknown_status(platform_status)
        if is_presale and status == OrderStatus.PAID and not balance_paid and record.get("order_phase_list"):
            status = OrderStatus.PRESALE_DEPOSIT_PAID
        status = overlay_refunds(status, refund_states)
        total = minor_from_int(record.get("pay_amount"))
        post_fee = minor_from_int(record.get("post_amount"))
        address = record.get("post_addr") or record.get("mask_post_addr") or {}
        province, city, district = (_name(address.get("province")), _name(address.get("city")),
                                    _name(address.get("town")))
        detail = (address.get("encrypt_detail") or (record.get("encrypt_post_addr") or {}).get("detail")
                  or address.get("detail"))
        detail = str(detail) if detail is not None else None
        shipment = (record.get("logistics_info") or [{}])[0]
        orders.append(order_row(
            platform=PLATFORM, shop_id=shop_id, order_id=order_id, status=status,
            platform_status=text_or_none(platform_status), currency="CNY",
            total_minor=total, post_fee_minor=post_fee,
            discount_minor=derived_order_discount(total, post_fee, line_totals),
            created_at=parse_unix(record.get("create_time")), paid_at=parse_unix(record.get("pay_time")),
            modified_at=modified, shipped_at=parse_unix(record.get("ship_time")),
            ship_by_at=parse_unix(record.get("exp_ship_time")), is_presale=is_presale,
            presale_balance_paid=balance_paid if is_presale else None,
            buyer_key=stable_hash(record.get("doudian_open_id"), hash_key),
            receiver_name_masked=mask_name(record.get("mask_post_receiver"))
            or protect_name(record.get("encrypt_post_receiver") or record.get("post_receiver")),
            receiver_phone_masked=mask_phone(record.get("mask_post_tel"))
            or protect_phone(record.get("encrypt_post_tel") or record.get("post_tel")),
            province=province, city=city, district=district,
            address_masked=mask_address(detail, province, city, district),
            address_hash=stable_hash(address_identity(record.get("open_address_id"), province, city, district,
                                                      detail), hash_key),
            buyer_remark=mask_text(record.get("buyer_words")), seller_remark=mask_text(record.get("seller_words")),
            carrier=shipment.get("company_name") or shipment.get("company"),
            tracking_no=text_or_none(shipment.get("tracking_no")), line_count=len(line_totals),
        ))
    return to_frames(orders, lines, refunds)
