"""Raw marketplace records → canonical frames (``domain.canonical``), one module per platform.

Pure functions: records in (the dicts a connector's ``Page.records`` holds), frames out.
Each platform module documents its encodings (money, times, ids, statuses); the shared
conventions live in ``_common``. ``hash_key`` is the deployment's secret key for the
one-way buyer/address hashes (``domain.pii.stable_hash``); it is an argument so that no key
is ever a constant in code.

Speed: a plain loop per record, typed into DataFrames once per call — and the typing has a
fixed cost per call, so the pipeline calls this once per chunk of pages, not per page
(``tasks.ingest._normalise_chunk``). Measured on one core of the shared dev host, one call
over a Double-11 hour (2026-11-23): TOP ≈ 22k orders/s, JD ≈ 23k, PDD ≈ 20k, Douyin ≈ 18k;
the same orders page by page ran 2–5× slower. At 1M orders this loop is ≈ 50 s of CPU, the
largest share of the client's time after HTTP itself.
"""
from __future__ import annotations

from collections.abc import Callable

from domain.canonical import CanonicalFrames
from domain.normalise import amazon, douyin, file_import, jd, pdd, shopify, taobao

Normaliser = Callable[[list[dict], str, "bytes | str"], CanonicalFrames]

NORMALISERS: dict[str, Normaliser] = {
    "taobao": taobao.normalise,
    "jd": jd.normalise,
    "pdd": pdd.normalise,
    "douyin": douyin.normalise,
    "shopify": shopify.normalise,
    "amazon": amazon.normalise,
    "file": file_import.normalise,
}


def pii_paths(platform: str) -> dict[str, str]:
    """The platform's declared table of PII paths (``PII_PATHS`` of its normaliser module; empty
    for a platform that declares none), for ``domain.pii.mask_pii_payload``."""
    module = _MODULES.get(platform)
    return dict(getattr(module, "PII_PATHS", None) or {})


def mask_stored(raw: bytes, platform: str | None) -> bytes:
    """A marketplace body as it may be stored (raw page, quarantined record): the generic phone,
    street and remark keys masked (``domain.pii.mask_payload``), then the platform's PII paths."""
    from domain.pii import mask_payload, mask_pii_payload

    masked = mask_payload(raw)
    return mask_pii_payload(masked, pii_paths(platform)) if platform else masked


_MODULES = {"taobao": taobao, "jd": jd, "pdd": pdd, "douyin": douyin, "shopify": shopify, "amazon": amazon,
            "file": file_import}


def normalise(platform: str, records: list[dict], shop_id: str, *, hash_key: bytes | str) -> CanonicalFrames:
    """Canonical orders, lines and refunds of ``records`` from ``platform`` for ``shop_id``."""
    try:
        normaliser = NORMALISERS[platform]
    except KeyError:
        raise ValueError(f"no normaliser for platform {platform!r}; known: {', '.join(NORMALISERS)}") from None
    return normaliser(records, shop_id, hash_key)
