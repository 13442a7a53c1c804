"""Back-office exports (1688, WeChat shop …) read by ``connectors.file_import``.

The connector has already mapped the export's columns onto the field names below and
checked every value (file, row and column named on error); each record is one *line* of
an order, with the order's fields repeated, as the back-offices export them. Amounts are
decimal strings in yuan, or integer fen when the mapping says ``money_unit: fen``; times
are already aware datetimes; statuses already canonical (the mapping's ``status_map``).
"""
from __future__ import annotations

from domain.canonical import CanonicalFrames
from domain.money import major_to_minor, minor_from_int
from domain.normalise._common import derived_order_discount, joined, line_row, order_row, text_or_none, to_frames
from domain.pii import mask_address, mask_name, mask_phone, mask_text, stable_hash

PLATFORM = "file"


def normalise(records: list[dict], shop_id: str, hash_key: bytes | str) -> CanonicalFrames:
    by_order: dict[str, list[dict]] = {}
    for record in records:
        by_order.setdefault(str(record["order_id"]), []).append(record)
    orders, lines = [], []
    for order_id, rows in by_order.items():
        first = rows[0]
        to_minor = minor_from_int if first.get("money_unit") == "fen" else major_to_minor
        line_totals = []
        for line_no, row in enumerate(rows, start=1):
            quantity = int(row["quantity"])
            unit_price = to_minor(row.get("unit_price"))
            line_total = to_minor(row.get("line_total"))
            if line_total is None and unit_price is not None:
                line_total = unit_price * quantity
            line_totals.append(line_total)
            lines.append(line_row(
                platform=PLATFORM, shop_id=shop_id, order_id=order_id, line_no=line_no,
                line_id=text_or_none(row.get("line_id")) or str(line_no), sku=text_or_none(row.get("sku")),
                title=row.get("title"), variant=row.get("variant"), quantity=quantity,
                unit_price_minor=unit_price, line_total_minor=line_total,
                discount_minor=unit_price * quantity - line_total if unit_price is not None else None,
                currency=first.get("currency") or "CNY", is_gift=False, refund_status=None,
            ))
        post_fee = to_minor(first.get("post_fee")) or 0
        total = to_minor(first.get("total"))
        if total is None:
            total = sum(line_totals) + post_fee if None not in line_totals else None
        province, city, district = first.get("province"), first.get("city"), first.get("district")
        address = first.get("address")
        orders.append(order_row(
            platform=PLATFORM, shop_id=shop_id, order_id=order_id, status=first["status"],
            platform_status=first.get("platform_status"), currency=first.get("currency") or "CNY",
            total_minor=total, post_fee_minor=post_fee,
            discount_minor=derived_order_discount(total, post_fee, line_totals),
            created_at=first.get("created_at"), paid_at=first.get("paid_at"),
            modified_at=first.get("modified_at"), shipped_at=first.get("shipped_at"),
            is_presale=False,
            buyer_key=stable_hash(first.get("buyer") or first.get("receiver_phone"), hash_key),
            buyer_nick_masked=mask_name(first.get("buyer")),
            receiver_name_masked=mask_name(first.get("receiver_name")),
            receiver_phone_masked=mask_phone(first.get("receiver_phone")),
            province=province, city=city, district=district,
            address_masked=mask_address(address, province, city, district),
            address_hash=stable_hash(joined(province, city, district, address), hash_key),
            buyer_remark=mask_text(first.get("buyer_remark")), seller_remark=mask_text(first.get("seller_remark")),
            carrier=first.get("carrier"), tracking_no=text_or_none(first.get("tracking_no")),
            line_count=len(rows),
        ))
    return to_frames(orders, lines, [])
