"""Re-validating quarantined orders after their cause is fixed (e.g. a SKU added to the
catalogue): what now passes is upserted and released, the rest keeps its refreshed reasons."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

from config.schema import AppConfig
from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames
from domain.normalise import normalise
from domain.validation import ValidationRules, resolve_listed_skus, validate_orders
from warehouse import repository
from warehouse.db import make_engine

def reason_in_words(reason: str, locale: str | None = None) -> str:
    """A stored quarantine reason ("line 2: SKU 'X-1' is not in the catalogue", written by the
    validation in English) in the reader's language, its particulars kept: "第 2 行：商品编码不在
    商品档案中（'X-1'）". A reason of no known family is shown as stored."""
    import re

    from shopops.i18n import label, t
    from tasks.ingest import reason_family

    words = label("quarantine_reason", reason_family(reason), locale)
    if words == reason_family(reason):
        return reason
    line = re.match(r"^line (\d+): ", reason)
    values = re.findall(r"'[^']*'", reason)
    text = (t("q_line", locale, n=line[1]) if line else "") + str(words)
    return text + (t("q_values", locale, values=", ".join(values)) if values else "")


_TIMES = ("created_at", "paid_at", "modified_at", "shipped_at", "ship_by_at")


@dataclass
class RecheckResult:
    checked: int
    released: int
    still_open: int


def _frames_of(record: dict, platform: str, shop_id: str, hash_key: str) -> CanonicalFrames:
    if "raw" in record:  # could not be read at the time: read it again with today's code
        return normalise(platform, [record["raw"]], shop_id, hash_key=hash_key)
    orders = pd.DataFrame([record["order"]] if record.get("order") else [], columns=ORDER_COLUMNS)
    for column in _TIMES:
        orders[column] = pd.to_datetime(orders[column], utc=True, format="ISO8601")
    lines = pd.DataFrame(record.get("lines") or [], columns=LINE_COLUMNS)
    refunds = pd.DataFrame(record.get("refunds") or [], columns=REFUND_COLUMNS)
    for column in ("created_at", "modified_at"):
        refunds[column] = pd.to_datetime(refunds[column], utc=True, format="ISO8601")
    return CanonicalFrames(orders=orders, lines=lines, refunds=refunds)


def recheck_quarantine(config: AppConfig, database_url: str, hash_key: str, shop_id: str | None = None,
                       now: datetime | None = None) -> RecheckResult:
    now = now or datetime.now(timezone.utc)
    rules = config.rules.orders
    vrules = ValidationRules(known_currencies=frozenset(rules.known_currencies),
                             line_total_tolerance_minor_per_line=rules.line_total_tolerance_minor_per_line,
                             paid_time_future_tolerance_seconds=rules.paid_time_future_tolerance_seconds)
    engine = make_engine(database_url)
    released = still = 0
    try:
        # older versions first: storing a newer valid version supersedes them, so a still-invalid
        # older version read after it would be opened again
        rows = sorted(repository.open_quarantine(engine, shop_id),
                      key=lambda r: (r["record_modified_at"] is not None, r["record_modified_at"] or now))
        skus, listed = repository.known_skus(engine), repository.listing_skus(engine, shop_id)
        for row in rows:
            if (row["record"] or {}).get("undecodable"):  # its bytes are lost: only a person can decide
                with engine.begin() as conn:
                    repository.mark_quarantine(conn, [row["id"]], "open", now=now)
                still += 1
                continue
            try:
                frames = _frames_of(row["record"], row["platform"], row["shop_id"], hash_key)
            except Exception as exc:  # noqa: BLE001 - still unreadable: keep it, say why
                with engine.begin() as conn:
                    repository.mark_quarantine(conn, [row["id"]], "open",
                                               {row["id"]: [f"could not be read: {type(exc).__name__}: {exc}"]}, now)
                still += 1
                continue
            resolve_listed_skus(frames, listed, skus)   # a listing added since: the line's SKU is known now
            outcome = validate_orders(frames, skus, now, vrules)
            with engine.begin() as conn:
                if len(outcome.rejected) or not len(outcome.valid.orders):
                    reasons = [r for rs in outcome.rejected["reasons"] for r in rs] or ["no order in the record"]
                    repository.mark_quarantine(conn, [row["id"]], "open", {row["id"]: reasons}, now)
                    still += 1
                else:
                    repository.upsert_orders(conn, outcome.valid)  # newest-wins still applies
                    repository.mark_quarantine(conn, [row["id"]], "released", now=now)
                    released += 1
    finally:
        engine.dispose()
    return RecheckResult(checked=len(rows), released=released, still_open=still)
