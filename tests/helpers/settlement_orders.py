"""Orders and refunds for the settlement tests, written the way the warehouse stores them
(canonical frames through ``repository.upsert_orders``)."""
from __future__ import annotations

import pandas as pd

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames


def canonical(orders: list[dict], refunds: list[dict] = ()) -> CanonicalFrames:
    """Orders as dicts (shop, id, created, total, lines [(sku, qty, line_total)]; optional
    status, currency, buyer, modified, shipped, ship_by), refunds as dicts (shop, id, order,
    amount, at; optional status)."""
    heads, lines = [], []
    for o in orders:
        head = dict.fromkeys(ORDER_COLUMNS)
        head.update(platform="taobao", shop_id=o["shop"], order_id=o["id"], status=o.get("status", "completed"),
                    currency=o.get("currency", "CNY"), total_minor=o["total"], post_fee_minor=0, discount_minor=0,
                    created_at=o["created"], paid_at=o["created"], modified_at=o.get("modified", o["created"]),
                    shipped_at=o.get("shipped"), ship_by_at=o.get("ship_by"),
                    line_count=len(o["lines"]), buyer_key=o.get("buyer", "b1"))
        heads.append(head)
        for number, (sku, quantity, total) in enumerate(o["lines"], start=1):
            line = dict.fromkeys(LINE_COLUMNS)
            line.update(platform="taobao", shop_id=o["shop"], order_id=o["id"], line_no=number,
                        line_id=f"{o['id']}-{number}", sku=sku, quantity=quantity, unit_price_minor=total // quantity,
                        line_total_minor=total, currency=o.get("currency", "CNY"), is_gift=False)
            lines.append(line)
    refund_rows = []
    for r in refunds:
        row = dict.fromkeys(REFUND_COLUMNS)
        row.update(platform="taobao", shop_id=r["shop"], refund_id=r["id"], order_id=r["order"], quantity=1,
                   amount_minor=r["amount"], currency="CNY", status=r.get("status", "refunded"),
                   created_at=r["at"], modified_at=r["at"])
        refund_rows.append(row)
    return CanonicalFrames(orders=pd.DataFrame(heads, columns=list(ORDER_COLUMNS)),
                           lines=pd.DataFrame(lines, columns=list(LINE_COLUMNS)),
                           refunds=pd.DataFrame(refund_rows, columns=list(REFUND_COLUMNS)))
