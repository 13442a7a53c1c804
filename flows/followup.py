"""Flow ``customer-service-followup`` (daily 09:00 Asia/Shanghai): the morning list for
customer service — orders paid yesterday and not yet shipped, orders that cannot ship for
lack of stock (the buyer must be told), orders near or past their shipping deadline, and
shipped orders with abnormal logistics. Buyer names and phones appear only masked.

Out of stock and near/past the deadline are the shipping run's lists (``domain.batching``):
out of stock = the orders the latest shipping-batches run held for stock (its stored holds),
never an order in a batch; the deadline list = ``ship_first``, the shipping report's own.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import readable_run_name
from config.schema import load_config
from config.settings import get_settings
from domain.followup import FollowupRules, Followups, find_followups, yesterday
from shopops.as_of import as_of_day, day_close
from shopops.i18n import count_line, labelled, say, t
from shopops.logmask import install_log_masking
from tasks.reporting import publish_report
from warehouse import repository
from warehouse import shipping as shipping_store
from warehouse.db import make_engine

#: what a follow-up list shows: enough to find the order, never clear PII
COLUMNS = ["shop_id", "order_id", "status", "paid_at", "ship_by_at", "receiver_name_masked",
           "receiver_phone_masked", "province", "city", "buyer_remark", "tracking_no"]


@task(name="load-open-orders", cache_policy=NO_CACHE)
def load_open_orders(database_url: str, as_of: datetime | None = None):
    """Orders waiting or shipped with their lines, the open holds the shipping run stored and
    the orders in a batch — read in one transaction, so they describe one moment; ``as_of``:
    that moment in the past (shopops/as_of.py): as they stood then."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            frames = repository.open_orders(conn, ["paid", "presale_deposit_paid", "shipped"], as_of=as_of)
            return (frames, shipping_store.open_holds(conn, as_of=as_of),
                    shipping_store.batched_order_keys(conn, as_of=as_of))
    finally:
        engine.dispose()


def _sheet(frame: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
    columns = [c for c in COLUMNS + extra if c in frame.columns]
    frame = labelled(frame, status="order_status")
    if "problem" in frame.columns:
        frame = frame.assign(problem=frame["problem"].map(say))
    return frame[columns].rename(columns={c: t(f"fu_{c}") for c in columns}).reset_index(drop=True)


@flow(name="customer-service-followup", flow_run_name=readable_run_name)
def customer_service_followup(now: datetime | None = None, as_of: date | None = None) -> dict[str, int]:
    """Build the morning follow-up lists and publish them.

    Args:
        now: the moment to evaluate at (UTC); empty means now.
        as_of: recompute a past day as if it were that day (YYYY-MM-DD in the operations
            zone): the orders paid on it and not shipped by its close, deadlines and the
            shipping run's holds as they stood at 24:00, nothing after. Empty: now.
    """
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()
    zone = config.rules.orders.default_timezone
    as_of = as_of_day(as_of, zone)            # a malformed or future day stops here, said so
    now = day_close(as_of, zone) if as_of else (now or datetime.now(timezone.utc))
    shipping = config.rules.shipping
    rules = FollowupRules(ship_deadline_hours=shipping.ship_deadline_hours,
                          near_deadline_hours=shipping.near_deadline_hours,
                          abnormal_logistics_days=shipping.abnormal_logistics_days,
                          timezone=config.rules.orders.default_timezone)
    frames, holds, batched = load_open_orders(get_settings().warehouse_url, now if as_of else None)
    found: Followups = find_followups(frames.orders, frames.lines, holds, batched, now, rules)
    counts = found.counts()
    tables = {
        "unshipped": _sheet(found.unshipped_from_yesterday, []),
        "out_of_stock": _sheet(found.out_of_stock, []),
        # "ship by" here is the deadline that applies (domain.batching.shipping_deadline)
        "deadline": _sheet(found.deadline.assign(ship_by_at=found.deadline["deadline"],
                                                 hours_left=found.deadline["hours_left"].round(1)), ["hours_left"]),
        "logistics": _sheet(found.abnormal_logistics, ["problem"]),
    }
    summary = "\n".join(f"- {t('fu_' + name)}: **{n}**" for name, n in counts.items())
    summary += "\n\n" + t("fu_out_of_stock_basis")
    title = t("fu_title", day=yesterday(now, rules.timezone).isoformat())
    if as_of:
        summary = t("as_of_note", day=as_of.isoformat(), zone=zone) + "\n\n" + summary
        title = t("as_of_title", title=title)
    publish_report(family="customer-service-followup", title=title, tables=tables, summary_md=summary, as_of=as_of)
    logger.info(count_line({**({"as_of": as_of.isoformat()} if as_of else {}), **counts}))
    return counts


if __name__ == "__main__":
    customer_service_followup()
