"""What every platform normaliser shares: row templates, refund overlay, frame typing.

Normalisers walk a page's records once (plain loops over dicts: measured fast enough, see
``domain.normalise``) and collect row dicts; ``to_frames`` then types the columns in one
vectorised step — money and counts as nullable ``Int64`` (never float: a missing fen must
not turn every amount into a float), times as UTC ``datetime64``, flags as ``boolean``.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from domain.canonical import (LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames,
                              OrderStatus, empty_frame)

_INT_COLUMNS = {
    "total_minor", "post_fee_minor", "discount_minor", "tax_minor", "line_count", "line_no", "quantity",
    "unit_price_minor", "line_total_minor", "amount_minor",
}
_TIME_COLUMNS = {"created_at", "paid_at", "modified_at", "shipped_at", "ship_by_at"}
_BOOL_COLUMNS = {"is_presale", "presale_balance_paid", "is_gift"}

#: canonical refund statuses (REFUND_COLUMNS.status)
REFUND_REQUESTED, REFUNDING, REFUNDED, REFUND_REJECTED, REFUND_CLOSED = (
    "requested", "refunding", "refunded", "rejected", "closed")
_ACTIVE_REFUND = {REFUND_REQUESTED, REFUNDING}
_REFUNDABLE_ORDER = {OrderStatus.PAID, OrderStatus.PRESALE_DEPOSIT_PAID, OrderStatus.SHIPPED,
                     OrderStatus.COMPLETED, OrderStatus.CANCELLED}


def unknown_status(platform_status: object) -> str | None:
    """A status no mapping knows: kept visibly non-canonical so validation quarantines the
    order with the platform's value in the reason, instead of guessing. No status at all
    stays None (validation: "status is missing", not "status 'unknown:None'")."""
    if platform_status is None or platform_status == "":
        return None
    return f"unknown:{platform_status}"


def order_row(**values) -> dict:
    row = dict.fromkeys(ORDER_COLUMNS)
    row.update(values)
    return row


def line_row(**values) -> dict:
    row = dict.fromkeys(LINE_COLUMNS)
    row.update(values)
    return row


def refund_row(**values) -> dict:
    row = dict.fromkeys(REFUND_COLUMNS)
    row.update(values)
    return row


def overlay_refunds(status: str, line_refund_states: Iterable[str | None]) -> str:
    """The order status once its lines' refunds are taken into account.

    Marketplaces report refunds per line while the order keeps e.g. "shipped": an order with
    a refund in progress is ``refunding`` (customer service and shipping must hold it), an
    order whose every line is refunded is ``refunded``. Partial refunds that are finished
    leave the order's own status (the refund rows carry the money).
    """
    states = list(line_refund_states)
    if status not in _REFUNDABLE_ORDER or not states:
        return status
    if all(state == REFUNDED for state in states):
        return OrderStatus.REFUNDED
    if status != OrderStatus.CANCELLED and any(state in _ACTIVE_REFUND for state in states):
        return OrderStatus.REFUNDING
    return status


def derived_order_discount(total_minor: int | None, post_fee_minor: int | None,
                           line_totals: Iterable[int | None]) -> int | None:
    """Order-level discount not allocated to lines, from the identity the validation checks:
    ``Σ line totals + post fee − discount = order total``. Platforms that only report the
    order's payment and its lines (TOP, JD, PDD, Douyin) imply it; a negative value (buyer
    pays more than lines + post fee) is kept so validation can say so."""
    totals = list(line_totals)
    if total_minor is None or any(t is None for t in totals):
        return None
    return sum(totals) + (post_fee_minor or 0) - total_minor


def to_frames(orders: list[dict], lines: list[dict], refunds: list[dict]) -> CanonicalFrames:
    return CanonicalFrames(
        orders=_typed(orders, ORDER_COLUMNS),
        lines=_typed(lines, LINE_COLUMNS),
        refunds=_typed(refunds, REFUND_COLUMNS),
    )


def _typed(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    """The rows as a frame, each column built straight from its values (no frame-wide
    inference first: that and the per-column ``where`` cost as much as the whole record loop
    on a 16,000-order chunk)."""
    if not rows:
        frame = empty_frame(columns)
        for column in columns:
            frame[column] = _typed_column(column, [])
        return frame
    return pd.DataFrame({column: _typed_column(column, [row.get(column) for row in rows]) for column in columns},
                        columns=list(columns))


def _typed_column(column: str, values: list) -> object:
    if column in _INT_COLUMNS:
        return pd.array(values, dtype="Int64")
    if column in _TIME_COLUMNS:
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True).astype("datetime64[us, UTC]")
    if column in _BOOL_COLUMNS:
        return pd.array(values, dtype="boolean")
    array = np.empty(len(values), dtype=object)
    array[:] = values
    missing = pd.isna(array)
    if missing.any():  # NaN / NaT / pd.NA are "no value" like None
        array[missing] = None
    return pd.Series(array, dtype=object, copy=False)  # a bare array of str would become pandas' str dtype


def order_id_of(record: dict, field: str) -> str:
    """The platform's order id of ``record[field]`` as text, refused when it cannot be one.

    A missing or empty id, or one sent as a JSON float (1.2e+18 cannot carry a 64-bit id
    exactly; "2.0" is not the id "2"), raises ``ValueError`` naming the field, so the
    record is quarantined as unreadable instead of being stored under a wrong id ("None",
    "2.999e+18").
    """
    value = record.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"order id field '{field}' is missing or empty")
    if isinstance(value, float) or isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"order id field '{field}' is {value!r}, a {type(value).__name__}; "
                         "an id must be an integer or a string")
    return str(value).strip()


def text_or_none(value: object) -> str | None:
    """Ids and codes as strings (64-bit ids stay exact: they were never floats); "" → None."""
    return None if value in (None, "") else str(value)


def joined(*parts: str | None) -> str | None:
    """Region + street as one string for ``address_hash`` (same address → same hash)."""
    text = "".join(p for p in parts if p)
    return text or None
