"""Promotion campaigns (双11, 618, 双12; domain-rules.md §6): the price and coupon rules, stock
readiness by the preparation date, the live figures and the after-action comparison.

Pure pandas: the tasks load frames from the warehouse and the campaign file, call these
functions and store or report what comes back. Every number arrives in ``PromotionRules``
(the ``promotions:`` block of rules.yaml). Money is integer minor units (fen) throughout.

The campaign moves through ``defined → prepared → running → closed`` (``phase_step``); each
phase may be repeated (it then does its work again or reports that nothing is left to do), and
a phase out of order is refused with the phase to run first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from domain.batching import hours_left
from domain.followup import WAITING_TO_SHIP, FollowupRules, shipping_deadline
from domain.restock import round_to_order
from domain.text import Text

PHASES: tuple[str, ...] = ("prepare", "start", "report", "close")

#: price/coupon rules in the order they are listed; ``error`` blocks the start, ``warning`` is
#: for a person to judge (the manuals call the coupon share a recommendation)
RULE_SEVERITY: dict[str, str] = {
    "price_above_list_share": "error",
    "price_not_below_history_low": "error",
    "no_price_history": "error",
    "coupon_not_multiple": "error",
    "coupon_above_max": "error",
    "coupon_above_price_share": "warning",
    "other_discount_before": "warning",
}
VIOLATION_COLUMNS: tuple[str, ...] = (
    "sku", "rule", "severity", "list_price_minor", "campaign_price_minor", "coupon_minor", "limit_minor",
    "reference_minor", "reference_at")
READINESS_COLUMNS: tuple[str, ...] = (
    "sku", "kind", "expected_units", "demand_source", "required_units", "on_hand", "reserved", "available",
    "inbound_before_prep", "inbound_after_prep", "ready_units", "shortfall_units", "ready")
SHORTFALL_COLUMNS: tuple[str, ...] = (
    "sku", "level", "kind", "shortfall_units", "lead_time_days", "case_pack", "moq", "suggested_qty",
    "order_by", "reason")
LIVE_SKU_COLUMNS: tuple[str, ...] = (
    "sku", "orders", "units", "revenue_minor", "available", "units_per_hour", "cover_hours", "oversold_units",
    "limited_quantity", "limit_left")
METRIC_NAMES: tuple[str, ...] = (
    "orders", "units", "revenue_minor", "aov_minor", "refund_rate", "stock_outs", "late_shipments")


@dataclass(frozen=True)
class PromotionRules:
    """The numbers of §6 (field names are the keys of rules.yaml ``promotions:``)."""

    stock_readiness_share: float
    max_price_share_of_list: float
    price_history_days: int
    no_other_discount_days: int
    coupon_multiple_minor: int
    coupon_max_minor: int
    coupon_recommended_max_share: float
    campaign_pull_every_minutes: int
    live_report_every_minutes: int
    campaign_buffer_units: int
    baseline_weeks: int

    @classmethod
    def from_config(cls, block: Mapping[str, Any]) -> "PromotionRules":
        return cls(**{f.name: block[f.name] for f in fields(cls)})


# --- the state machine ---------------------------------------------------------------------

@dataclass(frozen=True)
class PhaseStep:
    """What a phase does from a campaign status: ``allowed`` (else ``refusal`` names the phase
    to run first), ``repeat`` (the phase already ran: do it again without a second transition),
    and the status afterwards."""

    allowed: bool
    repeat: bool = False
    status_after: str | None = None
    refusal: str | None = None


def phase_step(status: str, phase: str) -> PhaseStep:
    """The transition table. ``refusal`` is a message key: ``pr_refuse_<phase>_<status>``."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase '{phase}'; one of {', '.join(PHASES)}")
    table: dict[tuple[str, str], PhaseStep] = {
        ("defined", "prepare"): PhaseStep(True, status_after="prepared"),
        ("prepared", "prepare"): PhaseStep(True, repeat=True, status_after="prepared"),
        ("prepared", "start"): PhaseStep(True, status_after="running"),
        ("running", "start"): PhaseStep(True, repeat=True, status_after="running"),
        ("running", "report"): PhaseStep(True, repeat=True, status_after="running"),
        ("closed", "report"): PhaseStep(True, repeat=True, status_after="closed"),
        ("running", "close"): PhaseStep(True, status_after="closed"),
        ("closed", "close"): PhaseStep(True, repeat=True, status_after="closed"),
    }
    return table.get((status, phase), PhaseStep(False, refusal=f"pr_refuse_{phase}_{status}"))


# --- price and coupon rules ----------------------------------------------------------------

def price_violations(skus: pd.DataFrame, history: pd.DataFrame, rules: PromotionRules,
                     window_start: datetime) -> pd.DataFrame:
    """Every §6 price and coupon rule broken, one row per SKU and rule (``VIOLATION_COLUMNS``).

    ``skus``: sku, list_price_minor, campaign_price_minor, coupon_minor (the campaign file).
    ``history``: sku, observed_at (UTC), price_minor — prices observed in any shop, in the
    campaign's currency; only the ``price_history_days`` before ``window_start`` count.

    - campaign price <= ``max_price_share_of_list`` × list price (limit = that product, floored);
    - campaign price < the lowest price of the history window (reference = that low and when);
      a SKU with no observation in the window cannot be checked: ``no_price_history``;
    - coupon a multiple of ``coupon_multiple_minor``, at most ``coupon_max_minor``, and
      (recommended) at most ``coupon_recommended_max_share`` × campaign price;
    - no other discount activity in the ``no_other_discount_days`` before the window: a price
      below the list price seen then (reference = the lowest such price and when).
    """
    start = pd.Timestamp(window_start).tz_convert("UTC")
    observed = history.assign(observed_at=pd.to_datetime(history["observed_at"], utc=True))
    observed = observed[observed["observed_at"] < start]
    recent = observed[observed["observed_at"] >= start - pd.Timedelta(days=rules.price_history_days)]
    lows = _lowest(recent)
    items = skus.set_index("sku")
    discounted = observed[observed["observed_at"] >= start - pd.Timedelta(days=rules.no_other_discount_days)]
    discounted = discounted.assign(list_price_minor=discounted["sku"].map(items["list_price_minor"]))
    discount_lows = _lowest(discounted[discounted["price_minor"] < discounted["list_price_minor"]])

    rows: list[dict[str, Any]] = []
    for sku, item in items.iterrows():
        price, listed, coupon = int(item["campaign_price_minor"]), int(item["list_price_minor"]), int(item["coupon_minor"])

        def add(rule: str, limit: int | None = None, reference: int | None = None, at: Any = None) -> None:
            rows.append({"sku": sku, "rule": rule, "severity": RULE_SEVERITY[rule], "list_price_minor": listed,
                         "campaign_price_minor": price, "coupon_minor": coupon, "limit_minor": limit,
                         "reference_minor": reference, "reference_at": at})

        price_limit = math.floor(listed * rules.max_price_share_of_list + 1e-9)
        if price > price_limit:
            add("price_above_list_share", limit=price_limit)
        if sku in lows.index:
            low, low_at = int(lows.at[sku, "price_minor"]), lows.at[sku, "observed_at"]
            if price >= low:
                add("price_not_below_history_low", limit=low - 1, reference=low, at=low_at)
        else:
            add("no_price_history")
        if coupon % rules.coupon_multiple_minor:
            add("coupon_not_multiple", limit=rules.coupon_multiple_minor)
        if coupon > rules.coupon_max_minor:
            add("coupon_above_max", limit=rules.coupon_max_minor)
        coupon_limit = math.floor(price * rules.coupon_recommended_max_share + 1e-9)
        if coupon > coupon_limit:
            add("coupon_above_price_share", limit=coupon_limit)
        if sku in discount_lows.index:
            add("other_discount_before", limit=listed, reference=int(discount_lows.at[sku, "price_minor"]),
                at=discount_lows.at[sku, "observed_at"])
    frame = pd.DataFrame(rows, columns=list(VIOLATION_COLUMNS))
    order = {rule: n for n, rule in enumerate(RULE_SEVERITY)}
    return frame.sort_values(["sku", "rule"], key=lambda c: c.map(order) if c.name == "rule" else c,
                             ignore_index=True)


def _lowest(observations: pd.DataFrame) -> pd.DataFrame:
    """Per SKU the lowest price and the first time it was seen (index sku)."""
    ordered = observations.sort_values(["sku", "price_minor", "observed_at"])
    return ordered.groupby("sku")[["price_minor", "observed_at"]].first()


# --- readiness by the preparation date -------------------------------------------------------

def window_days(window_start: datetime, window_end: datetime) -> float:
    return (window_end - window_start).total_seconds() / 86400


def expected_demand(skus: pd.DataFrame, daily_units: pd.Series, uplift_factor: float, days: float) -> pd.DataFrame:
    """Expected campaign units per promoted SKU: the file's ``expected_units`` where given, else
    normal daily units (``daily_units``, per SKU) × ``uplift_factor`` × the window's days,
    rounded up. Returns sku, expected_units, demand_source (expected_units | uplift)."""
    given = skus.set_index("sku")["expected_units"]
    normal = daily_units.reindex(given.index).fillna(0.0)
    from_uplift = np.ceil(normal * uplift_factor * days - 1e-9).astype("int64")
    out = pd.DataFrame({"expected_units": given.fillna(pd.Series(from_uplift, index=given.index)).astype("int64"),
                        "demand_source": np.where(given.notna(), "expected_units", "uplift")}, index=given.index)
    return out.rename_axis("sku").reset_index()


def readiness(demand: pd.DataFrame, gifts: pd.DataFrame, stock: pd.DataFrame, share: float) -> pd.DataFrame:
    """Stock by the preparation date against ``share`` of the expected demand, per SKU.

    ``demand``: sku, expected_units, demand_source (``expected_demand``). ``gifts``: buy_sku,
    gift_sku, gift_quantity — a gift SKU is expected as often as its buy SKU sells, times its
    quantity, and judged by the same share. ``stock``: sku, on_hand, reserved (units of paid
    orders not yet shipped: already owed to buyers), inbound_before_prep, inbound_after_prep
    (open purchase orders expected on/before and after the preparation date).
    available = on hand − reserved (negative when oversold: that debt is paid first);
    ready = available + inbound before prep; required = ceil(share × expected);
    shortfall = required − ready, at least 0. Returns ``READINESS_COLUMNS``, promoted SKUs first.
    """
    promoted = demand.assign(kind="promoted")
    gift_demand = gifts.merge(demand, left_on="buy_sku", right_on="sku")
    gift_demand = (gift_demand.assign(expected_units=gift_demand["expected_units"] * gift_demand["gift_quantity"])
                   .groupby("gift_sku", as_index=False)["expected_units"].sum()
                   .rename(columns={"gift_sku": "sku"}).assign(kind="gift", demand_source="gift_of_promoted"))
    frame = pd.concat([promoted, gift_demand], ignore_index=True)
    counts = ["on_hand", "reserved", "inbound_before_prep", "inbound_after_prep"]
    frame = frame.join(stock.set_index("sku")[counts], on="sku")
    frame[counts] = frame[counts].fillna(0).astype("int64")
    frame["available"] = frame["on_hand"] - frame["reserved"]
    frame["required_units"] = np.ceil(frame["expected_units"] * share - 1e-9).astype("int64")
    frame["ready_units"] = frame["available"] + frame["inbound_before_prep"]
    frame["shortfall_units"] = (frame["required_units"] - frame["ready_units"]).clip(lower=0).astype("int64")
    frame["ready"] = frame["shortfall_units"] == 0
    return frame[list(READINESS_COLUMNS)]


def shortfall_restock(ready: pd.DataFrame, terms: pd.DataFrame, today: date, prep_date: date,
                      window_start: date, default_lead_time_days: int) -> pd.DataFrame:
    """A restock suggestion per SKU short of its readiness target (``SHORTFALL_COLUMNS``).

    ``terms``: sku, lead_time_days, case_pack, moq. Quantity = the shortfall in whole case packs,
    at least the MOQ (``domain.restock.round_to_order``). Level ``critical`` when an order placed
    today arrives after the window starts (the campaign will sell out), else ``warning``;
    ``order_by`` is the last day an order still arrives by the preparation date.
    """
    short = ready[ready["shortfall_units"] > 0][["sku", "kind", "shortfall_units"]]
    frame = short.merge(terms[["sku", "lead_time_days", "case_pack", "moq"]], on="sku", how="left")
    frame["lead_time_days"] = frame["lead_time_days"].fillna(default_lead_time_days).astype("int64")
    frame[["case_pack", "moq"]] = frame[["case_pack", "moq"]].fillna(1).astype("int64")
    frame["suggested_qty"] = [round_to_order(q, p, m) for q, p, m in
                              zip(frame["shortfall_units"], frame["case_pack"], frame["moq"])]
    arrives = [today + timedelta(days=int(lead)) for lead in frame["lead_time_days"]]
    frame["order_by"] = [prep_date - timedelta(days=int(lead)) for lead in frame["lead_time_days"]]
    frame["level"] = ["critical" if at > window_start else "warning" for at in arrives]
    frame["reason"] = [
        Text(f"campaign readiness: {q} units short of the target by {prep_date.isoformat()}; "
             f"an order today arrives {at.isoformat()} (lead time {lead} d)", "pr_shortfall_reason", short=q,
             prep=prep_date.isoformat(), arrives=at.isoformat(), lead=lead)
        for q, at, lead in zip(frame["shortfall_units"], arrives, frame["lead_time_days"])]
    return frame[list(SHORTFALL_COLUMNS)]


# --- live report -------------------------------------------------------------------------

def live_figures(lines: pd.DataFrame, available: pd.Series, skus: pd.DataFrame, window_start: datetime,
                 as_of: datetime) -> pd.DataFrame:
    """Per promoted SKU: orders, units, revenue since the window start, available stock, the
    selling rate over the elapsed window and the stock cover in hours at that rate, units
    oversold (available below 0) and what is left of a limited quantity (``LIVE_SKU_COLUMNS``).

    ``lines``: promoted-SKU lines of sold orders paid in the window so far (order key, sku,
    quantity, line_total_minor). ``available``: units per SKU now (on hand − reserved).
    """
    items = skus.set_index("sku")
    sold = lines.groupby("sku").agg(orders=("order_id", "nunique"), units=("quantity", "sum"),
                                    revenue_minor=("line_total_minor", "sum"))
    frame = sold.reindex(items.index).fillna(0).astype("int64")
    frame["available"] = available.reindex(items.index).fillna(0).astype("int64")
    hours = max((as_of - window_start).total_seconds() / 3600, 0.0)
    frame["units_per_hour"] = (frame["units"] / hours).round(2) if hours > 0 else 0.0
    rate = frame["units_per_hour"].replace(0, np.nan)
    frame["cover_hours"] = (frame["available"].clip(lower=0) / rate).round(1)
    frame["oversold_units"] = (-frame["available"]).clip(lower=0)
    limit = items["limited_quantity"] if "limited_quantity" in items else pd.Series(np.nan, index=items.index)
    frame["limited_quantity"] = limit.astype("Int64")
    frame["limit_left"] = (frame["limited_quantity"] - frame["units"]).astype("Int64")
    return frame.rename_axis("sku").reset_index()[list(LIVE_SKU_COLUMNS)]


def near_deadline(orders: pd.DataFrame, now: datetime, rules: FollowupRules) -> pd.DataFrame:
    """The promoted orders to ship first, most urgent first: the same rule as the shipping run's
    and customer service's list (``domain.batching.ship_first``): waiting to ship, within
    ``rules.near_deadline_hours`` of ``shipping_deadline`` or past it, never one under refund
    (``has_refund``) or a deposit-only presale (no deadline). ``orders``: the campaign's orders
    (``warehouse.promotions.orders_of``: status, times, presale flags, ``has_refund``)."""
    waiting = orders[orders["status"].isin(WAITING_TO_SHIP) & ~orders["has_refund"].astype(bool)].copy()
    waiting["deadline"] = shipping_deadline(waiting, rules)
    waiting["hours_left"] = hours_left(waiting["deadline"], now)
    urgent = waiting[(waiting["hours_left"] <= rules.near_deadline_hours).fillna(False)]
    return urgent.assign(hours_left=urgent["hours_left"].round(1)).sort_values("hours_left", ignore_index=True)


# --- after-action report -------------------------------------------------------------------

def baseline_periods(window_start: datetime, window_end: datetime, zone: str, weeks: int) -> list[tuple[datetime, datetime]]:
    """The same weekdays in the ``weeks`` weeks before the window: the window's local days each
    shifted back by 7, 14 … days (a one-day campaign on a Wednesday → the 4 Wednesdays before)."""
    tz = ZoneInfo(zone)
    first = window_start.astimezone(tz).date()
    last = (window_end.astimezone(tz) - timedelta(microseconds=1)).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    periods = []
    for week in range(1, weeks + 1):
        for day in days:
            shifted = day - timedelta(days=7 * week)
            periods.append((datetime.combine(shifted, time.min, tzinfo=tz),
                            datetime.combine(shifted + timedelta(days=1), time.min, tzinfo=tz)))
    return periods


def period_metrics(orders: pd.DataFrame, lines: pd.DataFrame, start_on_hand: pd.Series, receipts: pd.Series,
                   as_of: datetime, rules: FollowupRules) -> dict[str, float]:
    """Figures of one period for the after-action report (``METRIC_NAMES``).

    ``orders``: sold orders of the period with a promoted-SKU line (canonical columns plus
    ``has_refund``); ``lines``: their promoted-SKU lines. Revenue is the orders' totals; AOV
    = revenue / orders; refund rate = share of orders with a refund; late shipments = orders
    shipped after their deadline or still waiting with the deadline passed at ``as_of``;
    stock-outs = promoted SKUs whose units sold exceeded the stock at the period's start plus
    receipts during it (``start_on_hand`` and ``receipts`` per SKU).
    """
    count = len(orders)
    revenue = int(orders["total_minor"].sum()) if count else 0
    deadline = shipping_deadline(orders, rules) if count else pd.Series(dtype="datetime64[ns, UTC]")
    shipped = pd.to_datetime(orders["shipped_at"], utc=True)
    late = (shipped > deadline) | (shipped.isna() & (deadline < pd.Timestamp(as_of)))
    sold = lines.groupby("sku")["quantity"].sum()
    supply = start_on_hand.reindex(sold.index).fillna(0) + receipts.reindex(sold.index).fillna(0)
    return {"orders": count, "units": int(lines["quantity"].sum()) if len(lines) else 0, "revenue_minor": revenue,
            "aov_minor": round(revenue / count) if count else 0,
            "refund_rate": round(float(orders["has_refund"].mean()), 4) if count else 0.0,
            "stock_outs": int((sold > supply).sum()), "late_shipments": int(late.fillna(False).sum())}


def compare_with_baseline(campaign: dict[str, float], baseline_days: list[dict[str, float]],
                          days_per_week: int) -> pd.DataFrame:
    """Campaign figures against the baseline: counts are averaged per week of baseline days
    (the same weekdays of each prior week summed, then averaged over the weeks); AOV and the
    refund rate are recomputed from the averaged sums. ``uplift`` = campaign / baseline (blank
    where the baseline is 0). One row per metric: metric, campaign, baseline, uplift."""
    weeks = max(len(baseline_days) // max(days_per_week, 1), 1)
    summed = {name: sum(day[name] for day in baseline_days) / weeks for name in METRIC_NAMES}
    refunded = sum(day["refund_rate"] * day["orders"] for day in baseline_days) / weeks
    summed["aov_minor"] = round(summed["revenue_minor"] / summed["orders"]) if summed["orders"] else 0
    summed["refund_rate"] = round(refunded / summed["orders"], 4) if summed["orders"] else 0.0
    rows = []
    for name in METRIC_NAMES:
        base = summed[name]
        rows.append({"metric": name, "campaign": campaign[name],
                     "baseline": round(base, 4) if isinstance(base, float) else base,
                     "uplift": round(campaign[name] / base, 2) if base else None})
    return pd.DataFrame(rows, columns=["metric", "campaign", "baseline", "uplift"])
