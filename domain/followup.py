"""Customer-service follow-ups the manuals ask for every morning (domain-rules.md §1):
检查前一天付款订单是否全部发货, 缺货订单通知顾客, abnormal logistics — and orders near or past
their shipping deadline. Pure pandas: orders and stock in, one list per follow-up kind out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

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


def shipping_deadline(orders: pd.DataFrame, rules: FollowupRules) -> pd.Series:
    """The marketplace's own deadline where it gives one, else payment + the platform default."""
    hours = orders["platform"].map(rules.ship_deadline_hours).fillna(rules.ship_deadline_hours["default"])
    fallback = pd.to_datetime(orders["paid_at"], utc=True) + pd.to_timedelta(hours, unit="h")
    given = pd.to_datetime(orders["ship_by_at"], utc=True)
    return given.fillna(fallback)


def find_followups(orders: pd.DataFrame, lines: pd.DataFrame, available: pd.Series, now: datetime,
                   rules: FollowupRules) -> Followups:
    """``orders``/``lines`` in canonical columns; ``available``: units per SKU (may be empty:
    then no order is reported out of stock, as nothing is known about stock)."""
    zone = ZoneInfo(rules.timezone)
    today = now.astimezone(zone).date()
    start = datetime.combine(today - timedelta(days=1), time.min, tzinfo=zone)
    end = datetime.combine(today, time.min, tzinfo=zone)
    paid = pd.to_datetime(orders["paid_at"], utc=True)
    waiting = orders[orders["status"].isin(WAITING_TO_SHIP)].copy()
    waiting["deadline"] = shipping_deadline(waiting, rules)
    waiting["hours_left"] = (waiting["deadline"] - pd.Timestamp(now)).dt.total_seconds() / 3600

    unshipped = waiting[(paid.loc[waiting.index] >= start) & (paid.loc[waiting.index] < end)]
    near = waiting[waiting["hours_left"] <= rules.near_deadline_hours].sort_values("hours_left")

    out_of_stock = waiting.iloc[0:0]
    if len(available):
        demand = lines.merge(waiting[["platform", "shop_id", "order_id"]], on=["platform", "shop_id", "order_id"])
        demand = demand[~demand["is_gift"].fillna(False).astype(bool)]
        needed = demand.groupby("sku")["quantity"].sum()
        short = needed[needed > available.reindex(needed.index).fillna(0)].index
        short_orders = demand.loc[demand["sku"].isin(short), ["platform", "shop_id", "order_id"]].drop_duplicates()
        out_of_stock = waiting.merge(short_orders, on=["platform", "shop_id", "order_id"])

    shipped = orders[orders["status"] == "shipped"].copy()
    shipped_at = pd.to_datetime(shipped["shipped_at"], utc=True)
    late = shipped_at < pd.Timestamp(now) - pd.Timedelta(days=rules.abnormal_logistics_days)
    no_tracking = shipped["tracking_no"].isna() | (shipped["tracking_no"].astype("string").str.strip() == "")
    abnormal = shipped[late.fillna(False) | no_tracking].copy()
    abnormal["problem"] = ["no tracking number" if nt else "shipped long ago, not delivered"
                           for nt in no_tracking.loc[abnormal.index]]
    return Followups(unshipped_from_yesterday=unshipped, out_of_stock=out_of_stock, deadline=near,
                     abnormal_logistics=abnormal)


def yesterday(now: datetime, zone: str) -> date:
    return now.astimezone(ZoneInfo(zone)).date() - timedelta(days=1)
