"""Money in the marketplaces' four encodings → integer minor units, never through float maths.

Marketplaces send money as decimal strings ("200.07": TOP, JD, Shopify, Amazon's
``{"CurrencyCode", "Amount"}``), float yuan (PDD ``12.5``) or integer fen (Douyin). The
canonical model stores integer minor units (hundredths of the currency unit), so every
conversion goes through :class:`decimal.Decimal` built from the *text* of the number: a float
is first turned back into its shortest repr ("12.5"), which is exactly what the wire carried.

An amount with more precision than a hundredth is an error rather than a silent rounding:
losing a fraction of a fen in a settlement is worse than quarantining one order.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

#: canonical minor units are hundredths for every currency (fen, cents); one scale keeps
#: sums across platforms simple and never loses the cents some sources send even for JPY.
MINOR_PER_MAJOR = 100
_HUNDRED = Decimal(MINOR_PER_MAJOR)


class MoneyError(ValueError):
    """A value that cannot be read as an amount of money."""


def to_decimal(value: object) -> Decimal:
    """The exact decimal value of a money field as it appeared on the wire."""
    if isinstance(value, bool):  # bool is an int subclass; True is not one yuan
        raise MoneyError(f"{value!r} is not an amount")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest text that round-trips: what the JSON said
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            return Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"{value!r} is not an amount") from None
    raise MoneyError(f"{value!r} ({type(value).__name__}) is not an amount")


def major_to_minor(value: object) -> int | None:
    """Decimal string / float / Decimal in major units (yuan, dollars) → integer minor units.

    ``None`` and ``""`` stay ``None`` (an absent amount is not zero).
    """
    if value is None or value == "":
        return None
    amount = to_decimal(value) * _HUNDRED
    whole = amount.to_integral_value()
    if amount != whole:
        raise MoneyError(f"{value!r} has a fraction of a minor unit; refusing to round money")
    return int(whole)


def minor_from_int(value: object) -> int | None:
    """An amount already in minor units (Douyin's int fen), checked to be whole."""
    if value is None or value == "":
        return None
    amount = to_decimal(value)
    if amount != amount.to_integral_value():
        raise MoneyError(f"{value!r} is not a whole number of minor units")
    return int(amount)


def money_object_to_minor(value: dict | None) -> tuple[int | None, str | None]:
    """Amazon's ``{"CurrencyCode": "USD", "Amount": "11.01"}`` → ``(1101, "USD")``."""
    if not value:
        return None, None
    return major_to_minor(value.get("Amount")), value.get("CurrencyCode")


def divide_minor(total_minor: int, parts: int) -> int:
    """A per-unit price from a line total (Amazon sends price × quantity), rounded half up.

    Only used for the informative unit price; line totals always keep the exact amount.
    """
    return int((Decimal(total_minor) / Decimal(parts)).to_integral_value(ROUND_HALF_UP))


def split_minor(total_minor: int, weights: list[int]) -> list[int]:
    """Split ``total_minor`` in proportion to ``weights`` so the parts sum to it exactly.

    Largest-remainder method: used where a platform reports one amount for several lines
    (a Shopify refund's transactions covering several refunded lines).
    """
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum <= 0:
        base = [total_minor // len(weights)] * len(weights)
        base[0] += total_minor - sum(base)
        return base
    exact = [Decimal(total_minor) * w / weight_sum for w in weights]
    parts = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    leftover = total_minor - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in by_remainder[:leftover]:
        parts[i] += 1
    return parts
