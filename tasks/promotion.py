"""Promotion campaign tasks (domain-rules.md §6): load from the warehouse and the campaign
file, call ``domain.promotion``, store the campaign state, change the Prefect schedules.

Plain functions do the work (tests call them); the ``@task`` wrappers are what the flow runs.
A task is a whole check (prices, reconciliation, readiness), a schedule change or a report's
figures — never one per SKU or order.

Campaign mode changes two deployments' schedules through the Prefect API, each schedule
carrying the slug ``campaign-<name>`` so that closing removes exactly what starting added:

- ``pull-orders/pull-orders-campaign``: the promoted shops' pull every
  ``campaign_pull_every_minutes`` during the window (its own deployment, so its concurrency
  limit never cancels the normal 10-minute pull of every shop);
- ``promotion-campaign/promotion-campaign``: this flow's ``report`` phase every
  ``live_report_every_minutes`` during the window.

Both are RRule schedules bounded by the window (DTSTART … UNTIL in the campaign's zone): outside
it they create no run, even if nobody closes the campaign. The schedules of these deployments
and of the normal ``pull-orders/pull-orders`` are recorded when the campaign starts and put
back exactly when it closes.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from config.schema import AppConfig, PromotionConfig
from domain import promotion as campaign_rules
from domain.followup import FollowupRules
from domain.promotion import PromotionRules
from domain.restock import apply_cooldown
from domain.stock import DISCREPANCY_COLUMNS, OPEN_PO_STATUSES, on_hand, positions
from tasks.stock import StockInputs, load_stock_inputs, read_shop_listings, reconcile_stock_inputs, supplier_terms
from warehouse import promotions as store
from warehouse import repository
from warehouse.db import make_engine
from shopops.i18n import t

NORMAL_PULL_DEPLOYMENT = "pull-orders/pull-orders"
CAMPAIGN_PULL_DEPLOYMENT = "pull-orders/pull-orders-campaign"
REPORT_DEPLOYMENT = "promotion-campaign/promotion-campaign"
#: every deployment whose schedules are recorded at start and restored at close
WATCHED_DEPLOYMENTS = (NORMAL_PULL_DEPLOYMENT, CAMPAIGN_PULL_DEPLOYMENT, REPORT_DEPLOYMENT)


class CampaignError(ValueError):
    """A campaign cannot go on: the message says what is wrong and what to do."""


def campaign_names(config: AppConfig) -> list[str]:
    """The configured campaigns' names (config/promotions/<name>.yaml), sorted."""
    return sorted(p.name for p in config.promotions)


def unknown_campaign_message(config: AppConfig, name: str) -> str:
    """A wrong campaign name in the operator's language: what was given, the known names."""
    return t("pr_unknown_campaign", name=name, folder=config.config_dir / "promotions",
             known=", ".join(campaign_names(config)) or t("pr_no_campaigns"))


def find_campaign(config: AppConfig, name: str) -> PromotionConfig:
    for promo in config.promotions:
        if promo.name == name:
            return promo
    raise CampaignError(unknown_campaign_message(config, name))


def definition_of(promo: PromotionConfig) -> dict[str, Any]:
    return promo.model_dump(mode="json")


def definition_sha(promo: PromotionConfig) -> str:
    """Changes whenever the campaign file changes: a prepare of an older file does not count."""
    return hashlib.sha256(json.dumps(definition_of(promo), sort_keys=True).encode()).hexdigest()


def promotion_rules(config: AppConfig) -> PromotionRules:
    return PromotionRules.from_config(config.rules.promotions.model_dump())


def followup_rules(config: AppConfig, zone: str) -> FollowupRules:
    block = config.rules.shipping
    return FollowupRules(ship_deadline_hours=block.ship_deadline_hours, near_deadline_hours=block.near_deadline_hours,
                         abnormal_logistics_days=block.abnormal_logistics_days, timezone=zone)


def skus_frame(promo: PromotionConfig) -> pd.DataFrame:
    frame = pd.DataFrame([item.model_dump() for item in promo.skus])
    frame["expected_units"] = frame["expected_units"].astype("Int64")
    return frame


def gifts_frame(promo: PromotionConfig) -> pd.DataFrame:
    return pd.DataFrame([g.model_dump() for g in promo.gifts], columns=["buy_sku", "gift_sku", "gift_quantity"])


def all_skus(promo: PromotionConfig) -> list[str]:
    """Promoted SKUs and their gifts."""
    return sorted({item.sku for item in promo.skus} | {g.gift_sku for g in promo.gifts})


# --- campaign state ----------------------------------------------------------------------

@dataclass
class CampaignState:
    status: str
    state: dict[str, Any] = field(default_factory=dict)


def load_state(database_url: str, promo: PromotionConfig) -> CampaignState:
    engine = make_engine(database_url)
    try:
        row = store.read_promotion(engine, promo.name)
    finally:
        engine.dispose()
    return CampaignState("defined") if row is None else CampaignState(row["status"], dict(row["state"] or {}))


def save_state(database_url: str, promo: PromotionConfig, status: str, state: dict[str, Any]) -> None:
    engine = make_engine(database_url)
    try:
        store.write_promotion(engine, name=promo.name, definition=definition_of(promo), prep_date=promo.prep_date,
                              window_start=promo.window_start, window_end=promo.window_end, status=status,
                              state=json.loads(json.dumps(state, default=str)))
    finally:
        engine.dispose()


# --- prepare: price rules ----------------------------------------------------------------

def check_price_rules(database_url: str, promo: PromotionConfig, rules: PromotionRules, currency: str,
                      dry_run: bool) -> pd.DataFrame:
    """Derive the price history before the window (kept unless ``dry_run``: then the derivation
    is rolled back) and judge every price and coupon rule against it — the prices seen in the
    campaign's shops: another shop's price is not this campaign's history."""
    days = max(rules.price_history_days, rules.no_other_discount_days)
    start, end = promo.window_start - timedelta(days=days), promo.window_start
    skus = [item.sku for item in promo.skus]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            store.refresh_price_history(conn, skus, start, end)
            history = store.read_price_history(conn, skus, start, end, currency)
            history = history[history["shop_id"].isin(promo.shops)]
            transaction.rollback() if dry_run else transaction.commit()
    finally:
        engine.dispose()
    return campaign_rules.price_violations(skus_frame(promo), history, rules, promo.window_start)


@task(name="check-price-rules", cache_policy=NO_CACHE)
def price_rules_task(database_url: str, promo: PromotionConfig, rules: PromotionRules, currency: str,
                     dry_run: bool) -> pd.DataFrame:
    """§6 price and coupon rules against the 30-day price history."""
    return check_price_rules(database_url, promo, rules, currency, dry_run)


# --- prepare: reconciliation of the promoted SKUs ---------------------------------------------

@dataclass
class PromotedReconciliation:
    found: pd.DataFrame               # discrepancies found now (DISCREPANCY_COLUMNS)
    still_open: pd.DataFrame          # earlier records of these SKUs not yet resolved
    read_errors: list[str]
    plan_errors: list[str]

    @property
    def clean(self) -> bool:
        return not (len(self.found) or len(self.still_open) or self.read_errors or self.plan_errors)


def reconcile_promoted(config: AppConfig, database_url: str, inputs: StockInputs, skus: list[str],
                       shops: list[str], flow_run_id: str | None, dry_run: bool) -> PromotedReconciliation:
    """The stock flow's reconciliation (``tasks.stock``) for the promoted and gift SKUs in the
    campaign's ``shops``: their listings there read from the marketplaces now, judged against
    the ledger's positions; new disagreements are recorded for a person (not in a dry run),
    earlier open ones still count — those of these SKUs in the campaign's shops or of no shop
    (a warehouse count): another shop's listing is not this campaign's business."""
    listings = inputs.listings[inputs.listings["sku"].isin(skus) & inputs.listings["shop_id"].isin(shops)].copy()
    read_errors: list[str] = []
    for shop_id, part in listings.groupby("shop_id", sort=True):
        result = read_shop_listings(config, shop_id, part)
        read_errors += [f"{shop_id}: {error}" for error in result.errors]
        if len(result.reads):
            keyed = result.reads.set_index(["shop_id", "marketplace_item_id", "marketplace_sku_id"])["qty"]
            index = pd.MultiIndex.from_frame(listings[["shop_id", "marketplace_item_id", "marketplace_sku_id"]])
            fresh = keyed.reindex(index).to_numpy()
            listings["last_read_qty"] = pd.array(
                [int(f) if pd.notna(f) else old for f, old in zip(fresh, listings["last_read_qty"])], dtype="Int64")
            if not dry_run:
                engine = make_engine(database_url)
                try:
                    repository.record_listing_reads(engine, result.reads)
                finally:
                    engine.dispose()
    rules = config.rules.stock
    scoped = StockInputs(ledger=inputs.ledger[inputs.ledger["sku"].isin(skus)],
                         order_lines=inputs.order_lines[inputs.order_lines["sku"].isin(skus)],
                         purchase_orders=inputs.purchase_orders[inputs.purchase_orders["sku"].isin(skus)],
                         listings=listings)
    result = reconcile_stock_inputs(scoped, None, tolerance=rules.discrepancy_tolerance_units,
                                    undersell_tolerance=rules.undersell_tolerance_units)
    engine = make_engine(database_url)
    try:
        earlier = repository.read_discrepancies(engine, "open")
        if not dry_run and len(result.discrepancies):
            repository.record_discrepancies(engine, result.discrepancies, flow_run_id=flow_run_id)
    finally:
        engine.dispose()
    if len(earlier):
        earlier = earlier[earlier["sku"].isin(skus) & (earlier["shop_id"].isna() | earlier["shop_id"].isin(shops))]
    return PromotedReconciliation(found=result.discrepancies[list(DISCREPANCY_COLUMNS)], still_open=earlier,
                                  read_errors=read_errors, plan_errors=result.plan_errors)


@task(name="reconcile-promoted-skus", cache_policy=NO_CACHE)
def reconcile_task(config: AppConfig, database_url: str, inputs: StockInputs, skus: list[str], shops: list[str],
                   flow_run_id: str | None, dry_run: bool) -> PromotedReconciliation:
    """A reconciliation of the promoted SKUs in the campaign's shops only, listings read now."""
    return reconcile_promoted(config, database_url, inputs, skus, shops, flow_run_id, dry_run)


@task(name="load-stock-for-campaign", cache_policy=NO_CACHE)
def load_stock_task(database_url: str) -> StockInputs:
    return load_stock_inputs(database_url)


# --- prepare: readiness ------------------------------------------------------------------

@dataclass
class Readiness:
    table: pd.DataFrame               # domain.promotion.READINESS_COLUMNS
    shortfalls: pd.DataFrame          # SHORTFALL_COLUMNS + send, send_reason
    alerts_stored: int


def stock_by_prep_date(inputs: StockInputs, skus: list[str], prep_date: date, zone: str) -> pd.DataFrame:
    """sku, on_hand and reserved (now, every warehouse: ``domain.stock.positions``, so reserved
    is what paid, unshipped orders already owe), inbound_before_prep / inbound_after_prep: what
    open purchase orders still owe, by whether they are expected by the end of the preparation
    day (a closed or cancelled purchase order brings nothing)."""
    held = positions(inputs.ledger, inputs.order_lines, inputs.purchase_orders).groupby("sku")[["on_hand", "reserved"]]
    held = held.sum().reindex(skus).fillna(0).astype("int64")
    pos = inputs.purchase_orders
    lines = pos[pos["sku"].isin(skus) & pos["expected_at"].notna() & pos["status"].isin(OPEN_PO_STATUSES)]
    owed = (lines["qty_ordered"] - lines["qty_received"]).clip(lower=0)
    prep_end = pd.Timestamp(datetime.combine(prep_date + timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(zone)))
    early = pd.to_datetime(lines["expected_at"], utc=True) < prep_end
    before = owed[early].groupby(lines.loc[early, "sku"]).sum()
    after = owed[~early].groupby(lines.loc[~early, "sku"]).sum()
    return pd.DataFrame({"sku": skus, "on_hand": held["on_hand"].to_numpy(), "reserved": held["reserved"].to_numpy(),
                         "inbound_before_prep": before.reindex(skus).fillna(0).astype("int64").to_numpy(),
                         "inbound_after_prep": after.reindex(skus).fillna(0).astype("int64").to_numpy()})


def check_readiness(config: AppConfig, database_url: str, promo: PromotionConfig, rules: PromotionRules,
                    inputs: StockInputs, now: datetime, flow_run_id: str | None, dry_run: bool) -> Readiness:
    """Stock by the preparation date — available (on hand − reserved) plus open purchase orders
    due by then — vs ``stock_readiness_share`` of the expected demand (the file's expected
    units, else normal daily units in the campaign's shops × its uplift × window days);
    each shortfall becomes a restock alert (kind ``restock``, through the restock cooldown)
    with the quantity that covers it — stored unless ``dry_run``."""
    zone = promo.timezone
    today = now.astimezone(ZoneInfo(zone)).date()
    history_days = config.rules.restock.demand_history_days
    engine = make_engine(database_url)
    try:
        start = datetime.combine(today - timedelta(days=history_days), datetime.min.time(), tzinfo=ZoneInfo(zone))
        sales = repository.daily_sales(engine, start, datetime.combine(today, datetime.min.time(), tzinfo=ZoneInfo(zone)),
                                       by_shop=True)
        sales = sales[sales["shop_id"].isin(promo.shops)]
        terms = supplier_terms(repository.restock_terms(engine), config)
        last_sent = repository.last_sent_alerts(engine, "restock")
    finally:
        engine.dispose()
    daily = sales.groupby("sku")["units"].sum() / history_days if len(sales) else pd.Series(dtype=float)
    demand = campaign_rules.expected_demand(skus_frame(promo), daily, promo.uplift_factor,
                                      campaign_rules.window_days(promo.window_start, promo.window_end))
    stock = stock_by_prep_date(inputs, all_skus(promo), promo.prep_date, zone)
    table = campaign_rules.readiness(demand, gifts_frame(promo), stock, rules.stock_readiness_share)
    shortfalls = campaign_rules.shortfall_restock(table, terms, today, promo.prep_date,
                                            promo.window_start.astimezone(ZoneInfo(zone)).date(),
                                            config.rules.restock.default_lead_time_days)
    judged = apply_cooldown(shortfalls.assign(campaign=promo.name), last_sent, now,
                            timedelta(hours=config.rules.restock.cooldown_hours), zone)
    stored = 0
    if not dry_run and len(judged):
        engine = make_engine(database_url)
        try:
            stored = repository.record_alerts(engine, judged.astype({"order_by": str}), kind="restock",
                                              flow_run_id=flow_run_id, now=now)
        finally:
            engine.dispose()
    return Readiness(table=table, shortfalls=judged, alerts_stored=stored)


@task(name="check-readiness", cache_policy=NO_CACHE)
def readiness_task(config: AppConfig, database_url: str, promo: PromotionConfig, rules: PromotionRules,
                   inputs: StockInputs, now: datetime, flow_run_id: str | None, dry_run: bool) -> Readiness:
    """70 % of the expected demand in stock by the preparation date; shortfalls to restock."""
    return check_readiness(config, database_url, promo, rules, inputs, now, flow_run_id, dry_run)


# --- start / close: schedules through the Prefect API -------------------------------------

def campaign_slug(promo: PromotionConfig) -> str:
    return f"campaign-{promo.name}"


def window_rrule(promo: PromotionConfig, every_minutes: int) -> dict[str, str]:
    """An RRule schedule every ``every_minutes`` from the window start to its end (inclusive),
    written in the campaign's zone (Prefect reads DTSTART/UNTIL in the schedule's timezone)."""
    zone = ZoneInfo(promo.timezone)
    first, last = promo.window_start.astimezone(zone), promo.window_end.astimezone(zone)
    return {"rrule": f"DTSTART:{first:%Y%m%dT%H%M%S}\nRRULE:FREQ=MINUTELY;INTERVAL={every_minutes};"
                     f"UNTIL={last:%Y%m%dT%H%M%S}",
            "timezone": promo.timezone}


def campaign_schedules(promo: PromotionConfig, rules: PromotionRules) -> dict[str, dict[str, Any]]:
    """What campaign mode adds, per deployment: the schedule, its parameters and slug."""
    slug = campaign_slug(promo)
    return {
        CAMPAIGN_PULL_DEPLOYMENT: {"schedule": window_rrule(promo, rules.campaign_pull_every_minutes),
                                   "parameters": {"shops": list(promo.shops)}, "slug": slug, "active": True},
        REPORT_DEPLOYMENT: {"schedule": window_rrule(promo, rules.live_report_every_minutes),
                            "parameters": {"phase": "report", "name": promo.name, "dry_run": False},
                            "slug": slug, "active": True},
    }


def _described(schedule: Any) -> dict[str, Any]:
    """A deployment schedule as recorded in the campaign state (JSON)."""
    return {"id": str(schedule.id), "slug": schedule.slug, "active": schedule.active,
            "parameters": schedule.parameters, "max_scheduled_runs": schedule.max_scheduled_runs,
            "schedule": schedule.schedule.model_dump(mode="json")}


def comparable(schedules: list[dict[str, Any]]) -> list[tuple]:
    """Schedules without their ids (a recreated schedule gets a new one), in a stable order."""
    return sorted((s["slug"] or "", s["active"], json.dumps(s["parameters"], sort_keys=True),
                   json.dumps(s["schedule"], sort_keys=True)) for s in schedules)


def _deployment(client: Any, name: str) -> Any:
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    try:
        return client.read_deployment_by_name(name)
    except ObjectNotFound:
        raise CampaignError(f"deployment '{name}' is not on the Prefect server at {PREFECT_API_URL.value() or '(none)'}: "
                            "register the deployments (`prefect --no-prompt deploy --all`, or `make demo`) and run "
                            "this phase again") from None


def read_schedules(names: tuple[str, ...] = WATCHED_DEPLOYMENTS) -> dict[str, list[dict[str, Any]]]:
    """The current schedules of each deployment in ``names`` (JSON-ready)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {name: [_described(s) for s in client.read_deployment_schedules(_deployment(client, name).id)]
                for name in names}


def apply_campaign_schedules(planned: dict[str, dict[str, Any]]) -> list[str]:
    """Add (or bring back into line) each deployment's campaign schedule, found by its slug."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    done = []
    with get_client(sync_client=True) as client:
        for name, spec in planned.items():
            deployment = _deployment(client, name)
            wanted = DeploymentScheduleCreate.model_validate(spec)
            existing = [s for s in client.read_deployment_schedules(deployment.id) if s.slug == spec["slug"]]
            if existing:
                client.update_deployment_schedule(deployment.id, existing[0].id, active=True, schedule=wanted.schedule,
                                                  parameters=spec["parameters"])
                done.append(f"{name}: campaign schedule '{spec['slug']}' already there, checked")
            else:
                client.create_deployment_schedules(deployment.id, [wanted])
                done.append(f"{name}: campaign schedule '{spec['slug']}' added")
    return done


def restore_schedules(before: dict[str, list[dict[str, Any]]], slug: str, dry_run: bool) -> list[str]:
    """Put every recorded deployment's schedules back as they were: remove the campaign's
    schedules (``slug``), re-create recorded ones that went missing, reset changed ones."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    changes = []
    with get_client(sync_client=True) as client:
        for name, recorded in before.items():
            deployment = _deployment(client, name)
            current = {str(s.id): s for s in client.read_deployment_schedules(deployment.id)}
            recorded_ids = {s["id"] for s in recorded}
            for schedule_id, schedule in current.items():
                if schedule.slug == slug and schedule_id not in recorded_ids:
                    changes.append(f"{name}: remove campaign schedule '{slug}'")
                    if not dry_run:
                        client.delete_deployment_schedule(deployment.id, schedule.id)
            for spec in recorded:
                now = current.get(spec["id"])
                if now is None:
                    changes.append(f"{name}: re-create schedule '{spec['slug'] or spec['id']}'")
                    if not dry_run:
                        client.create_deployment_schedules(deployment.id, [DeploymentScheduleCreate.model_validate(
                            {k: spec[k] for k in ("schedule", "active", "parameters", "slug", "max_scheduled_runs")})])
                elif comparable([_described(now)]) != comparable([spec]):
                    changes.append(f"{name}: reset schedule '{spec['slug'] or spec['id']}' to what it was")
                    if not dry_run:
                        wanted = DeploymentScheduleCreate.model_validate({"schedule": spec["schedule"]})
                        client.update_deployment_schedule(deployment.id, now.id, active=spec["active"],
                                                          schedule=wanted.schedule, parameters=spec["parameters"])
    return changes


@task(name="campaign-schedules", cache_policy=NO_CACHE)
def campaign_schedules_task(planned: dict[str, dict[str, Any]]) -> list[str]:
    """Campaign mode on: the every-minute pull and the 15-minute report during the window."""
    return apply_campaign_schedules(planned)


@task(name="restore-schedules", cache_policy=NO_CACHE)
def restore_schedules_task(before: dict[str, list[dict[str, Any]]], slug: str, dry_run: bool) -> list[str]:
    """Normal cadence back: the schedules recorded at start, exactly."""
    return restore_schedules(before, slug, dry_run)


# --- start / close: listing buffers ------------------------------------------------------

def tighten_buffers(database_url: str, promo: PromotionConfig, buffer_units: int, dry_run: bool) -> pd.DataFrame:
    """The buffers of the promoted SKUs' listings in the promoted shops before the campaign
    (returned, to be recorded); each set to ``buffer_units`` unless already at least that."""
    engine = make_engine(database_url)
    try:
        before = store.listing_buffers(engine, promo.shops, [item.sku for item in promo.skus])
        tighter = before[before["buffer"] < buffer_units].assign(buffer=buffer_units)
        if not dry_run:
            store.set_listing_buffers(engine, tighter)
    finally:
        engine.dispose()
    return before


def restore_buffers(database_url: str, before: list[dict[str, Any]], dry_run: bool) -> int:
    frame = pd.DataFrame(before, columns=["shop_id", "marketplace_item_id", "marketplace_sku_id", "sku", "buffer"])
    if dry_run:
        return len(frame)
    engine = make_engine(database_url)
    try:
        return store.set_listing_buffers(engine, frame)
    finally:
        engine.dispose()


# --- report and close: figures -------------------------------------------------------------

@dataclass
class LiveReport:
    as_of: datetime
    skus: pd.DataFrame                # LIVE_SKU_COLUMNS
    near_deadline: pd.DataFrame
    oversell_records: pd.DataFrame    # open oversell-risk discrepancies of the promoted SKUs
    totals: dict[str, int]


def live_report(config: AppConfig, database_url: str, promo: PromotionConfig, now: datetime) -> LiveReport:
    """Orders, revenue and units per promoted SKU since the window start, stock cover, oversell
    incidents and the promoted orders near (or past) their shipping deadline, as of ``now``
    (or the window end, once it is over)."""
    as_of = min(now, promo.window_end)
    skus = [item.sku for item in promo.skus]
    engine = make_engine(database_url)
    try:
        lines = store.promoted_lines(engine, promo.shops, skus, promo.window_start, max(as_of, promo.window_start))
        open_records = repository.read_discrepancies(engine, "open")
    finally:
        engine.dispose()
    inputs = load_stock_inputs(database_url)
    held = positions(inputs.ledger, inputs.order_lines, inputs.purchase_orders)
    available = held.groupby("sku")["available"].sum()
    figures = campaign_rules.live_figures(lines, available, skus_frame(promo), promo.window_start, as_of)
    orders = store.orders_of(lines)
    urgent = campaign_rules.near_deadline(orders, now, followup_rules(config, promo.timezone))
    oversell = open_records[(open_records["kind"] == "oversell_risk") & open_records["sku"].isin(skus)] \
        if len(open_records) else open_records
    totals = {"orders": len(orders), "units": int(figures["units"].sum()),
              "revenue_minor": int(orders["total_minor"].sum()) if len(orders) else 0,
              "oversold_skus": int((figures["oversold_units"] > 0).sum()), "oversell_records": len(oversell),
              "near_deadline": len(urgent)}
    return LiveReport(as_of=as_of, skus=figures, near_deadline=urgent, oversell_records=oversell, totals=totals)


@task(name="live-report-figures", cache_policy=NO_CACHE)
def live_report_task(config: AppConfig, database_url: str, promo: PromotionConfig, now: datetime) -> LiveReport:
    return live_report(config, database_url, promo, now)


@dataclass
class AfterAction:
    comparison: pd.DataFrame          # metric, campaign, baseline, uplift
    periods: pd.DataFrame             # every baseline day's figures and the campaign's


def after_action(config: AppConfig, database_url: str, promo: PromotionConfig, rules: PromotionRules,
                 now: datetime) -> AfterAction:
    """The campaign window's figures against the average of the same weekdays of the
    ``baseline_weeks`` weeks before (orders with a promoted SKU in the promoted shops)."""
    skus = [item.sku for item in promo.skus]
    follow = followup_rules(config, promo.timezone)
    periods = [("campaign", promo.window_start, promo.window_end)] + [
        (f"baseline-{n + 1}", start, end) for n, (start, end) in
        enumerate(campaign_rules.baseline_periods(promo.window_start, promo.window_end, promo.timezone,
                                            rules.baseline_weeks))]
    engine = make_engine(database_url)
    try:
        ledger = repository.read_ledger(engine, skus=skus)
        figures = []
        for label, start, end in periods:
            lines = store.promoted_lines(engine, promo.shops, skus, start, end)
            before = ledger[ledger["moved_at"] < pd.Timestamp(start)]
            during = ledger[(ledger["moved_at"] >= pd.Timestamp(start)) & (ledger["moved_at"] < pd.Timestamp(end))
                            & (ledger["kind"] == "receipt")]
            start_on_hand = on_hand(before).groupby(level="sku").sum() if len(before) else pd.Series(dtype="int64")
            receipts = during.groupby("sku")["quantity"].sum()
            figures.append({"period": label, "start": start.isoformat(), "end": end.isoformat(),
                            **campaign_rules.period_metrics(store.orders_of(lines), lines, start_on_hand, receipts,
                                                      now, follow)})
    finally:
        engine.dispose()
    days = len(campaign_rules.baseline_periods(promo.window_start, promo.window_end, promo.timezone, 1))
    comparison = campaign_rules.compare_with_baseline(figures[0], figures[1:], days)
    return AfterAction(comparison=comparison, periods=pd.DataFrame(figures))


@task(name="after-action-figures", cache_policy=NO_CACHE)
def after_action_task(config: AppConfig, database_url: str, promo: PromotionConfig, rules: PromotionRules,
                      now: datetime) -> AfterAction:
    return after_action(config, database_url, promo, rules, now)
