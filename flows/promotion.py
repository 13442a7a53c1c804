"""Flow ``promotion-campaign`` (domain-rules.md §6), run by hand: a custom run in the UI with
``phase`` and ``name``, or ``shopops promo <phase> NAME [--dry-run]``.

Runbook:
- ``prepare`` (before the preparation date): every price and coupon rule against the 30-day
  price history, each violation with its SKU and numbers; a reconciliation of the promoted
  SKUs in the campaign's shops (listings read now), which must be clean; readiness =
  available (on hand − reserved for paid orders) + purchase orders due by the preparation
  date vs 70 % of the expected demand, shortfalls sent to restock.
- ``start``: campaign mode — the promoted shops pulled every minute and this flow's report
  every 15 minutes during the window (Prefect schedules), listing buffers tightened.
- ``report``: orders, revenue, units, stock cover, oversell, orders near their deadline.
- ``close``: normal schedules and buffers back; the after-action report against the baseline.

The campaign's status and what it changed live in the ``promotions`` table, so each phase
can run twice (the second run redoes its checks or confirms there is nothing left to do) and
a phase out of order is refused with the phase to run first. ``dry_run`` computes and reports
everything and changes nothing: no state, no schedule, no buffer, no alert.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Literal

import pandas as pd
from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from pydantic import WithJsonSchema

from flows import localise_form, readable_run_name
from config.schema import load_config
from config.settings import get_settings
from domain.promotion import phase_step
from shopops.i18n import MESSAGES, count_line, label, labelled, number, percent, say, t, when, yuan
from shopops.logmask import install_log_masking
from shopops.notifications import EVENT_RESTOCK_CRITICAL, emit
from tasks import promotion as campaign
from tasks.reporting import publish_report

Phase = Literal["prepare", "start", "report", "close"]


def _configured_campaigns() -> list[str]:
    """The campaign names of config/promotions/ (empty when the configuration cannot be read: the
    run itself, or `shopops config check`, then says what is wrong)."""
    try:
        return campaign.campaign_names(load_config())
    except Exception:  # noqa: BLE001 - importing the flow must not fail on a bad configuration
        return []


def campaign_name_type(names: list[str]) -> object:
    """``name``'s type: a string whose schema lists the configured campaigns, so the custom-run form
    offers them as a choice (issue 23 #8). An explicit ``enum`` — not a ``Literal``, which for a
    single campaign becomes ``const`` and no choice in the form; and the value stays a plain
    string, so a wrong name reaches the flow and gets its localised message with the known names
    instead of a pydantic error. The schema is taken when the deployment is registered (`prefect
    deploy`): a campaign file added later appears in the form after the next deploy."""
    if not names:
        return str
    return Annotated[str, WithJsonSchema({"type": "string", "enum": list(names)})]


CampaignName = campaign_name_type(_configured_campaigns())


#: columns holding codes, and their kind (shopops.i18n.label)
_CODES = {"severity": "rule_severity", "rule": "promotion_rule", "kind": "", "level": "restock_level",
          "demand_source": "demand_source", "status": "order_status", "platform": "platform", "ready": "yes_no",
          "send": "yes_no", "last_level": "restock_level", "lead_time_source": "lead_time_source"}


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns headed in the report's language where a heading exists (``pr_col_<column>``;
    others keep their column name), times as text in the shop's zone, money (``*_minor``, fen)
    in yuan (issue 23 #1, #3)."""
    out = labelled(frame, **{c: k for c, k in _CODES.items() if c != "kind"})
    if "kind" in out.columns:   # a promoted item or a gift; a discrepancy's kind in the reconciliation
        out["kind"] = out["kind"].map(lambda v: label("promotion_item_kind" if v in ("promoted", "gift")
                                                      else "discrepancy_kind", v))
    for column in ("reason", "send_reason"):
        if column in out.columns:
            out[column] = out[column].map(say)
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].map(lambda v: when(v) or None)
        elif str(column).endswith("_minor"):
            out[column] = pd.to_numeric(out[column], errors="coerce").div(100).round(2)
        elif out[column].dtype == object:   # dates (order_by …) are not JSON for the artifact
            out[column] = out[column].map(lambda v: v.isoformat() if isinstance(v, (date, datetime)) else v)
    headings = {c: t(f"pr_col_{c}") for c in out.columns if f"pr_col_{c}" in MESSAGES}
    return out.rename(columns=headings).reset_index(drop=True)


def _yuan(minor: int | float | None) -> str:
    return yuan(minor) or "-"


def violation_text(row) -> str:
    """One violation as a sentence with the SKU and its numbers."""
    return t(f"pr_rule_{row.rule}", sku=row.sku, price=_yuan(row.campaign_price_minor), list=_yuan(row.list_price_minor),
             coupon=_yuan(row.coupon_minor), limit=_yuan(row.limit_minor), reference=_yuan(row.reference_minor),
             at=when(row.reference_at) or "-")


def _report(promo, phase: str, dry_run: bool, title: str, tables: dict[str, pd.DataFrame], lines: list[str],
            todo: list[str]) -> str:
    family = f"promotion-{promo.name}-{phase}" + ("-dry-run" if dry_run else "")
    if dry_run:
        lines = [t("pr_dry_run")] + lines
    summary = "\n\n".join(lines) + "\n\n" + (
        f"### {t('needs_person')}\n" + "\n".join(f"- {x}" for x in todo) if todo else t("nothing_to_do"))
    return publish_report(family=family, title=title, tables=tables, summary_md=summary).artifact_key


@flow(name="promotion-campaign", flow_run_name=readable_run_name)
def promotion_campaign(phase: Phase, name: CampaignName, dry_run: bool = True, now: datetime | None = None) -> dict:
    """Run one phase of a promotion campaign defined in config/promotions/<name>.yaml.

    Args:
        phase: prepare (rule checks, reconciliation, readiness) → start (campaign mode:
            every-minute pull, 15-minute report) → report (live figures) → close (normal
            cadence back, after-action report). Each phase may be run again.
        name: the campaign's name, as in its file (e.g. double11-2026).
        dry_run: on by default: compute and report only; change no state, schedule, buffer or
            alert. Switch it off to run the phase for real.
        now: the moment the phase runs at (UTC); empty means now.
    """
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()
    url = get_settings().warehouse_url
    promo = campaign.find_campaign(config, name)
    rules = campaign.promotion_rules(config)
    current = campaign.load_state(url, promo)
    step = phase_step(current.status, phase)
    if not step.allowed:
        raise campaign.CampaignError(t(step.refusal, name=name))
    now = now or datetime.now(timezone.utc)
    state = dict(current.state)
    result: dict = {"name": name, "phase": phase, "dry_run": dry_run, "status_before": current.status,
                    "repeat": step.repeat}
    if phase == "prepare":
        result.update(_prepare(config, url, promo, rules, state, now, dry_run))
    elif phase == "start":
        result.update(_start(url, promo, rules, state, now, dry_run))
    elif phase == "report":
        result.update(_live(config, url, promo, state, now, dry_run))
    else:
        result.update(_close(config, url, promo, rules, state, now, dry_run))
    if not dry_run:
        campaign.save_state(url, promo, step.status_after, state)
    result["status"] = current.status if dry_run else step.status_after
    logger.info(t("pr_log_done", phase=label("campaign_phase", phase), name=name,
                  status=label("campaign_status", result["status"]),
                  counts=count_line({k: v for k, v in result.items() if k not in ("tables", "name", "phase", "status")})))
    return result


localise_form(promotion_campaign, "promotion")   # the custom-run form's titles and help (issue 23 #2)


def _prepare(config, url, promo, rules, state, now, dry_run) -> dict:
    currency = config.rules.orders.known_currencies[0]
    violations = campaign.price_rules_task(url, promo, rules, currency, dry_run)
    inputs = campaign.load_stock_task(url)
    reconciliation = campaign.reconcile_task(config, url, inputs, campaign.all_skus(promo), list(promo.shops),
                                             flow_run.id, dry_run)
    ready = campaign.readiness_task(config, url, promo, rules, inputs, now, flow_run.id, dry_run)
    for row in ready.shortfalls[ready.shortfalls["send"] & (ready.shortfalls["level"] == "critical")].itertuples():
        if not dry_run:
            emit(EVENT_RESTOCK_CRITICAL, f"shopops.sku.{row.sku}",
                 t("pr_shortfall_event", sku=row.sku, campaign=promo.name, short=row.shortfall_units,
                   qty=row.suggested_qty), sku=row.sku, level=row.level, suggested_qty=int(row.suggested_qty),
                 campaign=promo.name)

    errors = violations[violations["severity"] == "error"]
    counts = {"price_errors": len(errors), "price_warnings": len(violations) - len(errors),
              "discrepancies": len(reconciliation.found), "open_discrepancies": len(reconciliation.still_open),
              "listing_read_errors": len(reconciliation.read_errors),
              "shortfall_skus": int((ready.table["shortfall_units"] > 0).sum()),
              "shortfall_units": int(ready.table["shortfall_units"].sum()), "restock_alerts": ready.alerts_stored}
    todo = [violation_text(row) for row in violations.itertuples()]
    todo += [t("pr_todo_discrepancy", sku=r.sku, kind=label("discrepancy_kind", r.kind), shop=r.shop_id if pd.notna(r.shop_id) else "-",
               difference=r.difference) for r in reconciliation.found.itertuples()]
    if len(reconciliation.still_open):
        todo.append(t("pr_todo_open_discrepancies", n=len(reconciliation.still_open),
                      skus=", ".join(sorted(set(reconciliation.still_open["sku"])))))
    todo += [t("pr_todo_read_error", error=say(e)) for e in reconciliation.read_errors + reconciliation.plan_errors]
    todo += [t("pr_todo_shortfall", sku=r.sku, kind=t(f"pr_kind_{r.kind}"), short=r.shortfall_units,
               qty=r.suggested_qty, level=label("restock_level", r.level), order_by=r.order_by) for r in ready.shortfalls.itertuples()]
    clean = reconciliation.clean
    ready_to_start = not len(errors) and clean
    lines = [t("pr_prepare_summary", name=promo.name, title=promo.title, prep=promo.prep_date.isoformat(), **counts),
             t("pr_prepare_shops", shops=", ".join(promo.shops)),
             t("pr_reconciliation_clean") if clean else t("pr_reconciliation_not_clean"),
             t("pr_ready_to_start") if ready_to_start else t("pr_not_ready_to_start")]
    key = _report(promo, "prepare", dry_run, t("pr_prepare_title", name=promo.name),
                  {"violations": _table(violations), "readiness": _table(ready.table),
                   "shortfalls": _table(ready.shortfalls), "discrepancies": _table(reconciliation.found)}, lines, todo)
    state["prepare"] = {"at": now.isoformat(), "definition_sha": campaign.definition_sha(promo),
                        "ready_to_start": ready_to_start, "reconciliation_clean": clean, **counts,
                        "violations": [violation_text(r) for r in violations.itertuples()]}
    return {**counts, "ready_to_start": ready_to_start, "reconciliation_clean": clean, "artifact": key}


def _start(url, promo, rules, state, now, dry_run) -> dict:
    prepared = state.get("prepare", {})
    if not prepared.get("ready_to_start"):
        raise campaign.CampaignError(t("pr_refuse_start_not_ready", name=promo.name))
    if prepared.get("definition_sha") != campaign.definition_sha(promo):
        raise campaign.CampaignError(t("pr_refuse_start_changed", name=promo.name))
    planned = campaign.campaign_schedules(promo, rules)
    if "schedules_before" not in state:
        state["schedules_before"] = campaign.read_schedules()
    changes = [f"{name}: {spec['schedule']['rrule'].splitlines()[-1]} {spec['parameters']}" for name, spec in
               planned.items()] if dry_run else campaign.campaign_schedules_task(planned)
    before = campaign.tighten_buffers(url, promo, rules.campaign_buffer_units, dry_run)
    state.setdefault("buffers_before", before.to_dict(orient="records"))
    state.update(campaign_buffer_units=rules.campaign_buffer_units, pull_every_minutes=rules.campaign_pull_every_minutes,
                 report_every_minutes=rules.live_report_every_minutes)
    state.setdefault("started_at", now.isoformat())
    tightened = int((before["buffer"] < rules.campaign_buffer_units).sum())
    lines = [t("pr_start_summary", name=promo.name, shops=", ".join(promo.shops),
               start=promo.window_start.isoformat(), end=promo.window_end.isoformat(),
               pull=rules.campaign_pull_every_minutes, report=rules.live_report_every_minutes,
               buffer=rules.campaign_buffer_units, listings=tightened)]
    lines += [f"- {change}" for change in changes]
    key = _report(promo, "start", dry_run, t("pr_start_title", name=promo.name),
                  {"listing_buffers_before": _table(before)}, lines, [])
    return {"schedule_changes": changes, "listings_tightened": tightened, "artifact": key}


def _live(config, url, promo, state, now, dry_run) -> dict:
    live = campaign.live_report_task(config, url, promo, now)
    todo = [t("pr_todo_oversold", sku=r.sku, units=r.oversold_units) for r in live.skus.itertuples()
            if r.oversold_units > 0]
    if len(live.near_deadline):
        todo.append(t("pr_todo_near_deadline", n=len(live.near_deadline)))
    lines = [t("pr_live_summary", name=promo.name, as_of=when(live.as_of),
               revenue=_yuan(live.totals["revenue_minor"]), **{k: v for k, v in live.totals.items()
                                                                if k != "revenue_minor"})]
    if now < promo.window_start:
        lines.append(t("pr_live_not_begun", start=promo.window_start.isoformat()))
    urgent = live.near_deadline[["platform", "shop_id", "order_id", "status", "paid_at", "deadline", "hours_left"]]
    key = _report(promo, "live", dry_run, t("pr_live_title", name=promo.name),
                  {"skus": _table(live.skus), "near_deadline": _table(urgent),
                   "oversell_records": _table(live.oversell_records)}, lines, todo)
    if not dry_run:
        state["reports"] = int(state.get("reports", 0)) + 1
        state["last_report"] = {"at": now.isoformat(), **live.totals}
    return {**live.totals, "artifact": key}


def _close(config, url, promo, rules, state, now, dry_run) -> dict:
    before = state.get("schedules_before", {})
    changes = campaign.restore_schedules_task(before, campaign.campaign_slug(promo), dry_run)
    restored_buffers = campaign.restore_buffers(url, state.get("buffers_before", []), dry_run)
    after = campaign.read_schedules(tuple(before)) if before else {}
    exact = all(campaign.comparable(after[name]) == campaign.comparable(before[name]) for name in before)
    review = campaign.after_action_task(config, url, promo, rules, now)
    money = review.comparison["metric"].str.endswith("_minor")   # those rows in yuan, not fen (issue 23 #3)
    comparison = review.comparison.assign(
        **{c: review.comparison[c].where(~money, review.comparison[c] / 100).round(2) for c in ("campaign", "baseline")},
        metric=review.comparison["metric"].map(lambda m: t(f"pr_metric_{m}")))
    figures = dict(zip(review.comparison["metric"], review.comparison["campaign"]))
    uplift = dict(zip(review.comparison["metric"], review.comparison["uplift"]))
    lines = [t("pr_close_summary", name=promo.name, orders=figures["orders"], revenue=_yuan(figures["revenue_minor"]),
               uplift=number(uplift["revenue_minor"], 2) or "-",
               aov=_yuan(figures["aov_minor"]), refund=percent(figures["refund_rate"]) or "-",
               stock_outs=figures["stock_outs"], late=figures["late_shipments"], weeks=rules.baseline_weeks)]
    lines.append(t("pr_schedules_restored") if exact or dry_run else t("pr_schedules_differ"))
    lines += [f"- {change}" for change in changes]
    todo = [] if exact or dry_run else [t("pr_todo_schedules_differ")]
    key = _report(promo, "after-action", dry_run, t("pr_close_title", name=promo.name),
                  {"comparison": _table(comparison), "periods": _table(review.periods)}, lines, todo)
    if not dry_run:
        state.setdefault("closed_at", now.isoformat())
        state["after_action"] = {"at": now.isoformat(), **{k: v for k, v in figures.items()}, "uplift": uplift}
        state["schedules_restored_exactly"] = exact
    return {"schedule_changes": changes, "schedules_restored_exactly": exact, "buffers_restored": restored_buffers,
            "uplift_revenue": uplift["revenue_minor"], "artifact": key}


if __name__ == "__main__":
    import sys

    promotion_campaign(phase=sys.argv[1], name=sys.argv[2], dry_run="--live" not in sys.argv)
