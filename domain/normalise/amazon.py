"""Amazon SP-API Orders v0: ``getOrders`` records with their ``getOrderItems`` merged in.

The connector stores each order's items under ``"OrderItems"`` (a second call per order).
Money is ``{"CurrencyCode", "Amount": "11.01"}``; ``ItemPrice`` is price × quantity, so the
line total is exact and the unit price derived. Several currencies can meet in one order
(items in JPY with a gift wrap in GBP, an EUR total paid partly in BRL): amounts are only
added within one currency; a line holding a component in another currency gets a
currency like "JPY+GBP", which validation quarantines with a reason instead of this code
converting or dropping money. Refunds are not part of the Orders API (Finances API).

Pending orders (issue 18 #8): Amazon documents that an order not yet paid (``Pending``,
``PendingAvailability``) carries no ``OrderTotal`` and its items no prices
(https://developer-docs.amazon.com/sp-api/docs/orders-api-v0-reference#order, ``OrderTotal``:
"not returned for Pending orders"); the same holds for a ``Canceled`` order cancelled before
payment. Such an order is stored with what is known (status ``pending_payment`` or
``cancelled``, its lines and quantities, a total of 0 until a later version carries the money:
a newer ``LastUpdateDate`` replaces it), never quarantined for the missing money. Its currency
is its marketplace's (:data:`MARKETPLACE_CURRENCY`).
"""
from __future__ import annotations

from domain.canonical import CanonicalFrames, OrderStatus
from domain.money import divide_minor, money_object_to_minor
from domain.normalise._common import order_id_of, derived_order_discount, joined, line_row, order_row, text_or_none, to_frames, unknown_status
from domain.pii import mask_address, mask_name, mask_phone, stable_hash
from domain.timeutil import parse_iso

#: where Amazon orders carry buyer data (Orders API v0: ``BuyerInfo``, ``ShippingAddress``,
#: getOrderAddress's ``ExtendedFields`` and coordinates; ordersV0.json in
#: amzn/selling-partner-api-models), masked before a raw page or a quarantined record is stored
#: (``domain.pii.mask_pii_payload``, issue 18 #12).
PII_PATHS = {
    "**.BuyerEmail": "email", "**.BuyerName": "name", "**.BuyerTaxInfo.CompanyLegalName": "id",
    "**.PurchaseOrderNumber": "id",
    **{f"**.ShippingAddress.{key}": kind for key, kind in {
        "Name": "name", "AddressLine1": "street", "AddressLine2": "street", "AddressLine3": "street",
        "Phone": "phone", "CompanyName": "id"}.items()},
    "**.ExtendedFields.StreetName": "street", "**.ExtendedFields.StreetNumber": "id",
    "**.GeoCoordinates.Latitude": "id", "**.GeoCoordinates.Longitude": "id",
}

PLATFORM = "amazon"

ORDER_STATUS = {
    "PendingAvailability": OrderStatus.PENDING_PAYMENT,
    "Pending": OrderStatus.PENDING_PAYMENT,
    "Unshipped": OrderStatus.PAID,
    "PartiallyShipped": OrderStatus.SHIPPED,
    "Shipped": OrderStatus.SHIPPED,
    "InvoiceUnconfirmed": OrderStatus.SHIPPED,
    "Canceled": OrderStatus.CANCELLED,
    "Unfulfillable": OrderStatus.CANCELLED,
}

#: what the buyer pays for an item: added; discounts: subtracted
#: the currency of each Amazon marketplace, by ``MarketplaceId`` (ids: SP-API "Marketplace IDs",
#: https://developer-docs.amazon.com/sp-api/docs/marketplace-ids; currency: the marketplace's
#: country's). Every one is also in rules.yaml ``orders.known_currencies``.
MARKETPLACE_CURRENCY = {
    "A2EUQ1WTGCTBG2": "CAD", "ATVPDKIKX0DER": "USD", "A1AM78C64UM0Y8": "MXN", "A2Q3Y263D00KWC": "BRL",
    "A28R8C7NBKEWEA": "EUR", "A1RKKUPIHCS9HS": "EUR", "A1F83G8C2ARO7P": "GBP", "A13V1IB3VIYZZH": "EUR",
    "AMEN7PMS3EDWL": "EUR", "A1805IZSGTT6HS": "EUR", "A1PA6795UKMFR9": "EUR", "APJ6JRA9NG5V4": "EUR",
    "A2NODRKZP88ZB9": "SEK", "AE08WJ6YKNBMC": "ZAR", "A1C3SOZRARQ6R3": "PLN", "ARBP9OOSHTCHU": "EGP",
    "A33AVAJ2PDY3EV": "TRY", "A17E79C6D8DWNP": "SAR", "A2VIGQ35RCS4UG": "AED", "A21TJRUUN4KGV": "INR",
    "A19VAU5U5O7RUS": "SGD", "A39IBJ37TRP1C6": "AUD", "A1VC38T7YXB528": "JPY",
}
#: statuses whose order may carry no money yet: nothing was charged (see the module doc)
_UNPRICED_STATUSES = {OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED}

_LINE_CHARGES = ("ItemPrice", "ItemTax", "GiftWrapPrice", "GiftWrapTax")
_LINE_DISCOUNTS = ("PromotionDiscount", "PromotionDiscountTax")
_SHIPPING_CHARGES = ("ShippingPrice", "ShippingTax")
_SHIPPING_DISCOUNTS = ("ShippingDiscount", "ShippingDiscountTax")


def _is_true(value: object) -> bool:
    """Amazon sends booleans as JSON booleans or as the strings "true"/"false"."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


class _Sum:
    """A sum of Amazon money objects that remembers every currency it met."""

    def __init__(self) -> None:
        self.minor = 0
        self.currencies: list[str] = []

    def add(self, money: dict | None, sign: int = 1) -> None:
        amount, currency = money_object_to_minor(money)
        if amount is None:
            return
        if currency and currency not in self.currencies:
            self.currencies.append(currency)
        if not self.currencies or currency in (None, self.currencies[0]):
            self.minor += sign * amount

    @property
    def currency(self) -> str | None:
        return "+".join(self.currencies) or None


def _money_fields(item: dict) -> dict:
    """Item money fields; gift wrap lives under ``BuyerInfo`` in the v0 model."""
    buyer_info = item.get("BuyerInfo") or {}
    return {**{k: buyer_info.get(k) for k in ("GiftWrapPrice", "GiftWrapTax")}, **item}


def normalise(records: list[dict], shop_id: str, hash_key: bytes | str) -> CanonicalFrames:
    orders, lines = [], []
    for order in records:
        order_id = order_id_of(order, "AmazonOrderId")
        order_total, order_currency = money_object_to_minor(order.get("OrderTotal"))
        platform_status = order.get("OrderStatus")
        status = ORDER_STATUS.get(platform_status) or unknown_status(platform_status)
        unpriced = status in _UNPRICED_STATUSES
        order_currency = order_currency or next(
            (money_object_to_minor(item.get("ItemPrice"))[1] for item in order.get("OrderItems") or []
             if money_object_to_minor(item.get("ItemPrice"))[1]), None) or MARKETPLACE_CURRENCY.get(
            order.get("MarketplaceId"))
        shipping = _Sum()
        line_totals, line_currencies = [], []
        for line_no, item in enumerate(order.get("OrderItems") or [], start=1):
            fields = _money_fields(item)
            line = _Sum()
            for name in _LINE_CHARGES:
                line.add(fields.get(name))
            for name in _LINE_DISCOUNTS:
                line.add(fields.get(name), sign=-1)
            for name in _SHIPPING_CHARGES:
                shipping.add(fields.get(name))
            for name in _SHIPPING_DISCOUNTS:
                shipping.add(fields.get(name), sign=-1)
            quantity = int(item.get("QuantityOrdered") or 0)
            item_price, _ = money_object_to_minor(item.get("ItemPrice"))
            line_total = line.minor if line.currencies else (0 if unpriced else None)
            line_totals.append(line_total)
            line_currencies.append(line.currencies[0] if line.currencies else None)
            discount = _Sum()
            for name in _LINE_DISCOUNTS:
                discount.add(fields.get(name))
            lines.append(line_row(
                platform=PLATFORM, shop_id=shop_id, order_id=order_id, line_no=line_no,
                line_id=text_or_none(item.get("OrderItemId")), sku=item.get("SellerSKU") or None,
                marketplace_item_id=text_or_none(item.get("ASIN")), marketplace_sku_id=text_or_none(item.get("ASIN")),
                title=item.get("Title"), variant=item.get("ConditionId"), quantity=quantity,
                unit_price_minor=divide_minor(item_price, quantity) if item_price is not None and quantity else None,
                line_total_minor=line_total, discount_minor=discount.minor,
                currency=line.currency or (order_currency if unpriced else None), is_gift=_is_true(item.get("IsGift")),
                refund_status=("BuyerRequestedCancel"
                               if _is_true((item.get("BuyerRequestedCancel") or {}).get("IsBuyerRequestedCancel"))
                               else None),
            ))
        currency = order_currency
        if order_total is None and line_totals and None not in line_totals:
            order_total = sum(line_totals) + shipping.minor  # pending orders carry no OrderTotal
        if order_total is None and unpriced:
            order_total = 0  # nothing charged yet: the paid version carries the money
        post_fee = shipping.minor if shipping.currencies else 0
        address = order.get("ShippingAddress") or {}
        buyer = order.get("BuyerInfo") or {}
        province, city = address.get("StateOrRegion"), address.get("City")
        street = joined(address.get("AddressLine1"), address.get("AddressLine2"), address.get("AddressLine3"))
        orders.append(order_row(
            platform=PLATFORM, shop_id=shop_id, order_id=order_id, status=status,
            platform_status=platform_status, currency=currency,
            total_minor=order_total, post_fee_minor=post_fee,
            discount_minor=derived_order_discount(order_total, post_fee, line_totals) if line_totals else 0,
            created_at=parse_iso(order.get("PurchaseDate")),
            paid_at=parse_iso(order.get("PurchaseDate")) if status != OrderStatus.PENDING_PAYMENT else None,
            modified_at=parse_iso(order.get("LastUpdateDate")),
            ship_by_at=parse_iso(order.get("LatestShipDate")),
            is_presale=False,
            buyer_key=stable_hash(buyer.get("BuyerEmail"), hash_key),
            buyer_nick_masked=mask_name(buyer.get("BuyerName")),
            receiver_name_masked=mask_name(address.get("Name")),
            receiver_phone_masked=mask_phone(address.get("Phone")),
            province=province, city=city, district=address.get("County") or address.get("District"),
            address_masked=mask_address(street, province, city),
            address_hash=stable_hash(joined(address.get("CountryCode"), province, city, street,
                                            address.get("PostalCode")), hash_key),
            line_count=len(line_totals),
        ))
    return to_frames(orders, lines, [])
