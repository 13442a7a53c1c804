"""Flows ``shipping-batches`` (09:00, 14:00, 17:30 Asia/Shanghai) and ``batch-lifecycle`` (from the UI).

shipping-batches (domain-rules.md §4, 发货/打单/波次): orders cancelled or refunded since they
were batched leave their batches first (their stock is released); then the paid orders not yet
in a batch are audited (each held order with every reason, kept in ``order_holds``), merged
(合单: a buyer's orders to one address waiting together; an order paid within
``merge_buffer_minutes`` waits for a companion until the next run), given stock — nearest deadline first, then oldest payment — and cut into batches by
warehouse, carrier and single/multi item. Each batch gets its pick list (by bin), packing
slips (remarks, gifts, masked phone) and carrier manifest as .xlsx and .csv; the run's
report lists batches, holds by reason, pull-outs and orders near or past their deadline.
A rerun batches nothing twice: orders already in a batch are left alone.

batch-lifecycle: one step of one batch, ``picked`` → ``packed`` → ``handover`` (outbound to the
stock ledger, tracking numbers to the marketplaces, orders shipped) — the same as
``shopops batch picked|packed|handover BATCH_ID``.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Literal

import pandas as pd
from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows import readable_run_name
from config.schema import load_config
from config.settings import get_settings
from domain.canonical import ORDER_KEY
from shopops.as_of import as_of_day, day_close
from shopops.i18n import count_line, label, labelled, say, t, when
from shopops.logmask import install_log_masking
from tasks.reporting import publish_report, report_link
from tasks.shipping import (MoveResult, PullOutResult, batching_rules, load_shipping, missing_papers_task,
                            move_batch_task, plan_batches_task, pull_out_task, store_plan_task, write_documents_task)

#: batches whose papers are linked one by one in the summary (the rest: in the batches table)
LINKED_BATCHES = 30


def _rename(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.rename(columns={c: t(f"ship_{c}") for c in frame.columns}).reset_index(drop=True)


def _pulled_table(pulled: PullOutResult) -> pd.DataFrame:
    """One row per pulled-out order: its batch, reason and the units it gave back."""
    units = pulled.released.groupby(["batch_id", *ORDER_KEY]).apply(
        lambda g: "; ".join(f"{s}@{w} ×{q}" for s, w, q in zip(g["sku"], g["warehouse"], g["quantity"])),
        include_groups=False).rename("released").reset_index() if len(pulled.released) else None
    table = labelled(pulled.pulled.assign(reason=pulled.pulled["reason"].map(say)), platform="platform")
    return table.merge(units, on=["batch_id", *ORDER_KEY], how="left") if units is not None \
        else table.assign(released=None)


def _links(documents: pd.DataFrame) -> str:
    """Markdown links to each batch's papers (the .xlsx and the .csv)."""
    lines = []
    for batch_id, papers in list(documents.groupby("batch_id", sort=True))[:LINKED_BATCHES]:
        links = ", ".join(f"{t('ship_doc_' + row.document.replace('-', '_'))} ([xlsx]({report_link(row.xlsx)}) · "
                          f"[csv]({report_link(row.csv)}))" for row in papers.itertuples())
        lines.append(f"- `{batch_id}`: {links}")
    more = documents["batch_id"].nunique() - LINKED_BATCHES
    if more > 0:
        lines.append(t("ship_more_batches", n=more, folder=f"`{documents['xlsx'].iloc[0].parent}`"))
        # a folder, not a link: the reports server lists no directory
    return "\n".join(lines)


@flow(name="shipping-batches", flow_run_name=readable_run_name)
def shipping_batches(now: datetime | None = None, max_orders_per_batch: int | None = None,
                     as_of: date | None = None) -> dict[str, int]:
    """Pull out orders cancelled or refunded since batching, then batch the paid orders waiting.

    Args:
        now: the moment to batch at (UTC): deadlines and the running promotion's gifts are
            judged against it; empty means now.
        max_orders_per_batch: largest batch for this run only; empty means rules.yaml
            shipping.max_orders_per_batch.
        as_of: recompute a past day as if it were that day (YYYY-MM-DD in the operations
            zone): the orders waiting at its close, deadlines judged at 24:00, nothing paid
            after it; the report only — no batch, hold, pull-out or paper is written.
            Empty: now.
    """
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()
    url = get_settings().warehouse_url
    zone = config.rules.orders.default_timezone
    as_of = as_of_day(as_of, zone)            # a malformed or future day stops here, said so
    now = day_close(as_of, zone) if as_of else (now or datetime.now(timezone.utc))
    rules = batching_rules(config, now, max_orders_per_batch)

    if as_of:   # a past day's batches cannot be picked any more: plan and report, write nothing
        pulled = PullOutResult(pulled=pd.DataFrame(columns=["batch_id", *ORDER_KEY, "reason"]),
                               released=pd.DataFrame(columns=["batch_id", *ORDER_KEY, "sku", "warehouse", "quantity"]))
        plan = plan_batches_task(load_shipping(url, now), rules, config, now)
        stored = {"batches_new": 0, "holds_new": 0, "holds_kept": 0, "holds_released": 0}
        documents = pd.DataFrame(columns=["batch_id", "document", "xlsx", "csv"])
    else:
        pulled = pull_out_task(url, rules)
        plan = plan_batches_task(load_shipping(url), rules, config, now)
        stored = store_plan_task(url, plan, flow_run.id, now)
        new_ids = [b.batch_id for b in plan.batches]
        # and the papers of any live batch a crashed run stored but never wrote (issue 19 #3)
        unwritten = missing_papers_task(url)
        documents = write_documents_task(url, sorted(set(new_ids) | set(pulled.batch_ids) | set(unwritten)))

    held = plan.held
    by_reason = held.explode("reasons")["reasons"].map(str).value_counts()
    counts = {"batches": len(plan.batches), "orders": sum(b.order_count for b in plan.batches),
              "units": sum(b.unit_count for b in plan.batches), "held": len(held),
              "pulled_out": len(pulled.pulled), "near_deadline": int((plan.deadline["hours_left"] >= 0).sum()),
              "past_deadline": int((plan.deadline["hours_left"] < 0).sum()), "considered": plan.candidates,
              "waiting_merge": len(plan.waiting), **stored}
    # gifts out of stock the parcels leave without (§4 "check … gifts"): a person follows up
    missing = plan.allocation.missing_gifts.merge(plan.tracking[["batch_id", *ORDER_KEY]], on=list(ORDER_KEY),
                                                  how="left")
    counts["missing_gifts"] = len(missing[list(ORDER_KEY)].drop_duplicates())
    batches = labelled(pd.DataFrame([{"batch_id": b.batch_id, "warehouse": b.warehouse, "carrier": b.carrier,
                                      "kind": b.kind, "orders": b.order_count, "units": b.unit_count}
                                     for b in plan.batches],
                                    columns=["batch_id", "warehouse", "carrier", "kind", "orders", "units"]),
                       kind="batch_kind")
    reasons = pd.DataFrame({"reason": [label("hold_reason", r) for r in by_reason.index],
                            "orders": by_reason.to_numpy()})
    held_table = labelled(held.assign(reason_details=held["reason_details"].map(lambda d: "; ".join(map(say, d)))),
                          platform="platform", reasons="hold_reason")
    tables = {"batches": _rename(batches), "held_by_reason": _rename(reasons), "held": _rename(held_table),
              "pulled_out": _rename(_pulled_table(pulled)),
              "deadline": _rename(labelled(plan.deadline, platform="platform", status="order_status",
                                           held_for="hold_reason")),
              "missing_gifts": _rename(missing[["batch_id", *ORDER_KEY, "sku", "quantity"]].rename(
                  columns={"quantity": "missing_units"}))}

    lines = [t("ship_summary", **counts)]
    if counts["waiting_merge"]:
        lines.append(t("ship_waiting_merge", n=counts["waiting_merge"], minutes=f"{rules.merge_buffer_minutes:g}"))
    if rules.promotion_gifts:
        lines.append(t("ship_promotion_gifts", gifts=", ".join(f"{g.buy_sku} → {g.gift_sku} ×{g.gift_quantity}"
                                                      for g in rules.promotion_gifts)))
    todo = [t("ship_todo_pulled", n=counts["pulled_out"])] if counts["pulled_out"] else []
    todo += [t("ship_todo_held", reason=label("hold_reason", r), n=n) for r, n in by_reason.items()]
    if counts["missing_gifts"]:
        todo.append(t("ship_todo_missing_gifts", n=counts["missing_gifts"]))
    if counts["past_deadline"]:
        todo.append(t("ship_todo_past_deadline", n=counts["past_deadline"]))
    if as_of:
        lines.insert(0, t("as_of_note", day=as_of.isoformat(), zone=zone))
    summary = "\n\n".join(lines) + "\n\n" + (
        f"### {t('needs_person')}\n" + "\n".join(f"- {x}" for x in todo) if todo else t("nothing_to_do"))
    if len(documents):
        summary += f"\n\n### {t('ship_documents')}\n" + _links(documents)
    title = t("as_of_title", title=t("ship_title", at=as_of.isoformat())) if as_of else t("ship_title", at=when(now))
    publish_report(family="shipping-batches", title=title, tables=tables, summary_md=summary, as_of=as_of)
    logger.info(count_line({**({"as_of": as_of.isoformat()} if as_of else {}), **counts}))
    return counts


@flow(name="batch-lifecycle", flow_run_name=readable_run_name)
def batch_lifecycle(batch_id: str, action: Literal["picked", "packed", "handover"],
                    now: datetime | None = None) -> dict[str, object]:
    """Move one shipping batch a step: created → picked → packed → handed over.

    Args:
        batch_id: the batch, as in the shipping-batches report or `shopops batch list`.
        action: picked (picking done), packed (parcels packed and labelled) or handover (the
            carrier collected them: outbound posted to the stock ledger, tracking numbers
            written back to the marketplaces, orders shipped; run it again on a handed-over
            batch to retry write-backs the marketplace refused).
        now: when the step happened (UTC); empty means now.
    """
    install_log_masking()
    logger = get_run_logger()
    config = load_config()
    url = get_settings().warehouse_url
    result: MoveResult = move_batch_task(config, url, batch_id, action, now or datetime.now(timezone.utc))
    pulled = result.pulled
    documents = write_documents_task(url, [batch_id]) if pulled is not None and len(pulled.pulled) else None
    counts = {"batch_id": batch_id, "status": result.status, "pulled_out": len(pulled.pulled) if pulled else 0,
              "ledger_rows": result.ledger_posted, "confirmed": result.confirmed,
              "write_back_failed": len(result.write_back_errors)}
    status = label("batch_status", result.status)
    summary = t("ship_moved", **(counts | {"status": status}))
    if result.write_back_errors:
        summary += "\n\n### " + t("needs_person") + "\n" + t("ship_todo_write_back", batch_id=batch_id) + "\n" + \
            "\n".join(f"- {e}" for e in result.write_back_errors[:50])
    if documents is not None and len(documents):
        summary += f"\n\n### {t('ship_documents')}\n" + _links(documents)
    tables = {"batch": _rename(pd.DataFrame([counts | {"status": status}]))}
    if pulled is not None:
        tables["pulled_out"] = _rename(_pulled_table(pulled))
    publish_report(family="batch-lifecycle", title=t("ship_moved_title", batch_id=batch_id, status=status),
                   tables=tables, summary_md=summary)
    logger.info(count_line(counts | {"status": status}))
    if result.write_back_errors:
        raise RuntimeError(t("ship_todo_write_back", batch_id=batch_id) + " " + "; ".join(result.write_back_errors[:5]))
    return counts


if __name__ == "__main__":
    shipping_batches()
