"""Restock alerts (补货提醒, 库存预警线; domain-rules.md §3): the formula with every term visible.

Per SKU, from its daily sales and stock:

- daily demand ``d`` over the last ``demand_history_days`` days (a day without sales is a day
  of 0) and its spread ``σ``, by ``demand_method`` (``DEMAND_METHODS``; §3 says "mean … σ its
  standard deviation", which one spike day blows up — σ 400 against d 103 ordered 5–6k units —
  so the estimate is robust by default, issue 23 #11): ``mean`` is §3's plain mean and sample
  standard deviation (n − 1); ``winsorised`` (the default) sets the SKU's k highest selling
  days to the next highest, k = ⌊selling days × trim share⌋ but at least 1 (a SKU sold on one
  day only is left as it is) — only the top is clipped, so a slow mover that sells on two
  days of 28 keeps its demand; ``trimmed_mean`` drops the k = ⌊n × trim share⌋ highest and
  lowest days of all n; ``median``. The last two give a slow mover that sells on fewer than
  half of the days a ``d`` of 0 (never restocked by the formula). ``σ`` by ``demand_sigma``:
  ``std`` is the sample standard deviation of the days as the method uses them (clipped or
  kept), ``mad`` is 1.4826 × the median absolute deviation of every day (0 for a SKU selling
  on fewer than half of the days: no safety stock). Units a
  campaign's promoted SKU sold in one of the campaign's shops on a campaign day are divided by
  the campaign's uplift factor first: Double 11 sells eight times a normal day, and left in the
  history that spike would make the month after it order as if every day were Double 11. The
  other SKUs, and the promoted SKUs in other shops, sold a normal day and are left as they
  are. Stocking up *for* a campaign is §6's readiness rule, not this one.
- ABC class by revenue share over ``abc_window_days`` → service level ``z``.
- safety stock ``SS = z × σ × √L``; reorder point ``ROP = d × L + SS``; order-up-to
  ``S = d × (L + R) + SS`` (L lead time, R review days).
- position = available + in_transit; suggested quantity = ``S − position``, rounded up to
  whole case packs and at least the MOQ.

Levels, from worst to mildest (``LEVEL_SEVERITY``): ``critical`` (cover < L: the SKU runs out
before a new order can arrive), ``warning`` (position <= ROP), ``overstock`` (cover above
``overstock_cover_days``, 滞销). Running out is worse than sitting on stock — it costs sales
and DSR — so overstock ranks mildest. Pure pandas; every number arrives in ``RestockRules``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, Mapping

import numpy as np
import pandas as pd

from domain.timeutil import local_text
from domain.text import Text

#: higher is worse; an alert within the cooldown is sent again only when its level rises
LEVEL_SEVERITY: dict[str, int] = {"overstock": 1, "warning": 2, "critical": 3}

RESTOCK_COLUMNS: tuple[str, ...] = (
    "sku", "level", "abc_class", "revenue_share_before", "z", "daily_demand", "demand_sigma", "demand_method",
    "lead_time_days", "review_days", "safety_stock", "reorder_point", "order_up_to",
    "available", "in_transit", "position", "cover_days", "case_pack", "moq", "raw_qty",
    "suggested_qty", "reason")

#: the formula's terms are rounded to this many decimals so that float noise (4.999999999) never
#: decides whether a position is "at" the reorder point
_TERM_DECIMALS = 6

#: how ``d`` is estimated from the history's days (rules.yaml restock.demand_method)
DEMAND_METHODS: tuple[str, ...] = ("mean", "median", "trimmed_mean", "winsorised")
#: how ``σ`` is estimated (rules.yaml restock.demand_sigma)
SIGMA_METHODS: tuple[str, ...] = ("std", "mad")
#: 1.4826 × MAD estimates the standard deviation of normally distributed days (1 / Φ⁻¹(3/4))
MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class RestockRules:
    """The numbers of §3 (the ``restock:`` block of rules.yaml; field names are its keys)."""

    demand_history_days: int
    abc_window_days: int
    abc_thresholds: Mapping[str, float]    # cumulative revenue share: {"A": 0.80, "B": 0.95}
    service_level_z: Mapping[str, float]   # {"A": 1.96, "B": 1.65, "C": 1.28}
    review_days: int                       # R
    default_lead_time_days: int            # L of a SKU whose terms give none
    overstock_cover_days: int
    demand_method: str                     # DEMAND_METHODS
    demand_trim_share: float               # winsorised: share of selling days clipped; trimmed_mean: of days cut at each end
    demand_sigma: str                      # SIGMA_METHODS

    def __post_init__(self) -> None:
        if self.demand_method not in DEMAND_METHODS:
            raise ValueError(f"demand_method '{self.demand_method}' is not one of {', '.join(DEMAND_METHODS)}")
        if self.demand_sigma not in SIGMA_METHODS:
            raise ValueError(f"demand_sigma '{self.demand_sigma}' is not one of {', '.join(SIGMA_METHODS)}")
        if not 0 <= self.demand_trim_share < 0.5:
            raise ValueError(f"demand_trim_share {self.demand_trim_share} must be at least 0 and below 0.5")

    @classmethod
    def from_config(cls, restock_block: Mapping[str, Any]) -> "RestockRules":
        """From the ``restock:`` block as a mapping; keys the maths does not use (the cooldown,
        which ``apply_cooldown`` takes as its own argument) are left out."""
        return cls(**{f.name: restock_block[f.name] for f in fields(cls)})


def suggest_restock(sales: pd.DataFrame, stock: pd.DataFrame, terms: pd.DataFrame, rules: RestockRules,
                    today: date, campaign_uplift: pd.DataFrame | pd.Series | None = None) -> pd.DataFrame:
    """One row per SKU of ``terms`` that needs attention (``RESTOCK_COLUMNS``), worst level first.

    ``sales``: sku, day (the shop-local calendar date), units, revenue_minor (one currency), and
    shop_id when ``campaign_uplift`` names shops — several rows per day are summed. The history
    ends yesterday: today is not over yet.
    ``stock``: sku, available, in_transit — ``domain.stock.positions`` rows, summed over warehouses.
    ``terms``: sku, lead_time_days (blank → ``rules.default_lead_time_days``), case_pack, moq —
    the catalogue of SKUs to judge, with its supplier's terms already resolved.
    ``campaign_uplift``: which sales were uplifted by a campaign — a frame of day,
    uplift_factor and the keys it is limited to (sku, shop_id: a campaign's promoted SKUs in
    its shops), or a Series of factors per calendar date (every sale of that day). A sale that
    matches no row: factor 1; several matching rows: the largest factor.

    A SKU with no sales in the history is never restocked by the formula (ROP is 0 and any
    order would be a guess: new and discontinued items are a person's call), but reported as
    overstock while it has stock.
    """
    skus = pd.Index(terms["sku"], name="sku")
    demand = _daily_demand(sales, skus, rules, today, campaign_uplift)
    abc = classify_abc(_revenue(sales, skus, rules.abc_window_days, today), rules.abc_thresholds)
    held = stock.groupby("sku")[["available", "in_transit"]].sum().reindex(skus).fillna(0).astype("int64")

    frame = terms.set_index("sku")[["lead_time_days", "case_pack", "moq"]].join([demand, abc, held])
    frame["lead_time_days"] = frame["lead_time_days"].fillna(rules.default_lead_time_days).astype("int64")
    frame["review_days"] = rules.review_days
    frame["z"] = frame["abc_class"].map(rules.service_level_z)
    d, lead = frame["daily_demand"], frame["lead_time_days"]
    frame["safety_stock"] = (frame["z"] * frame["demand_sigma"] * np.sqrt(lead)).round(_TERM_DECIMALS)
    frame["reorder_point"] = (d * lead + frame["safety_stock"]).round(_TERM_DECIMALS)
    frame["order_up_to"] = (d * (lead + rules.review_days) + frame["safety_stock"]).round(_TERM_DECIMALS)
    frame["position"] = frame["available"] + frame["in_transit"]
    frame["cover_days"] = _cover_days(frame["position"], d)

    selling = d > 0
    conditions = [selling & (frame["cover_days"] < lead),
                  selling & (frame["position"] <= frame["reorder_point"]),
                  frame["cover_days"] > rules.overstock_cover_days]
    frame["level"] = np.select(conditions, ["critical", "warning", "overstock"], default="")
    alerts = frame[frame["level"] != ""].copy()

    alerts["raw_qty"] = (alerts["order_up_to"] - alerts["position"]).round(_TERM_DECIMALS)
    alerts["suggested_qty"] = [
        0 if level == "overstock" else round_to_order(raw, int(pack), int(moq))
        for level, raw, pack, moq in alerts[["level", "raw_qty", "case_pack", "moq"]].itertuples(index=False)]
    alerts["reason"] = [_reason(row, rules) for row in alerts.reset_index().itertuples()]
    alerts["severity"] = alerts["level"].map(LEVEL_SEVERITY)
    alerts = alerts.reset_index().sort_values(["severity", "sku"], ascending=[False, True], ignore_index=True)
    return alerts[list(RESTOCK_COLUMNS)]


def round_to_order(raw_qty: float, case_pack: int, moq: int) -> int:
    """Whole case packs, at least the MOQ: ``ceil(max(raw, MOQ) / pack) × pack`` — an MOQ that is
    not a whole number of cases is rounded up too, as a supplier ships whole cases."""
    return math.ceil(max(raw_qty, moq) / case_pack) * case_pack


def classify_abc(revenue: pd.Series, thresholds: Mapping[str, float]) -> pd.DataFrame:
    """ABC class per SKU from its revenue (any index of SKUs).

    SKUs are ranked by revenue (ties by SKU, so the result is reproducible). A SKU is A while
    the revenue share of the SKUs ranked *above* it is below the A threshold (so the top seller
    is always A, even with 85 % of revenue alone), B while below the B threshold, else C. With
    no revenue at all every SKU is C. Returns ``abc_class`` and ``revenue_share_before``.
    """
    ranked = revenue.reindex(sorted(revenue.index, key=lambda sku: (-revenue[sku], sku)))
    total = ranked.sum()
    share_before = (ranked.cumsum() - ranked) / total if total > 0 else pd.Series(1.0, index=ranked.index)
    abc_class = np.select([share_before < thresholds["A"], share_before < thresholds["B"]], ["A", "B"], default="C")
    return pd.DataFrame({"abc_class": abc_class, "revenue_share_before": share_before},
                        index=ranked.index).reindex(revenue.index)


def apply_cooldown(alerts: pd.DataFrame, last_sent: pd.DataFrame, now: datetime, cooldown: timedelta,
                   zone: str = "Asia/Shanghai") -> pd.DataFrame:
    """Which alerts to send: ``alerts`` with ``send`` (bool) and ``send_reason`` added.

    ``alerts``: sku, level. ``last_sent``: sku, level, last_sent_at — the last alert sent per SKU
    (the ``alert_cooldowns`` rows of this alert kind; one per SKU).

    Rule: send when the SKU has no alert sent, or the cooldown since the last one is over
    (``now − last_sent_at >= cooldown``), or the level is worse than the one sent
    (``LEVEL_SEVERITY``: warning → critical is sent, critical → warning is not). Otherwise the
    alert is held back — it still appears in the run's report.
    """
    previous = last_sent[["sku", "level", "last_sent_at"]].rename(columns={"level": "last_level"})
    judged = alerts.merge(previous, on="sku", how="left", validate="many_to_one").set_index(alerts.index)
    last_at = pd.to_datetime(judged["last_sent_at"], utc=True)
    first = last_at.isna()
    cooled = ~first & (pd.Timestamp(now) - last_at >= cooldown)
    worse = judged["level"].map(LEVEL_SEVERITY) > judged["last_level"].map(LEVEL_SEVERITY).fillna(0)

    out = alerts.copy()
    out["send"] = first | cooled | worse
    out["send_reason"] = [
        Text("first alert for this SKU", "rs_send_first") if is_first
        else Text(f"cooldown over: last alert ({last}) at {local_text(at, zone)}", "rs_send_cooled",
                  last=_level(last), at=local_text(at, zone)) if is_cooled
        else Text(f"worse than the last alert: {last} → {level}", "rs_send_worse", last=_level(last),
                  level=_level(level)) if is_worse
        else Text(f"held back: {last} already sent at {local_text(at, zone)}, within the cooldown", "rs_send_held",
                  last=_level(last), at=local_text(at, zone))
        for is_first, is_cooled, is_worse, last, level, at in zip(
            first, cooled, worse, judged["last_level"], judged["level"], last_at)]
    return out


def _daily_demand(sales: pd.DataFrame, skus: pd.Index, rules: RestockRules, today: date,
                  campaign_uplift: pd.DataFrame | pd.Series | None) -> pd.DataFrame:
    days = pd.date_range(end=pd.Timestamp(today) - pd.Timedelta(days=1), periods=rules.demand_history_days, freq="D")
    sales = sales.assign(day=pd.to_datetime(sales["day"]))
    if campaign_uplift is not None and len(campaign_uplift):
        sales = sales.assign(units=sales["units"] / _uplift_factors(sales, campaign_uplift))
    baseline = (sales.pivot_table(index="day", columns="sku", values="units", aggfunc="sum")
                .reindex(index=days, columns=skus).fillna(0))
    d, sigma = demand_estimate(baseline.to_numpy(dtype=float), rules.demand_method, rules.demand_trim_share,
                               rules.demand_sigma)
    return pd.DataFrame({"daily_demand": np.round(d, _TERM_DECIMALS), "demand_sigma": np.round(sigma, _TERM_DECIMALS),
                         "demand_method": demand_term(rules)}, index=baseline.columns)


def demand_estimate(days: np.ndarray, method: str, trim_share: float, sigma: str) -> tuple[np.ndarray, np.ndarray]:
    """``d`` and ``σ`` of each column of ``days`` (one row per day of the history, one column per
    SKU; see the module's docstring for the methods and what ``trim_share`` means for each)."""
    n = days.shape[0]
    ordered = np.sort(days, axis=0)
    if method in ("mean", "median"):
        used = days
    elif method == "trimmed_mean":
        k = min(int(math.floor(n * trim_share + 1e-9)), (n - 1) // 2)
        used = ordered[k:n - k]
    elif method == "winsorised":
        selling = (days > 0).sum(axis=0)
        k = np.where(selling >= 2, np.maximum(1, np.floor(selling * trim_share + 1e-9)), 0).astype(int)
        k = np.minimum(k, np.maximum(selling - 1, 0))
        cap = np.take_along_axis(ordered, (n - 1 - k)[None, :], axis=0)    # the (k+1)-th highest day
        used = np.minimum(days, cap)
    else:
        raise ValueError(f"demand method '{method}' is not one of {', '.join(DEMAND_METHODS)}")
    d = np.median(days, axis=0) if method == "median" else used.mean(axis=0)
    if sigma == "mad":
        spread = MAD_TO_SIGMA * np.median(np.abs(days - np.median(days, axis=0)), axis=0)
    elif sigma == "std":
        spread = used.std(axis=0, ddof=1) if used.shape[0] > 1 else np.zeros(days.shape[1])
    else:
        raise ValueError(f"σ method '{sigma}' is not one of {', '.join(SIGMA_METHODS)}")
    return d, np.nan_to_num(spread)


def demand_term(rules: RestockRules) -> str:
    """The §3 term a row's ``d`` and ``σ`` come from, as a short code for the report:
    "mean/std", "winsorised 10%/std", "median/mad" …"""
    share = f" {rules.demand_trim_share:.0%}" if rules.demand_method in ("trimmed_mean", "winsorised") else ""
    return f"{rules.demand_method}{share}/{rules.demand_sigma}"


def _uplift_factors(sales: pd.DataFrame, campaign_uplift: pd.DataFrame | pd.Series) -> np.ndarray:
    """The uplift factor of each sales row (1 where no campaign row matches its day and keys)."""
    if isinstance(campaign_uplift, pd.Series):
        campaign_uplift = campaign_uplift.rename("uplift_factor").rename_axis("day").reset_index()
    keys = ["day", *(k for k in ("sku", "shop_id") if k in campaign_uplift.columns)]
    missing = sorted(set(keys) - set(sales.columns))
    if missing:
        raise ValueError(f"campaign uplift is per {', '.join(keys)}: the sales lack {', '.join(missing)}")
    factors = (campaign_uplift.assign(day=pd.to_datetime(campaign_uplift["day"]))
               .groupby(keys, as_index=False)["uplift_factor"].max())
    matched = sales[keys].merge(factors, on=keys, how="left", validate="many_to_one")
    return matched["uplift_factor"].fillna(1.0).to_numpy(dtype=float)


def _revenue(sales: pd.DataFrame, skus: pd.Index, window_days: int, today: date) -> pd.Series:
    day = pd.to_datetime(sales["day"])
    start, end = pd.Timestamp(today) - pd.Timedelta(days=window_days), pd.Timestamp(today)
    in_window = sales[(day >= start) & (day < end)]
    return in_window.groupby("sku")["revenue_minor"].sum().reindex(skus).fillna(0)


def _cover_days(position: pd.Series, daily_demand: pd.Series) -> pd.Series:
    """Days the position lasts at ``d`` a day; without demand, stock lasts forever (inf) and no
    stock has no cover to speak of (NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cover = position / daily_demand.where(daily_demand > 0)
    cover = cover.where(daily_demand > 0, np.where(position > 0, np.inf, np.nan))
    return cover.round(_TERM_DECIMALS)


def _level(level: object) -> Text | object:
    """A restock level as words said in the reader's language (``rs_level_<level>``)."""
    return Text(level, f"rs_level_{level}") if isinstance(level, str) and level else level


def _reason(row, rules: RestockRules) -> Text:
    stock = Text(f"{row.available} available + {row.in_transit} in transit", "rs_reason_stock",
                 available=row.available, in_transit=row.in_transit)
    if row.level == "overstock":
        cover = Text("no sales", "rs_reason_no_sales") if math.isinf(row.cover_days) else Text(
            f"{row.cover_days:.1f} days of cover", "rs_reason_cover", days=f"{row.cover_days:.1f}")
        return Text(f"overstock (滞销): {stock}, {cover} at {row.daily_demand:g}/day, above {rules.overstock_cover_days} days",
                    "rs_reason_overstock", stock=stock, cover=cover, demand=f"{row.daily_demand:g}",
                    limit=rules.overstock_cover_days)
    if row.level == "critical":
        why = Text(f"covers {row.cover_days:.1f} days, less than the {row.lead_time_days}-day lead time",
                   "rs_reason_critical", days=f"{row.cover_days:.1f}", lead=row.lead_time_days)
    else:
        why = Text(f"at or below the reorder point {row.reorder_point:g}", "rs_reason_warning",
                   rop=f"{row.reorder_point:g}")
    return Text(f"{row.level}: {stock} {why}; order {row.suggested_qty} (S {row.order_up_to:g} − {row.position} = "
                f"{row.raw_qty:g}, whole cases of {row.case_pack}, MOQ {row.moq})", "rs_reason_order",
                level=_level(row.level), stock=stock, why=why, qty=row.suggested_qty, s=f"{row.order_up_to:g}",
                position=row.position, raw=f"{row.raw_qty:g}", pack=row.case_pack, moq=row.moq)
