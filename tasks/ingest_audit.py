"""Checking and repairing a shop's ingestion by hand (issue 18, "Completeness").

``audit_shop``: for each of the last N days (the shop's own calendar), the platform's own count
of orders modified that day (``Connector.count_orders``: TOP ``total_results``, PDD
``total_count``, JD ``orderTotal``, Douyin ``total``, Shopify ``orders/count.json``; Amazon
gives none) against the warehouse's orders last modified that day. Both count an order once, by
its latest modification, so on a warehouse that is up to date they agree; a day that differs
says where to rewind. ``rewind_shop``: move a watermark back, with who and why recorded
(``ingest_rewinds``), under the shop's run guard.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from config.schema import AppConfig
from connectors import Connector
from tasks.ingest import lease_holder_id, shop_connector
from warehouse import repository
from warehouse.db import make_engine


@dataclass(frozen=True)
class AuditDay:
    day: str                       # YYYY-MM-DD in the shop's time zone
    start: datetime                # UTC
    end: datetime                  # UTC, clipped to now − the platform's safety lag
    platform: int | None           # None: the platform gives no count
    warehouse: int

    @property
    def difference(self) -> int | None:
        return None if self.platform is None else self.warehouse - self.platform


def audit_shop(config: AppConfig, shop_id: str, database_url: str, days: int, *,
               clock: Callable[[], datetime] | None = None, connector: Connector | None = None) -> list[AuditDay]:
    """The platform's count and the warehouse's per day, for the last ``days`` days, oldest first."""
    if days < 1:
        raise ValueError("--days must be at least 1")
    shop = config.shop(shop_id)
    clock = clock or (lambda: datetime.now(timezone.utc))
    zone = ZoneInfo(shop.timezone)
    now = clock()
    today = now.astimezone(zone).date()
    engine = make_engine(database_url)
    own = connector is None
    connector = connector or shop_connector(shop, clock)
    try:
        limit = now - connector.settings.safety_lag
        rows = []
        for back in range(days - 1, -1, -1):
            day = today - timedelta(days=back)
            start = datetime.combine(day, time(0), zone).astimezone(timezone.utc)
            end = min(datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc), limit)
            if end <= start:
                continue
            rows.append(AuditDay(day.isoformat(), start, end, connector.count_orders(start, end),
                                 repository.orders_modified_between(engine, shop.id, start, end)))
        return rows
    finally:
        if own:
            connector.close()
        engine.dispose()


def rewind_shop(config: AppConfig, shop_id: str, database_url: str, to: datetime, *, by: str,
                reason: str) -> datetime | None:
    """Move the shop's watermark back to ``to`` (recorded with ``by`` and ``reason``); the
    watermark it had. Raises ``repository.RewindRefused`` when a pull holds the shop or ``to``
    is not before the watermark."""
    if not by.strip() or not reason.strip():
        raise repository.RewindRefused("say who moves it (--by) and why (--reason): both are recorded")
    shop = config.shop(shop_id)
    engine = make_engine(database_url)
    try:
        return repository.rewind_watermark(engine, shop.id, to, by=by.strip(), reason=reason.strip(),
                                           holder=lease_holder_id(f"rewind-{by.strip()}"),
                                           ttl=timedelta(minutes=config.rules.orders.run_lease_minutes))
    finally:
        engine.dispose()
