"""Customer-service follow-ups the manuals ask for every morning (domain-rules.md §1):
检查前一天付款订单是否全部发货, 缺货订单通知顾客, abnormal logistics — and orders near or past
their shipping deadline. Pure pandas: orders in, one list per follow-up kind out.

"Out of stock" and "near or past the deadline" are the shipping run's own lists, by the same
functions of ``domain.batching`` (``out_of_stock_orders`` on the holds the shipping run stored,
``ship_first``): customer service and the warehouse never disagree about an order.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from domain.batching import out_of_stock_orders, ship_first, shipping_deadline
from domain.text import Text

__all__ = ["WAITING_TO_SHIP", "FollowupRules", "Followups", "find_followups", "shipping_deadline", "yesterday"]

WAITING_TO_SHIP = ("paid", "presale_deposit_paid")


@dataclass(frozen=True)
class FollowupRules:
    ship_deadline_hours: dict[str, float]      # per platform, with a "default"
    near_deadline_hours: float
    abnormal_logistics_days: float             # shipped this long ago and still not completed
    timezone: str = "Asia/Shanghai"            # "yesterday" is the operations team's day


@dataclass
class Followups:
    unshipped_from_yesterday: pd.DataFrame
    out_of_stock: pd.DataFrame
    deadline: pd.DataFrame                     # near or past the shipping deadline
    abnormal_logistics: pd.DataFrame

    def counts(self) -> dict[str, int]:
        return {name: len(frame) for name, frame in vars(self).items()}


def find_followups(orders: pd.DataFrame, lines: pd.DataFrame, holds: pd.DataFrame, batched: pd.DataFrame,
                   now: datetime, rules: FollowupRules) -> Followups:
    """``orders``/``lines`` in canonical columns; ``holds``: the open holds the shipping run
    stored (ORDER_KEY, reasons); ``batched``: ORDER_KEY of the orders in a batch (not
    cancelled, not pulled out). Out of stock = the orders held for stock (none before a
    shipping run); near or past the deadline = ``domain.batching.ship_first``."""
    zone = ZoneInfo(rules.timezone)
    today = now.astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=1), time.min, tzinfo=zone)
    end = datetime.combine(today, time.min, tzinfo=zone)
    paid = pd.to_datetime(orders["paid_at"], utc=True)
    waiting = orders[orders["status"].isin(WAITING_TO_SHIP)]

    unshipped = waiting[(paid.loc[waiting.index] >= start) & (paid.loc[waiting.index] < end)]
    near = ship_first(waiting, lines, rules, now)
    out_of_stock = out_of_stock_orders(holds, waiting, batched)

    shipped = orders[orders["status"] == "shipped"].copy()
    shipped_at = pd.to_datetime(shipped["shipped_at"], utc=True)
    late = shipped_at < pd.Timestamp(now) - pd.Timedelta(days=rules.abnormal_logistics_days)
    no_tracking = shipped["tracking_no"].isna() | (shipped["tracking_no"].astype("string").str.strip() == "")
    abnormal = shipped[late.fillna(False) | no_tracking].copy()
    abnormal["problem"] = [Text("no tracking number", "lbl_followup_problem_no_tracking") if nt
                           else Text("shipped long ago, not delivered", "lbl_followup_problem_not_delivered")
                           for nt in no_tracking.loc[abnormal.index]]
    return Followups(unshipped_from_yesterday=unshipped, out_of_stock=out_of_stock, deadline=near,
                     abnormal_logistics=abnormal)


def yesterday(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date() - timedelta(days=1)
