"""Flows ``reconcile-stock`` (hourly) and ``restock-alerts`` (daily 08:00 Asia/Shanghai).

reconcile-stock (domain-rules.md §2, 账实相符): positions from the ledger, open orders and
purchase orders; what each marketplace listing shows, read through its connector; a warehouse
count when one is given. Every disagreement beyond tolerance becomes a discrepancy record for
a person — nothing is corrected here, and nothing is pushed to a marketplace: the push plan is
computed and reported only (pushing is a separate, switched write).

restock-alerts (§3, 补货提醒): the restock formula with every term, the cooldown, alerts stored
(sent or held back with the reason), a ``shopops.restock.critical`` event per critical SKU sent.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd
from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from config.schema import load_config
from config.settings import get_settings
from shopops.i18n import t
from shopops.logmask import install_log_masking
from shopops.notifications import EVENT_RESTOCK_CRITICAL, emit
from tasks.reporting import publish_report
from tasks.stock import (ListingReadResult, StockReconciliation, judge_restock, load_listings, load_restock,
                         load_stock, read_count_file, read_listing_stock, reconcile_stock_inputs,
                         record_dry_run_pushes, store_alerts, store_reconciliation)


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


@flow(name="reconcile-stock")
def reconcile_stock(count_file: str | None = None, read_listings: bool = True) -> dict[str, int]:
    """Reconcile warehouse count, ledger and marketplace listings; report; never push.

    Args:
        count_file: a WMS export or stocktake file (.csv/.xlsx: sku, warehouse, counted_qty,
            optional counted_at) to compare with the ledger; empty: listings and positions only.
        read_listings: read each listing's sellable quantity from its marketplace first
            (false: judge the quantities read last time).
    """
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()
    url = get_settings().warehouse_url
    rules = config.rules.stock
    count = read_count_file(count_file) if count_file else None  # a bad row stops the run, named

    inputs = load_stock(url)
    reads: list[ListingReadResult] = []
    if read_listings and len(inputs.listings):
        futures = [read_listing_stock.submit(config, shop_id, part, url)
                   for shop_id, part in inputs.listings.groupby("shop_id", sort=True)]
        reads = [future.result() for future in futures]
        inputs.listings = load_listings(url)
    result = reconcile_stock_inputs(inputs, count, tolerance=rules.discrepancy_tolerance_units,
                                    undersell_tolerance=rules.undersell_tolerance_units)
    result.stored = store_reconciliation(url, result, flow_run.id)
    # pushing is a write to the marketplaces (§2): behind rules.yaml stock.push_enabled, and
    # this flow only ever logs it as a dry run (real pushes are not implemented here)
    dry_runs = record_dry_run_pushes(url, result.plan, flow_run.id) if rules.push_enabled else 0

    found = result.discrepancies
    shops = _shop_drift(result, reads)
    tables = {
        "discrepancies": _rename(found.drop(columns=["cause"]), "stk"),
        "shops": _rename(shops, "stk"),
        "push_plan": _rename(result.plan, "stk"),
        "positions": _rename(result.positions, "stk"),
    }
    counts = {"discrepancies": len(found), "new_records": result.stored.new,
              "already_open": result.stored.already_open,
              "count_vs_ledger": int((found["kind"] == "count_vs_ledger").sum()),
              "oversell_risk": int((found["kind"] == "oversell_risk").sum()),
              "undersell": int((found["kind"] == "undersell").sum()),
              "shops_failed": sum(r.status in ("failed", "partial") for r in reads), "positions": len(result.positions),
              "dry_run_pushes": dry_runs}
    lines = [t("stk_summary", **counts)]
    lines.append(t("stk_count_used", source=count.source, at=f"{count.counted_at:%Y-%m-%d %H:%M} UTC",
                   rows=len(count.counts)) if count else t("stk_no_count"))
    if not read_listings:
        lines.append(t("stk_listings_not_read"))
    todo = [t("stk_todo_read_failed", shop=r.shop_id, error="; ".join(r.errors[:2])) for r in reads if r.status != "ok"]
    todo += [t("stk_todo_plan_error", error=e) for e in result.plan_errors]
    if counts["new_records"]:
        todo.append(t("stk_todo_discrepancies", n=counts["new_records"]))
    lines.append(t("stk_never_pushed"))
    if rules.push_enabled:
        lines.append(t("stk_dry_run_pushes", n=dry_runs) + ("" if rules.push_dry_run else " " + t("stk_no_real_push")))
    summary = "\n\n".join(lines) + "\n\n" + (
        f"### {t('needs_person')}\n" + "\n".join(f"- {x}" for x in todo) if todo else t("nothing_to_do"))
    publish_report(family="reconcile-stock", title=t("stk_title"), tables=tables, summary_md=summary)
    logger.info("reconcile-stock: %s", counts)
    return counts


@flow(name="restock-alerts")
def restock_alerts(now: datetime | None = None) -> dict[str, int]:
    """Restock suggestions with every term; alerts through the cooldown; critical ones notified.

    Args:
        now: the moment to evaluate at (UTC); empty means now. The sales history ends the day
            before (in the operations zone, rules.yaml orders.default_timezone).
    """
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()
    url = get_settings().warehouse_url
    now = now or datetime.now(timezone.utc)
    today = now.astimezone(ZoneInfo(config.rules.orders.default_timezone)).date()

    inputs = load_restock(url, config, today)
    judged = judge_restock(inputs, config, today, now)
    store_alerts(url, judged, flow_run.id, now)

    sent_critical = judged[judged["send"] & (judged["level"] == "critical")]
    for row in sent_critical.itertuples():
        emit(EVENT_RESTOCK_CRITICAL, f"shopops.sku.{row.sku}",
             t("rs_critical_message", sku=row.sku, name=row.name or "", cover=f"{row.cover_days:.1f}",
               lead=row.lead_time_days, qty=row.suggested_qty, supplier=row.supplier or "-"),
             sku=row.sku, level=row.level, suggested_qty=int(row.suggested_qty),
             cover_days=float(row.cover_days), lead_time_days=int(row.lead_time_days))

    counts = {level: int((judged["level"] == level).sum()) for level in ("critical", "warning", "overstock")}
    counts.update(sent=int(judged["send"].sum()), held_back=int((~judged["send"]).sum()),
                  events=len(sent_critical))
    table = judged.assign(cover_days=judged["cover_days"].map(lambda v: None if pd.isna(v) or v == float("inf")
                                                               else round(float(v), 2)))
    summary = t("rs_summary", day=today.isoformat(), **counts)
    if inputs.other_currency_revenue:
        summary += "\n\n" + t("rs_other_currencies", currencies=", ".join(inputs.other_currency_revenue),
                              base=config.rules.orders.known_currencies[0])
    publish_report(family="restock-alerts", title=t("rs_title", day=today.isoformat()),
                   tables={"suggestions": _rename(table, "rs")}, summary_md=summary)
    logger.info("restock-alerts: %s", counts)
    return counts


if __name__ == "__main__":
    reconcile_stock()
