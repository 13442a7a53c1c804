"""Buyer data in Shopify and Amazon bodies, declared by path, masked before anything is stored
(issue 18 #12, domain-rules §7).

``domain.pii.mask_payload`` masks what any platform calls a phone, a street or a remark by
key alone. Names and e-mails cannot be found that way ("name" is also a line item's or a
shipping line's name), so each platform declares where its buyer data sits:
:data:`PII_PATHS` maps a dotted path to the kind of value found there. A path is matched as
the *end* of the chain of object keys leading to a value (lists on the way are looked through),
so ``shipping_address.name`` matches in a list page, a single order or a webhook alike and
``BuyerEmail`` wherever Amazon puts it (getOrders' ``BuyerInfo``, getOrderBuyerInfo's payload).

Kinds: ``name`` → ``mask_name`` ("B** N*****"), ``email`` → local part hidden
("b****@hostmail.com"), ``phone`` → ``mask_phone``, ``street`` → ``MASK``, ``secret`` →
``MASK`` (IPs, coordinates, company names: nothing of them is needed).

Sources: Shopify REST Order resource (``email``, ``contact_email``, ``customer``,
``shipping_address``/``billing_address``: name, first_name, last_name, company, address1/2,
phone, latitude, longitude; ``client_details.browser_ip``, ``browser_ip``):
https://shopify.dev/docs/api/admin-rest/2026-10/resources/order. Amazon Orders v0
(``BuyerInfo``: BuyerEmail, BuyerName, BuyerTaxInfo.CompanyLegalName, PurchaseOrderNumber;
``ShippingAddress``: Name, AddressLine1–3, Phone, CompanyName, ``ExtendedFields`` StreetName,
StreetNumber, GeoCoordinates): ordersV0.json in
amzn/selling-partner-api-models.

This is a per-platform table with one small generic walk; when a common mechanism for every
platform lands in ``domain.pii`` these tables move into it.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from domain.pii import MASK, looks_like_ciphertext, mask_name, mask_phone, mask_text

_ADDRESS = {"name": "name", "first_name": "name", "last_name": "name", "company": "secret", "address1": "street",
            "address2": "street", "phone": "phone", "latitude": "secret", "longitude": "secret"}
_AMAZON_ADDRESS = {"Name": "name", "AddressLine1": "street", "AddressLine2": "street", "AddressLine3": "street",
                   "Phone": "phone", "CompanyName": "secret"}

PII_PATHS: dict[str, dict[str, str]] = {
    "shopify": {
        "email": "email", "contact_email": "email", "browser_ip": "secret",
        "customer.first_name": "name", "customer.last_name": "name", "customer.phone": "phone",
        **{f"{where}.{key}": kind for where in ("shipping_address", "billing_address", "default_address", "addresses")
           for key, kind in _ADDRESS.items()},
    },
    "amazon": {
        "BuyerEmail": "email", "BuyerName": "name", "BuyerTaxInfo.CompanyLegalName": "secret",
        "PurchaseOrderNumber": "secret",
        **{f"ShippingAddress.{key}": kind for key, kind in _AMAZON_ADDRESS.items()},
        # getOrderAddress: the street split up, and the delivery point's coordinates
        "ExtendedFields.StreetName": "street", "ExtendedFields.StreetNumber": "secret",
        "GeoCoordinates.Latitude": "secret", "GeoCoordinates.Longitude": "secret",
    },
}


def _masked(kind: str, value: str) -> str:
    if not value.strip() or "*" in value or looks_like_ciphertext(value):
        return value  # empty, already masked by the marketplace, or ciphertext
    if kind == "name":
        return mask_name(value) or value
    if kind == "email":
        return mask_text(value) if "@" in value else MASK
    if kind == "phone":
        return mask_phone(value) or value
    return MASK


def _by_last_key(paths: Mapping[str, str]) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """The paths by their last key, so a value is compared only with the paths ending in its key."""
    found: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for path, kind in paths.items():
        keys = tuple(path.split("."))
        found.setdefault(keys[-1], []).append((keys[:-1], kind))
    return found


def mask_pii_paths(value: Any, paths: Mapping[str, str]) -> Any:
    """``value`` (decoded JSON) with the value at every declared path masked (in place; the
    same object is returned); the rest as is."""
    _mask_in_place(value, paths)
    return value


def _mask_in_place(value: Any, paths: Mapping[str, str]) -> int:
    """Mask the declared paths of ``value`` in place; how many values changed."""
    by_key = _by_last_key(paths)
    changed = 0

    def masked(node: Any, kind: str) -> Any:
        if isinstance(node, str):
            return _masked(kind, node)
        if isinstance(node, (int, float)) and not isinstance(node, bool) and kind == "secret":
            return MASK   # coordinates sent as numbers
        return node

    def walk(node: Any, trail: tuple[str, ...]) -> None:
        nonlocal changed
        if isinstance(node, list):
            for item in node:
                walk(item, trail)
        elif isinstance(node, dict):
            for key, item in node.items():
                if isinstance(item, (dict, list)):
                    walk(item, (*trail, str(key)))
                    continue
                for head, kind in by_key.get(key, ()):
                    if not head or trail[-len(head):] == head:
                        node[key] = masked(item, kind)
                        changed += node[key] is not item
                        break

    walk(value, ())
    return changed


def mask_platform_record(platform: str, record: Any) -> Any:
    """A copy of a decoded record of ``platform`` with its declared buyer data masked (the
    record itself when the platform declares none)."""
    paths = PII_PATHS.get(platform)
    return mask_pii_paths(json.loads(json.dumps(record, default=str)), paths) if paths else record


def mask_platform_body(platform: str, raw: bytes) -> bytes:
    """A body of ``platform`` as received with its declared buyer data masked. A body that is
    not JSON, or holds none of it, comes back byte for byte."""
    paths = PII_PATHS.get(platform)
    if not paths:
        return raw
    try:
        decoded = json.loads(raw)
    except ValueError:
        return raw
    if not _mask_in_place(decoded, paths):
        return raw
    return json.dumps(decoded, ensure_ascii=False, separators=(",", ":")).encode()
