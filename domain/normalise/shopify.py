"""Shopify REST orders (``GET /admin/api/{ver}/orders.json``, real payloads in fixtures).

Amounts are decimal strings in the shop currency (``*_set.shop_money`` duplicates them);
times ISO 8601 with the shop's offset. Refunds are nested (``refunds[].refund_line_items``):
the money actually returned is the refund's successful ``refund`` transactions, shared out
over its refunded lines so the rows add up to it exactly. Line-item ``properties`` are a list
of ``{"name", "value"}`` whose values may be nested objects (engraving forms, configurators),
or, in older orders, one object ``{name: value}`` (issue 18 #9): both read, values rendered
into ``variant`` as compact JSON rather than dropped.

Totals (issue 18 #9): ``current_total_price`` (Order resource) reflects order edits, returns
and refunds, ``total_price`` only the order as first placed. The canonical total is the money
charged before refunds (refunds are rows of their own), so it is ``current_total_price`` plus
what the successful refund transactions returned; a line's quantity is its
``current_quantity`` (the ordered quantity minus what an edit removed) plus what refunds took
back, so an edited-away line is not counted. ``current_total_tax`` and
``current_total_discounts`` likewise. Without ``current_*`` (old versions) the original
fields are used.

Status: whether an order was paid comes from ``financial_status`` (paid, partially or wholly
refunded, authorized), not from the canonical status, so an order cancelled after payment
keeps its ``paid_at``; ``closed_at`` without a fulfilment (archived by the merchant) stays
``paid``.
"""
from __future__ import annotations

import json

from domain.canonical import CanonicalFrames, OrderStatus
from domain.money import major_to_minor, split_minor
from domain.normalise._common import (order_id_of, REFUNDED, REFUNDING, joined, line_row, order_row, refund_row,
                                      text_or_none, to_frames, unknown_status)
from domain.pii import mask_address, mask_name, mask_phone, mask_text, stable_hash
from domain.timeutil import parse_iso

#: where Shopify orders carry buyer data (REST Order resource, api 2026-10: ``email``,
#: ``contact_email``, ``customer``, the addresses, ``client_details.browser_ip``), masked before a
#: raw page or a quarantined record is stored (``domain.pii.mask_pii_payload``, issue 18 #12). A
#: line item's or a shipping line's ``name`` is not buyer data: address names are matched by path.
_ADDRESS_PII = {"name": "name", "first_name": "name", "last_name": "name", "company": "id", "address1": "street",
                "address2": "street", "phone": "phone", "latitude": "id", "longitude": "id"}
PII_PATHS = {
    "**.email": "email", "**.contact_email": "email", "**.browser_ip": "ip",
    "**.customer.first_name": "name", "**.customer.last_name": "name", "**.customer.phone": "phone",
    **{f"**.{where}.{key}": kind for where in ("shipping_address", "billing_address", "default_address", "addresses")
       for key, kind in _ADDRESS_PII.items()},
}

PLATFORM = "shopify"

FINANCIAL_STATUS = {
    "pending": OrderStatus.PENDING_PAYMENT,
    "partially_paid": OrderStatus.PENDING_PAYMENT,
    "authorized": OrderStatus.PAID,          # payment secured; Shopify lets it be fulfilled
    "paid": OrderStatus.PAID,
    "partially_refunded": OrderStatus.PAID,  # finished partial refund: refund rows carry it
    "refunded": OrderStatus.REFUNDED,
    "voided": OrderStatus.CANCELLED,
}
_SHIPPED_FULFILLMENT = {"fulfilled", "partial"}
#: financial statuses of an order whose money was taken (an authorisation is not captured yet,
#: but Shopify lets it be fulfilled: ``authorized`` counts as paid, as in FINANCIAL_STATUS)
_PAID_FINANCIAL = {"authorized", "paid", "partially_refunded", "refunded"}


def _quantity(item: dict, refunded: int) -> int:
    """The quantity the order holds: ``current_quantity`` (edits removed the rest) plus the
    units refunds took back (their money is in refund rows), never above the ordered one."""
    ordered = int(item.get("quantity") or 0)
    if item.get("current_quantity") is None:
        return ordered
    return min(ordered, int(item["current_quantity"]) + refunded)


def _current(order: dict, field: str) -> object:
    """``current_<field>`` (after order edits) where the API version sends it, else ``field``."""
    current = order.get(f"current_{field}")
    return order.get(field) if current is None else current


def _total(order: dict, refunded_money: int) -> int | None:
    """Money charged before refunds: ``current_total_price`` (after edits and refunds) plus
    what was refunded; ``total_price`` where there is no ``current_total_price``."""
    current = major_to_minor(order.get("current_total_price"))
    if current is None:
        return major_to_minor(order.get("total_price"))
    return current + refunded_money


def _status(order: dict) -> str:
    financial = order.get("financial_status")
    status = FINANCIAL_STATUS.get(financial) or unknown_status(financial)
    if order.get("cancelled_at") and status != OrderStatus.REFUNDED:
        return OrderStatus.CANCELLED
    if status == OrderStatus.PAID and order.get("fulfillment_status") in _SHIPPED_FULFILLMENT:
        return OrderStatus.COMPLETED if order.get("closed_at") else OrderStatus.SHIPPED
    return status


def _sum_minor(items: list[dict] | None, field: str = "price") -> int:
    return sum(major_to_minor(item.get(field)) or 0 for item in items or [])


def _line_discount(item: dict) -> int:
    allocations = item.get("discount_allocations")
    if allocations:
        return _sum_minor(allocations, "amount")
    return major_to_minor(item.get("total_discount")) or 0


def _properties(item: dict) -> list[tuple[str, object]]:
    """A line's properties as (name, value): a list of ``{"name", "value"}`` or, in older
    orders, one object ``{name: value}``; anything else holds no property."""
    props = item.get("properties")
    if isinstance(props, dict):
        return [(str(name), value) for name, value in props.items()]
    if isinstance(props, list):
        return [(str(p.get("name", "")), p.get("value")) for p in props if isinstance(p, dict)]
    return []


def _is_gift(item: dict) -> bool:
    """Free-gift apps mark the gift line with a hidden ``_free_gift`` property."""
    return any(name == "_free_gift" and str(value).lower() == "true" for name, value in _properties(item))


def _variant(item: dict) -> str | None:
    parts = [item["variant_title"]] if item.get("variant_title") else []
    for name, value in _properties(item):
        if name.startswith("_"):  # hidden properties are for apps, not people
            continue
        if not isinstance(value, str):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        parts.append(f"{name}: {value}")
    return "; ".join(parts) or None


def normalise(records: list[dict], shop_id: str, hash_key: bytes | str) -> CanonicalFrames:
    orders, lines, refunds = [], [], []
    for order in records:
        order_id = order_id_of(order, "id")
        currency = order.get("currency")
        taxes_included = bool(order.get("taxes_included"))
        line_totals, line_discounts, line_taxes, sku_of_line = [], 0, 0, {}
        order_refunds = [row for refund in order.get("refunds") or []
                         for row in refund_rows(refund, shop_id, currency)]
        refund_state_of_line = {row["line_id"]: row["status"] for row in order_refunds if row["line_id"]}
        refunded_units: dict[str | None, int] = {}
        for refund in order.get("refunds") or []:
            for refunded in refund.get("refund_line_items") or []:
                line_id = text_or_none(refunded.get("line_item_id"))
                refunded_units[line_id] = refunded_units.get(line_id, 0) + int(refunded.get("quantity") or 0)
        line_no = 0
        for item in order.get("line_items") or []:
            quantity = _quantity(item, refunded_units.get(text_or_none(item.get("id")), 0))
            if quantity == 0 and int(item.get("quantity") or 0) > 0:
                continue  # removed by an order edit: no longer part of the order
            line_no += 1
            unit_price = major_to_minor(item.get("price"))
            discount = _line_discount(item)
            tax = 0 if taxes_included else _sum_minor(item.get("tax_lines"))
            line_total = unit_price * quantity - discount + tax
            line_totals.append(line_total)
            line_taxes += tax
            line_discounts += discount
            sku_of_line[str(item.get("id"))] = item.get("sku") or None
            lines.append(line_row(
                platform=PLATFORM, shop_id=shop_id, order_id=order_id, line_no=line_no,
                line_id=text_or_none(item.get("id")), sku=item.get("sku") or None,
                marketplace_item_id=text_or_none(item.get("product_id")),
                marketplace_sku_id=text_or_none(item.get("variant_id")),
                title=item.get("title"), variant=_variant(item), quantity=quantity,
                unit_price_minor=unit_price, line_total_minor=line_total, discount_minor=discount,
                currency=currency, is_gift=_is_gift(item),
                refund_status=refund_state_of_line.get(text_or_none(item.get("id"))),
            ))
        for row in order_refunds:  # a refund line without its line item copy takes the SKU from the order
            row["sku"] = row["sku"] or sku_of_line.get(row["line_id"])
        refunds.extend(order_refunds)
        shipping = order.get("shipping_lines") or []
        post_fee = _sum_minor(shipping) - _sum_minor(
            [a for s in shipping for a in s.get("discount_allocations") or []], "amount")
        order_tax = 0
        if not taxes_included:
            shipping_tax = _sum_minor([t for s in shipping for t in s.get("tax_lines") or []])
            post_fee += shipping_tax
            # tax Shopify reports only on the order (old API versions) is in total_price but in
            # no line: keep it apart so line totals still reconcile with the order total
            order_tax = max(0, (major_to_minor(_current(order, "total_tax")) or 0) - line_taxes - shipping_tax)
        address = order.get("shipping_address") or {}
        customer = order.get("customer") or {}
        shipped = [f for f in order.get("fulfillments") or [] if f.get("status") == "success"]
        status = _status(order)
        paid = order.get("financial_status") in _PAID_FINANCIAL
        province, city = address.get("province"), address.get("city")
        street = joined(address.get("address1"), address.get("address2"))
        orders.append(order_row(
            platform=PLATFORM, shop_id=shop_id, order_id=order_id, status=status,
            platform_status=order.get("financial_status"), currency=currency,
            total_minor=_total(order, sum(row["amount_minor"] or 0 for row in order_refunds
                                          if row["status"] == REFUNDED)),
            post_fee_minor=post_fee,
            discount_minor=max(0, (major_to_minor(_current(order, "total_discounts")) or 0) - line_discounts),
            tax_minor=order_tax,
            created_at=parse_iso(order.get("created_at")),
            paid_at=parse_iso(order.get("processed_at") or order.get("created_at")) if paid else None,
            modified_at=parse_iso(order.get("updated_at")),
            shipped_at=parse_iso(shipped[0].get("created_at")) if shipped else None,
            is_presale=False,
            buyer_key=stable_hash(order.get("email") or customer.get("email") or text_or_none(customer.get("id")),
                                  hash_key),
            buyer_nick_masked=mask_name(joined(customer.get("first_name"), " ", customer.get("last_name"))),
            receiver_name_masked=mask_name(address.get("name")),
            receiver_phone_masked=mask_phone(address.get("phone")),
            province=province, city=city, district=None,
            address_masked=mask_address(street, province, city),
            address_hash=stable_hash(joined(address.get("country_code"), province, city, street,
                                            address.get("zip")), hash_key),
            buyer_remark=mask_text(order.get("note")), seller_remark=None,
            carrier=shipped[0].get("tracking_company") if shipped else None,
            tracking_no=shipped[0].get("tracking_number") if shipped else None,
            line_count=len(line_totals),
        ))
    return to_frames(orders, lines, refunds)


def refund_rows(refund: dict, shop_id: str, currency: str | None) -> list[dict]:
    """One row per refunded line (plus one for money not tied to a line, e.g. shipping).

    The money is what the successful refund transactions returned; without transactions
    (refund still pending) the lines' own values are used and the status is ``refunding``.
    """
    order_id = str(refund["order_id"])
    refund_id = str(refund["id"])
    settled = [t for t in refund.get("transactions") or []
               if t.get("kind") == "refund" and t.get("status") == "success"]
    refunded_lines = refund.get("refund_line_items") or []
    line_values = [_refund_line_value(r) for r in refunded_lines]
    status = REFUNDED if settled else REFUNDING
    if settled:
        money = _sum_minor(settled, "amount")
        currency = settled[0].get("currency") or currency
        amounts = split_minor(money, line_values) if refunded_lines else [money]
    else:
        amounts = line_values
    created = parse_iso(refund.get("processed_at") or refund.get("created_at"))
    common = dict(platform=PLATFORM, shop_id=shop_id, order_id=order_id, currency=currency,
                  status=status, created_at=created, modified_at=created)
    if not refunded_lines:  # shipping-only refund or adjustment: money not tied to a line
        return [refund_row(refund_id=refund_id, amount_minor=amounts[0], **common)] if settled else []
    rows = []
    for refunded, amount in zip(refunded_lines, amounts):
        line_id = text_or_none(refunded.get("line_item_id"))
        item = refunded.get("line_item") or {}
        rows.append(refund_row(
            refund_id=f"{refund_id}:{refunded.get('id')}", line_id=line_id,
            sku=item.get("sku") or None,
            quantity=int(refunded.get("quantity") or 0), amount_minor=amount, **common))
    return rows


def _refund_line_value(refunded: dict) -> int:
    """What a refunded line is worth: Shopify's ``subtotal`` + ``total_tax`` when sent
    (API >= 2019), else the line price × refunded quantity."""
    if refunded.get("subtotal") is not None:
        return (major_to_minor(refunded.get("subtotal")) or 0) + (major_to_minor(refunded.get("total_tax")) or 0)
    item = refunded.get("line_item") or {}
    return (major_to_minor(item.get("price")) or 0) * int(refunded.get("quantity") or 0)
