"""Flow ``customer-service-followup`` (daily 09:00 Asia/Shanghai): the morning list for
customer service — orders paid yesterday and not yet shipped, orders that cannot ship for
lack of stock (the buyer must be told), orders near or past their shipping deadline, and
shipped orders with abnormal logistics. Buyer names and phones appear only masked.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from config.schema import load_config
from config.settings import get_settings
from domain.followup import FollowupRules, Followups, find_followups, yesterday
from shopops.i18n import t
from shopops.logmask import install_log_masking
from tasks.reporting import publish_report
from warehouse import repository
from warehouse.db import make_engine

#: what a follow-up list shows: enough to find the order, never clear PII
COLUMNS = ["shop_id", "order_id", "status", "paid_at", "ship_by_at", "receiver_name_masked",
           "receiver_phone_masked", "province", "city", "buyer_remark", "tracking_no"]


@task(name="load-open-orders", cache_policy=NO_CACHE)
def load_open_orders(database_url: str):
    engine = make_engine(database_url)
    try:
        frames = repository.open_orders(engine, ["paid", "presale_deposit_paid", "shipped"])
        return frames, repository.available_by_sku(engine)
    finally:
        engine.dispose()


def _sheet(frame: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
    columns = [c for c in COLUMNS + extra if c in frame.columns]
    return frame[columns].rename(columns={c: t(f"fu_{c}") for c in columns}).reset_index(drop=True)


@flow(name="customer-service-followup")
def customer_service_followup(now: datetime | None = None) -> dict[str, int]:
    """Build the morning follow-up lists and publish them.

    Args:
        now: the moment to evaluate at (UTC); empty means now.
    """
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()
    now = now or datetime.now(timezone.utc)
    shipping = config.rules.shipping
    rules = FollowupRules(ship_deadline_hours=shipping.ship_deadline_hours,
                          near_deadline_hours=shipping.near_deadline_hours,
                          abnormal_logistics_days=shipping.abnormal_logistics_days,
                          timezone=config.rules.orders.default_timezone)
    frames, available = load_open_orders(get_settings().warehouse_url)
    found: Followups = find_followups(frames.orders, frames.lines, available, now, rules)
    counts = found.counts()
    tables = {
        "unshipped": _sheet(found.unshipped_from_yesterday, []),
        "out_of_stock": _sheet(found.out_of_stock, []),
        "deadline": _sheet(found.deadline.assign(hours_left=found.deadline["hours_left"].round(1)), ["hours_left"]),
        "logistics": _sheet(found.abnormal_logistics, ["problem"]),
    }
    summary = "\n".join(f"- {t('fu_' + name)}: **{n}**" for name, n in counts.items())
    if available.empty:
        summary += "\n\n" + t("fu_no_stock_data")
    publish_report(family="customer-service-followup",
                   title=t("fu_title", day=yesterday(now, rules.timezone).isoformat()),
                   tables=tables, summary_md=summary)
    logger.info("follow-ups: %s", counts)
    return counts


if __name__ == "__main__":
    customer_service_followup()
