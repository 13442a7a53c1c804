"""Flows ``reconcile-stock`` (hourly) and ``restock-alerts`` (daily 08:00 Asia/Shanghai).

reconcile-stock (domain-rules.md §2, 账实相符): positions from the ledger, open orders and
purchase orders; what each marketplace listing shows, read through its connector; a warehouse
count when one is given. Every disagreement beyond tolerance becomes a discrepancy record for
a person — nothing is corrected here. The push plan is reported; pushing it (stock sync) is a
write to the marketplaces behind rules.yaml ``stock.push_enabled``: a dry run logs the pushes,
a live sync pushes, reads each listing back and logs before, after and the reply. A listing
edited on the marketplace since our last push is reported and left alone.

restock-alerts (§3, 补货提醒): the restock formula with every term, the cooldown, alerts stored
(sent or held back with the reason), a ``shopops.restock.critical`` event per critical SKU sent.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
import requests
from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows import readable_run_name
from config.schema import load_config
from config.settings import get_settings
from shopops.as_of import as_of_day, day_close
from shopops.i18n import count_line, labelled, say, t, when
from shopops.logmask import install_log_masking
from shopops.notifications import EVENT_RESTOCK_CRITICAL, emit, post_webhook
from tasks.reporting import act_first, publish_report
from tasks.stock import (PUSH_COLUMNS, ListingReadResult, StockReconciliation, alert_message_lines, judge_restock,
                         load_listings, load_restock, load_stock, overstock_summary, purchase_suggestions,
                         push_listing_stock, pushes_to_make, read_count_file, read_listing_stock, reconcile_headline,
                         reconcile_stock_inputs, record_dry_run_pushes, store_alerts, store_reconciliation, sync_mode)


def _rename(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return frame.rename(columns={c: t(f"{prefix}_{c}") for c in frame.columns}).reset_index(drop=True)


def _shop_drift(result: StockReconciliation, reads: list[ListingReadResult]) -> pd.DataFrame:
    """Per shop: listings judged, oversell risk and undersell (count and units), read failures."""
    found = result.discrepancies
    listed = found[found["kind"].isin(["oversell_risk", "undersell"])]
    shops = sorted(set(result.plan["shop_id"]) | {r.shop_id for r in reads})
    rows = []
    for shop in shops:
        mine = listed[listed["shop_id"] == shop]
        over, under = mine[mine["kind"] == "oversell_risk"], mine[mine["kind"] == "undersell"]
        read = next((r for r in reads if r.shop_id == shop), None)
        rows.append({"shop_id": shop, "listings": int((result.plan["shop_id"] == shop).sum()),
                     "read_status": read.status if read else "not_read",
                     "oversell_listings": len(over), "oversell_units": int(over["difference"].sum()),
                     "undersell_listings": len(under), "undersell_units": int(-under["difference"].sum()),
                     "read_errors": "; ".join(read.errors[:3]) if read else ""})
    return pd.DataFrame(rows, columns=["shop_id", "listings", "read_status", "oversell_listings", "oversell_units",
                                       "undersell_listings", "undersell_units", "read_errors"])


@flow(name="reconcile-stock", flow_run_name=readable_run_name)
def reconcile_stock(count_file: str | None = None, read_listings: bool = True, sync: str | None = None,
                    overwrite_edited: bool = False) -> dict[str, int]:
    """Reconcile warehouse count, ledger and marketplace listings; report; sync stock if asked.

    Args:
        count_file: a WMS export or stocktake file (.csv/.xlsx: sku, warehouse, counted_qty,
            optional counted_at) to compare with the ledger; empty: listings and positions only.
        read_listings: read each listing's sellable quantity from its marketplace first
            (false: judge the quantities read last time; a sync always reads).
        sync: none (plan only), dry_run (log the plan's pushes, write nothing) or live (push,
            read back, log; needs rules.yaml stock.push_enabled: true). Empty: rules.yaml decides
            (push_enabled off → none; on → dry_run while push_dry_run is true, else live).
        overwrite_edited: push listings edited on the marketplace since our last push too
            (normally they are reported and left as the person set them).
    """
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()
    url = get_settings().warehouse_url
    rules = config.rules.stock
    mode = sync_mode(sync, rules.push_enabled, rules.push_dry_run)   # a live push switched off stops here
    count = read_count_file(count_file) if count_file else None  # a bad row stops the run, named

    inputs = load_stock(url)
    reads: list[ListingReadResult] = []
    read_listings = read_listings or mode != "none"   # never push on quantities read in an earlier run
    if read_listings and len(inputs.listings):
        futures = [read_listing_stock.submit(config, shop_id, part, url)
                   for shop_id, part in inputs.listings.groupby("shop_id", sort=True)]
        reads = [future.result() for future in futures]
        inputs.listings = load_listings(url)
    result = reconcile_stock_inputs(inputs, count, tolerance=rules.discrepancy_tolerance_units,
                                    undersell_tolerance=rules.undersell_tolerance_units)
    result.stored = store_reconciliation(url, result, flow_run.id)

    pushes = pd.DataFrame(columns=list(PUSH_COLUMNS))
    if mode == "dry_run":
        pushes = record_dry_run_pushes(url, result.plan, flow_run.id)
    elif mode == "live":
        read_ok = pd.concat([r.reads for r in reads], ignore_index=True) if reads else None
        todo = pushes_to_make(result.plan, read_ok, overwrite_edited)
        futures = [push_listing_stock.submit(config, shop_id, part, url, flow_run.id)
                   for shop_id, part in todo.groupby("shop_id", sort=True)]
        done = [future.result() for future in futures]
        if done:
            pushes = pd.concat(done, ignore_index=True)
    edited = result.plan[result.plan["action"] == "report_edited"]
    if overwrite_edited and mode == "live":
        edited = edited.iloc[0:0]

    found = result.discrepancies
    shops = _shop_drift(result, reads)
    tables = {
        "discrepancies": _rename(act_first(labelled(found.drop(columns=["cause"]), kind="discrepancy_kind"), "sku",
                                           "warehouse", "shop_id", "kind", "difference", "suggested_cause"), "stk"),
        "shops": _rename(labelled(shops, read_status="read_status"), "stk"),
        "push_plan": _rename(labelled(result.plan, action="push_action", edited_since_push="yes_no"), "stk"),
        "edited_on_marketplace": _rename(edited[["shop_id", "marketplace_item_id", "marketplace_sku_id", "sku",
                                                 "last_pushed_qty", "marketplace_qty", "planned_qty"]], "stk"),
        "pushes": _rename(labelled(pushes.assign(reply=pushes["reply"].map(_reply_text)), outcome="push_outcome"),
                          "stk"),
        "positions": _rename(result.positions, "stk"),
    }
    outcomes = pushes["outcome"].value_counts()
    counts = {"discrepancies": len(found), "new_records": result.stored.new,
              "already_open": result.stored.already_open,
              "count_vs_ledger": int((found["kind"] == "count_vs_ledger").sum()),
              "oversell_risk": int((found["kind"] == "oversell_risk").sum()),
              "undersell": int((found["kind"] == "undersell").sum()),
              "shops_failed": sum(r.status in ("failed", "partial") for r in reads), "positions": len(result.positions),
              "dry_run_pushes": int(outcomes.get("dry_run", 0)), "pushed_confirmed": int(outcomes.get("confirmed", 0)),
              "pushed_mismatch": int(outcomes.get("mismatch", 0)), "push_failed": int(outcomes.get("failed", 0)),
              "edited_on_marketplace": len(edited), "share_errors": len(result.plan_errors)}
    lines = [t("stk_summary", **counts)]
    lines.append(t("stk_count_used", source=count.source, at=when(count.counted_at),
                   rows=len(count.counts)) if count else t("stk_no_count"))
    if not read_listings:
        lines.append(t("stk_listings_not_read"))
    lines.append({"none": t("stk_never_pushed"), "dry_run": t("stk_dry_run_pushes", n=counts["dry_run_pushes"]),
                  "live": t("stk_live_pushes", confirmed=counts["pushed_confirmed"], mismatch=counts["pushed_mismatch"],
                            failed=counts["push_failed"])}[mode])
    todo = [t("stk_todo_read_failed", shop=r.shop_id, error="; ".join(r.errors[:2])) for r in reads if r.status != "ok"]
    todo += [t("stk_todo_plan_error", error=say(e)) for e in result.plan_errors]
    # what each kind of record asks of a person (each row's own advice is in the sheet)
    if counts["count_vs_ledger"]:
        todo.append(t("stk_todo_count", n=counts["count_vs_ledger"]))
    for kind, key in (("oversell_risk", "stk_todo_oversell"), ("undersell", "stk_todo_undersell")):
        rows = found[found["kind"] == kind]
        if len(rows):
            todo.append(t(key, n=len(rows), units=int(rows["difference"].abs().sum())))
    if len(edited):
        todo.append(t("stk_todo_edited", n=len(edited)))
    if counts["pushed_mismatch"] or counts["push_failed"]:
        todo.append(t("stk_todo_push_problems", n=counts["pushed_mismatch"] + counts["push_failed"]))
    summary = "\n\n".join(lines) + "\n\n" + (
        f"### {t('needs_person')}\n" + "\n".join(f"- {x}" for x in todo) if todo else t("nothing_to_do"))
    publish_report(family="reconcile-stock", title=reconcile_headline(counts, counted=count is not None), tables=tables,
                   summary_md=summary)
    logger.info(t("stk_log_done", mode=t(f"stk_sync_mode_{mode}"), counts=count_line(counts)))
    return counts


def _notify(sent: pd.DataFrame, day: str) -> str:
    """The sent alerts as one message to the team's webhook (SHOPOPS_WEBHOOK_URL, in
    SHOPOPS_WEBHOOK_FORMAT); returns the report line saying what happened. A webhook that
    fails does not fail the run: the alerts are stored and in the report either way."""
    settings = get_settings()
    if not settings.webhook_url or sent.empty:
        return ""
    levels = {level: int((sent["level"] == level).sum()) for level in ("critical", "warning", "overstock")}
    try:
        post_webhook(settings.webhook_url, settings.webhook_format, t("rs_message_title", day=day, **levels),
                     "\n".join(alert_message_lines(sent)))
    except requests.RequestException as exc:
        get_run_logger().warning(t("rs_log_webhook_failed", error=exc))
        return t("rs_notify_failed", error=str(exc).splitlines()[0][:200])
    return t("rs_notified", format=settings.webhook_format, n=len(sent))


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """A restock table in the reader's language: levels, sources and reasons in words."""
    out = labelled(frame, level="restock_level", last_level="restock_level", lead_time_source="lead_time_source",
                   send="yes_no")
    for column in ("reason", "send_reason"):
        if column in out.columns:
            out[column] = out[column].map(say)
    return out


def _reply_text(reply) -> str:
    """The marketplace's reply as one line of JSON for the sheet."""
    return json.dumps(reply, ensure_ascii=False, default=str)[:500] if reply is not None else ""


@flow(name="restock-alerts", flow_run_name=readable_run_name)
def restock_alerts(now: datetime | None = None, as_of: date | None = None) -> dict[str, int]:
    """Restock suggestions with every term; alerts through the cooldown; critical ones notified.

    Args:
        now: the moment to evaluate at (UTC); empty means now. The sales history ends the day
            before (in the operations zone, rules.yaml orders.default_timezone).
        as_of: recompute a past day as if it were that day (YYYY-MM-DD in the operations
            zone): the history up to and including it, the stock at its close, nothing after;
            the report only — no alert is sent or stored. Empty: today, as scheduled.
    """
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()
    url = get_settings().warehouse_url
    zone = config.rules.orders.default_timezone
    as_of = as_of_day(as_of, zone)            # a malformed or future day stops here, said so
    if as_of:
        now, today, history_end = day_close(as_of, zone), as_of, as_of + timedelta(days=1)
    else:
        now = now or datetime.now(timezone.utc)
        today = history_end = now.astimezone(ZoneInfo(zone)).date()

    inputs = load_restock(url, config, history_end, now if as_of else None)
    judged = judge_restock(inputs, config, history_end, now)
    if as_of:   # a recomputed past day tells nobody and changes no cooldown: nothing sent or held back
        judged = judged.drop(columns=["send", "send_reason"]).assign(send=False)
    counts = {level: int((judged["level"] == level).sum()) for level in ("critical", "warning", "overstock")}
    counts.update(sent=int(judged["send"].sum()), held_back=0 if as_of else int((~judged["send"]).sum()), events=0)
    if not as_of:
        store_alerts(url, judged, flow_run.id, now)
        sent_critical = judged[judged["send"] & (judged["level"] == "critical")]
        for row in sent_critical.itertuples():
            emit(EVENT_RESTOCK_CRITICAL, f"shopops.sku.{row.sku}",
                 t("rs_critical_message", sku=row.sku, name=row.name or "", cover=f"{row.cover_days:.1f}",
                   lead=row.lead_time_days, qty=row.suggested_qty, supplier=row.supplier or "-"),
                 sku=row.sku, level=row.level, suggested_qty=int(row.suggested_qty),
                 cover_days=float(row.cover_days), lead_time_days=int(row.lead_time_days))
        counts["events"] = len(sent_critical)

    table = _readable(judged.drop(columns="send" if as_of else []).assign(cover_days=judged["cover_days"].map(
        lambda v: None if pd.isna(v) or v == float("inf") else round(float(v), 2))))
    summary = t("rs_summary", day=today.isoformat(), **counts)
    if len(judged):
        summary += "\n\n" + t("rs_demand_term", term=judged["demand_method"].iloc[0])
    if counts["overstock"]:
        summary += "\n\n" + "\n".join(overstock_summary(judged))
    if inputs.other_currency_revenue:
        summary += "\n\n" + t("rs_other_currencies", currencies=", ".join(inputs.other_currency_revenue),
                              base=config.rules.orders.known_currencies[0])
    if as_of:
        summary = t("as_of_note", day=as_of.isoformat(), zone=zone) + "\n\n" + summary
    else:
        notified = _notify(judged[judged["send"]], today.isoformat())
        if notified:
            summary += "\n\n" + notified
    publish_report(family="restock-alerts", title=_dated(t("rs_title", day=today.isoformat()), as_of),
                   tables={"suggestions": _rename(act_first(table, "sku", "name", "suggested_qty", "level", "supplier"),
                                                  "rs")}, summary_md=summary, as_of=as_of)
    sheets = purchase_suggestions(judged, config, t("rs_no_supplier"))
    if sheets:
        publish_report(family="purchase-suggestions", title=_dated(t("rs_po_title", day=today.isoformat()), as_of),
                       tables={name: _rename(_readable(frame), "rs") for name, frame in sheets.items()},
                       summary_md=t("rs_po_summary", lines=sum(len(f) for f in sheets.values()), suppliers=len(sheets)),
                       as_of=as_of)
    counts["purchase_lines"] = sum(len(f) for f in sheets.values())
    logger.info(count_line({**({"as_of": as_of.isoformat()} if as_of else {}), **counts}))
    return counts


def _dated(title: str, as_of: date | None) -> str:
    """A report's title, marked as recomputed for a past day when it is one."""
    return t("as_of_title", title=title) if as_of else title


if __name__ == "__main__":
    reconcile_stock()
