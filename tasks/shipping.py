"""Shipping-batch tasks (domain-rules.md §4): load from the warehouse, call ``domain.batching``,
store what comes back, write the warehouse's papers, move batches, write tracking numbers back.

Plain functions do the work (tests and the CLI call them); the ``@task`` wrappers are what the
flows run — one per step of a run, never one per order.

Stock a run may allocate: on hand (the ledger) minus what every *other* paid order reserves —
held ones by their lines, batched ones by what their batch holds for them (promotion gifts
included) — ``domain.stock.positions`` with the candidates' own reservations left out, because
the stock they reserve is exactly what they are to be given.
A pulled-out order stops reserving (it is cancelled or refunding) and leaves its batch, so its
units are free for the next run; a handed-over batch has posted its outbound to the ledger.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from config.schema import AppConfig
from config.settings import get_settings
from connectors import ConnectorError, redact
from connectors.http import error_summary
from domain.batching import (AWAITING_SHIPMENT, BATCH_STEPS, HELD_COLUMNS, Allocation, Batch, BatchError,
                             BatchingRules, HoldReason, IllegalTransition, PromotionGift, allocate, assemble_batches,
                             audit, manifest, merge, packing_slips, pick_list, refunded_lines, ship_first,
                             waiting_for_companion)
from domain.canonical import ORDER_KEY, PLATFORMS, OrderStatus
from domain.stock import ALL_WAREHOUSES, RESERVING_STATUSES, positions
from domain.text import Text
from shopops.i18n import labelled, t
from tasks.reporting import csv_safe, write_xlsx
from tasks.stock import shop_connector
from warehouse import repository
from warehouse import shipping as store
from warehouse.db import make_engine

#: CLI / flow action → the domain step it performs
ACTIONS = {"picked": "pick", "packed": "pack", "handover": "hand_over"}
#: the action that moves a batch out of each status (for "what to do next" in messages)
NEXT_ACTION = {"created": "picked", "picked": "packed", "packed": "handover"}
#: an order whose status became one of these after batching leaves its batch, with this reason
PULL_OUT_REASONS = {status: Text(english, f"pull_out_{status}") for status, english in {
    OrderStatus.CANCELLED: "cancelled after batching",
    OrderStatus.REFUNDED: "refunded after batching",
    OrderStatus.REFUNDING: "refund requested after batching",
    OrderStatus.SHIPPED: "shipped outside this batch (marketplace back office?)",
    OrderStatus.COMPLETED: "shipped outside this batch (marketplace back office?)",
    OrderStatus.PENDING_PAYMENT: "no longer paid",
}.items()}
DOCUMENTS = ("pick-list", "packing-slips", "manifest")


# --- rules and numbers ------------------------------------------------------------------------

def batching_rules(config: AppConfig, now: datetime, max_orders_per_batch: int | None = None) -> BatchingRules:
    """``domain.batching.BatchingRules`` from rules.yaml ``shipping`` and the gifts of every
    promotion whose window covers ``now`` (config/promotions), each for that promotion's shops."""
    block = config.rules.shipping
    gifts = tuple(PromotionGift(buy_sku=g.buy_sku, gift_sku=g.gift_sku, gift_quantity=g.gift_quantity,
                                shops=frozenset(promo.shops))
                  for promo in config.promotions if promo.window_start <= now < promo.window_end for g in promo.gifts)
    return BatchingRules(ship_deadline_hours=dict(block.ship_deadline_hours),
                         near_deadline_hours=block.near_deadline_hours,
                         max_orders_per_batch=max_orders_per_batch or block.max_orders_per_batch,
                         merge_buffer_minutes=block.merge_buffer_minutes, split_policy=block.split_policy,
                         remark_keywords_needing_person=tuple(block.remark_keywords_needing_person),
                         promotion_gifts=gifts)


def carrier_name(config: AppConfig, platform: str, sent: object) -> str | None:
    """The carrier ``platform`` means by ``sent`` (its logistics id, or the name it shows), as a
    name of the one carrier table (rules.yaml ``shipping.carrier_codes`` and ``carrier_names``);
    None when no carrier is chosen: nothing, ``0`` (PDD/JD: none yet) or a code the table does
    not know — the caller then applies the default carrier."""
    if sent is None or (not isinstance(sent, str) and pd.isna(sent)):
        return None
    return _carrier_table(config).get((platform, str(sent).strip().casefold()))


def _carrier_table(config: AppConfig) -> dict[tuple[str, str], str]:
    """(platform, folded code or name) → carrier, from the shipping block of rules.yaml."""
    block = config.rules.shipping
    carriers = {*block.carrier_codes, *block.carrier_names, *block.default_carrier.values()}
    table: dict[tuple[str, str], str] = {}
    for platform in PLATFORMS:
        for carrier in carriers:
            table[(platform, carrier.casefold())] = carrier
            for label in block.carrier_names.get(carrier, ()):
                table[(platform, label.strip().casefold())] = carrier
        for carrier, codes in block.carrier_codes.items():
            if platform in codes:
                table[(platform, str(codes[platform]).strip().casefold())] = carrier
    return table


def with_default_carriers(orders: pd.DataFrame, config: AppConfig) -> pd.DataFrame:
    """Orders' carriers as names of the one carrier table (``carrier_name``); an order with no
    carrier chosen gets its platform's ``shipping.default_carrier``."""
    defaults = config.rules.shipping.default_carrier
    fallback = orders["platform"].map(defaults).fillna(defaults["default"])
    table = _carrier_table(config)
    named = pd.Series([table.get((p, str(c).strip().casefold())) if isinstance(c, str) or pd.notna(c) else None
                       for p, c in zip(orders["platform"].tolist(), orders["carrier"].tolist())],
                      index=orders.index, dtype=object)
    return orders.assign(carrier=named.where(named.notna(), fallback))


def carrier_code(config: AppConfig, carrier: str, platform: str) -> str:
    """What the platform's ship call wants for ``carrier`` (rules.yaml ``shipping.carrier_codes``)."""
    return config.rules.shipping.carrier_codes.get(carrier, {}).get(platform, carrier)


def tracking_number(carrier: str, batch_id: str, merge_key: str) -> str:
    """One number per parcel, the same on every rerun: the carrier's letters and 12 digits."""
    prefix = carrier if carrier.isascii() and carrier.isalnum() else "P"
    digits = int(hashlib.sha256(f"{batch_id}|{merge_key}".encode()).hexdigest()[:15], 16) % 10**12
    return f"{prefix[:8]}{digits:012d}"


def allocatable_stock(ledger: pd.DataFrame, reserving_lines: pd.DataFrame, purchase_orders: pd.DataFrame) -> pd.Series:
    """Units a run may allocate per (sku, warehouse): ``positions().available`` of the ledger and
    the reservations of orders *not* in this run, never below 0.

    A reservation of a SKU without a default warehouse is held against ``ALL_WAREHOUSES``: it
    comes off that SKU's real warehouses, the one with most stock first.
    """
    held = positions(ledger, reserving_lines, purchase_orders).set_index(["sku", "warehouse"])["available"]
    anywhere = held[held.index.get_level_values("warehouse") == ALL_WAREHOUSES]
    stock = held[held.index.get_level_values("warehouse") != ALL_WAREHOUSES].clip(lower=0).astype("int64")
    for (sku, _), reserved in anywhere.items():
        owed = -int(reserved)
        for key, units in stock.loc[[sku]].sort_values(ascending=False).items() if sku in stock.index else ():
            taken = min(owed, int(units))
            stock[key] -= taken
            owed -= taken
    return stock


# --- loading and planning ----------------------------------------------------------------------

@dataclass
class ShippingInputs:
    orders: pd.DataFrame          # every order awaiting shipment (canonical columns)
    lines: pd.DataFrame
    batched: pd.DataFrame         # batch_id, ORDER_KEY of orders that already have a parcel
    #: units allocated to orders of live batches (ORDER_KEY, sku, warehouse, quantity): still in
    #: the warehouse but theirs — gifts of a promotion included, which no order line reserves
    batch_lines: pd.DataFrame
    ledger: pd.DataFrame
    purchase_orders: pd.DataFrame
    catalogue: pd.DataFrame       # sku, name, variant, bin_location, default_warehouse
    remarks_read: set[tuple[str, str, str]] = field(default_factory=set)


def load_shipping_inputs(database_url: str, as_of: datetime | None = None) -> ShippingInputs:
    """Everything a shipping run plans from, read in one transaction. ``as_of``: as it stood
    at that moment (exclusive; a run recomputed for a past day, shopops/as_of.py) — orders
    paid before it and not yet shipped then, the batches made before it, the ledger and
    purchase orders up to it."""
    engine = make_engine(database_url)
    until = as_of - timedelta(microseconds=1) if as_of else None
    try:
        with engine.connect() as conn:
            frames = repository.open_orders(conn, [str(s) for s in AWAITING_SHIPMENT], as_of=as_of)
            return ShippingInputs(orders=frames.orders, lines=frames.lines,
                                  batched=store.batched_order_keys(conn, as_of=as_of),
                                  batch_lines=store.live_batch_lines(conn, as_of=as_of),
                                  ledger=repository.read_ledger(conn, until=until),
                                  purchase_orders=repository.open_po_lines(conn, as_of=as_of),
                                  catalogue=store.catalogue(conn),
                                  remarks_read=store.remarks_released_by_a_person(conn, as_of=as_of))
    finally:
        engine.dispose()


@dataclass
class BatchPlan:
    batches: list[Batch]
    held: pd.DataFrame            # HELD_COLUMNS: the audit's holds and the out-of-stock ones
    allocation: Allocation
    orders: pd.DataFrame          # the awaiting orders, carriers filled in (for the papers)
    tracking: pd.DataFrame        # batch_id, ORDER_KEY, tracking_no
    deadline: pd.DataFrame        # orders near or past their deadline and where they are
    candidates: int               # orders this run considered (awaiting, not yet batched)
    #: ORDER_KEY of orders that passed the audit but wait for a companion (merge_buffer_minutes)
    waiting: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ORDER_KEY)))


def _keys(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[list(ORDER_KEY)])


def plan_batches(inputs: ShippingInputs, rules: BatchingRules, config: AppConfig, now: datetime) -> BatchPlan:
    """audit → merge → allocate → batches (``domain.batching``), with tracking numbers per
    parcel and the deadline list. Orders already in a batch are not considered again; a merge
    group still waiting for a companion (``waiting_for_companion``) is left for the next run and
    reserves nothing meanwhile: it is the newest payment, served after the others anyway."""
    orders = with_default_carriers(inputs.orders, config)
    fresh = orders[~_keys(orders).isin(_keys(inputs.batched))]
    audited = audit(fresh, inputs.lines, set(inputs.catalogue["sku"]), rules, remarks_read=inputs.remarks_read)
    groups = merge(audited.passed, rules)
    waits = waiting_for_companion(groups, rules, now)

    # held orders reserve what their lines say; batched ones what their batch holds for them
    others = fresh[fresh["status"].isin(RESERVING_STATUSES) & ~_keys(fresh).isin(_keys(groups))]
    reserving = inputs.lines.merge(others[[*ORDER_KEY, "status"]], on=list(ORDER_KEY))
    default_warehouse = inputs.catalogue.set_index("sku")["default_warehouse"]
    reserving = reserving[reserving["sku"].notna()].assign(
        warehouse=lambda f: f["sku"].map(default_warehouse).fillna(ALL_WAREHOUSES))
    in_batches = inputs.batch_lines.assign(status=OrderStatus.PAID)
    columns = ["sku", "warehouse", "quantity", "status"]
    stock = allocatable_stock(inputs.ledger, pd.concat([reserving[columns], in_batches[columns]], ignore_index=True),
                              inputs.purchase_orders)
    allocation = allocate(groups[~waits], inputs.lines, stock, rules, now)
    batches = assemble_batches(allocation, rules)

    tracking = pd.DataFrame(
        [(b.batch_id, *key, tracking_number(b.carrier, b.batch_id, merge_key))
         for b in batches for *key, merge_key in b.orders[[*ORDER_KEY, "merge_key"]].itertuples(index=False)],
        columns=["batch_id", *ORDER_KEY, "tracking_no"])
    held = pd.concat([audited.held, allocation.held[list(HELD_COLUMNS)]], ignore_index=True)
    placed = pd.concat([inputs.batched, tracking[["batch_id", *ORDER_KEY]]], ignore_index=True)
    return BatchPlan(batches=batches, held=held, allocation=allocation, orders=orders, tracking=tracking,
                     deadline=deadline_list(orders, inputs.lines, held, placed, rules, now),
                     candidates=len(fresh), waiting=groups.loc[waits, list(ORDER_KEY)].reset_index(drop=True))


def deadline_list(orders: pd.DataFrame, lines: pd.DataFrame, held: pd.DataFrame, placed: pd.DataFrame,
                  rules: BatchingRules, now: datetime) -> pd.DataFrame:
    """The orders to ship first (``domain.batching.ship_first``: within ``near_deadline_hours``
    of their deadline or past it, never one under refund or a deposit-only presale — the
    customer-service list is the same), most urgent first, with where they stand: their batch,
    their hold reasons, or waiting."""
    near = ship_first(orders, lines, rules, now)
    near["hours_left"] = near["hours_left"].round(1)
    where = near[list(ORDER_KEY)].merge(placed, on=list(ORDER_KEY), how="left").merge(
        held.assign(held_for=held["reasons"].map(lambda r: [str(x) for x in r]))[[*ORDER_KEY, "held_for"]],
        on=list(ORDER_KEY), how="left")
    near = near.merge(where, on=list(ORDER_KEY), how="left").sort_values("hours_left", kind="stable")
    return near[[*ORDER_KEY, "status", "paid_at", "deadline", "hours_left", "batch_id", "held_for"]].reset_index(drop=True)


def batch_frames(plan: BatchPlan, flow_run_id: str | None, now: datetime) -> tuple[pd.DataFrame, ...]:
    """The plan's batches as rows of shipping_batches, batch_orders and batch_lines."""
    batches = pd.DataFrame([{"batch_id": b.batch_id, "warehouse": b.warehouse, "carrier": b.carrier, "kind": b.kind,
                             "status": b.status, "order_count": b.order_count, "unit_count": b.unit_count,
                             "created_at": now, "flow_run_id": flow_run_id} for b in plan.batches],
                           columns=list(store.BATCH_COLUMNS))
    members = pd.concat([b.orders.assign(batch_id=b.batch_id) for b in plan.batches] or [pd.DataFrame(
        columns=["batch_id", *ORDER_KEY, "merge_key", "status", "pulled_out_reason"])], ignore_index=True)
    members = members.merge(plan.tracking, on=["batch_id", *ORDER_KEY], how="left")
    lines = pd.concat([b.lines.assign(batch_id=b.batch_id) for b in plan.batches] or [pd.DataFrame(
        columns=list(store.BATCH_LINE_COLUMNS))], ignore_index=True)
    return batches, members[list(store.BATCH_ORDER_COLUMNS)], lines[list(store.BATCH_LINE_COLUMNS)]


def store_plan(database_url: str, plan: BatchPlan, flow_run_id: str | None, now: datetime) -> dict[str, int]:
    """New batches and the holds, in one transaction: a crash leaves both or neither."""
    batches, members, lines = batch_frames(plan, flow_run_id, now)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            new = store.write_batches(conn, batches, members, lines)
            holds = store.sync_holds(conn, plan.held, flow_run_id=flow_run_id, now=now)
        return {"batches_new": new, "holds_new": holds["new"], "holds_kept": holds["kept"],
                "holds_released": holds["released"]}
    finally:
        engine.dispose()


# --- pull-out ----------------------------------------------------------------------------------

def orders_to_pull_out(members: pd.DataFrame, lines: pd.DataFrame, rules: BatchingRules,
                       batched_lines: pd.DataFrame | None = None) -> pd.DataFrame:
    """Which batched orders must leave their batch, and why (batch_id, ORDER_KEY, reason):
    status no longer paid (cancelled, refunded, refunding, shipped elsewhere, unpaid), a
    refund requested on one of its lines (the audit's refund rule), or — with
    ``batched_lines`` (batch_id, ORDER_KEY, line_no of the batch's pick list) — a batched line
    whose refund has been paid out since. The last happens when a refund completes between
    two pulls (Shopify refunds at once; any platform whose intermediate state a 10-minute pull
    misses): the order is still paid, but its pick list would send an item already paid back.
    Pulled out, the order is batched again next round with the lines still owed."""
    by_status = members[members["status"].isin(list(PULL_OUT_REASONS))]
    reasons = by_status.assign(reason=by_status["status"].map(lambda s: PULL_OUT_REASONS[OrderStatus(s)]))
    paid = members[~members["status"].isin(list(PULL_OUT_REASONS))]
    audited = audit(paid, lines, set(lines["sku"].dropna()), rules)
    refunding = pd.Series([HoldReason.REFUND_IN_PROGRESS in r for r in audited.held["reasons"]], dtype=bool,
                          index=audited.held.index)
    refunds = audited.held[refunding]
    refunds = refunds.assign(reason=[
        Text("refund requested after batching: " + d[list(r).index(HoldReason.REFUND_IN_PROGRESS)],
             "pull_out_refund_requested", detail=d[list(r).index(HoldReason.REFUND_IN_PROGRESS)])
        for r, d in zip(refunds["reasons"], refunds["reason_details"])])
    refunds = refunds.merge(members[["batch_id", *ORDER_KEY]], on=list(ORDER_KEY))
    columns = ["batch_id", *ORDER_KEY, "reason"]
    found = [reasons[columns], refunds[columns]]
    if batched_lines is not None and not lines.empty:
        paid_back = lines[refunded_lines(lines)][[*ORDER_KEY, "line_no", "sku"]]
        batched = batched_lines[["batch_id", *ORDER_KEY, "line_no"]].drop_duplicates()  # a gift shares its line_no
        paid_back = paid_back.merge(batched, on=[*ORDER_KEY, "line_no"])
        paid_back = paid_back.merge(paid[["batch_id", *ORDER_KEY]], on=["batch_id", *ORDER_KEY])
        already = set(zip(*(refunds[k] for k in ORDER_KEY)))  # held for a refund in progress: one reason
        paid_back = paid_back[[key not in already for key in zip(*(paid_back[k] for k in ORDER_KEY))]]
        if not paid_back.empty:
            paid_back = (paid_back.sort_values("line_no")
                         .assign(reason=lambda f: [f"line {n} ({sku})" for n, sku in zip(f["line_no"], f["sku"])])
                         .groupby(["batch_id", *ORDER_KEY], as_index=False, sort=False)["reason"]
                         .agg(lambda parts: Text("refunded after batching: " + ", ".join(parts),
                                                 "pull_out_lines_refunded", lines=", ".join(parts))))
            found.append(paid_back[columns])
    return pd.concat(found, ignore_index=True)


@dataclass
class PullOutResult:
    pulled: pd.DataFrame          # batch_id, ORDER_KEY, reason
    released: pd.DataFrame        # batch_id, ORDER_KEY, sku, warehouse, quantity

    @property
    def batch_ids(self) -> list[str]:
        return sorted(set(self.pulled["batch_id"]))


def pull_out_changed_orders(database_url: str, rules: BatchingRules,
                            batch_ids: list[str] | None = None) -> PullOutResult:
    """Take out of their live batches (all, or ``batch_ids``) the orders a later pull saw
    cancelled or refunded; their stock is released."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            members, lines = store.live_batch_members(conn, batch_ids)
            _, batched_lines = store.read_batch_contents(conn, sorted(set(members["batch_id"])))
            pulled = orders_to_pull_out(members, lines, rules, batched_lines)
            return PullOutResult(pulled=pulled, released=store.pull_out(conn, pulled))
    finally:
        engine.dispose()


# --- a stored batch as the domain's Batch ------------------------------------------------------

def load_batches(conn, batch_ids: list[str]) -> dict[str, Batch]:
    """``domain.batching.Batch`` objects of stored batches (their orders and allocated lines)."""
    rows = store.read_batches(conn, batch_ids=batch_ids)
    members, lines = store.read_batch_contents(conn, batch_ids)
    # the domain knows an order as in the batch or pulled out; shipped ones are still in it
    members = members.assign(status=members["status"].replace({"shipped": "in_batch"}))
    lines = lines.merge(members[["batch_id", *ORDER_KEY, "merge_key"]], on=["batch_id", *ORDER_KEY])
    found = {}
    for row in rows.itertuples(index=False):
        mine = members[members["batch_id"] == row.batch_id].drop(columns="batch_id").reset_index(drop=True)
        found[row.batch_id] = Batch(
            batch_id=row.batch_id, warehouse=row.warehouse, carrier=row.carrier, kind=row.kind,
            orders=mine[[*ORDER_KEY, "merge_key", "status", "pulled_out_reason"]],
            lines=lines[lines["batch_id"] == row.batch_id].drop(columns="batch_id").reset_index(drop=True),
            status=row.status, **{f"{step}_at": _aware(getattr(row, f"{step}_at")) for step in BATCH_STEPS[1:]})
    return found


def _aware(value) -> datetime | None:
    return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()


# --- papers --------------------------------------------------------------------------------------

def _variant(item: dict) -> str:
    """" (颜色:黑色)", or nothing for an item without a variant (None, or NaN as a line read
    back from the warehouse holds it: never "(nan)" on a slip)."""
    variant = item.get("variant")
    return f" ({variant})" if isinstance(variant, str) and variant.strip() else ""


def _items_text(items: list[dict]) -> str:
    """Slip contents on one line: "DJ-BLK-L ×2 (颜色:黑色;尺码:L)"."""
    return "; ".join(f"{i['sku']} ×{i['quantity']}{_variant(i)}" for i in items)


def _missing_text(gifts: list[dict]) -> str:
    """Gifts the parcel leaves without, said so on the slip: "缺赠品 STICKER" / "gift missing: STICKER"."""
    return t("ship_gift_missing", gifts=", ".join(g["sku"] + _variant(g) for g in gifts)) if gifts else ""


def batch_documents(batch: Batch, orders: pd.DataFrame, catalogue: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Pick list, packing slips and manifest of a batch, headed in the configured language.
    ``orders`` carries ``tracking_no`` per order (the parcel's number)."""
    slips = packing_slips(batch, orders)
    slips = slips.assign(items=slips["items"].map(_items_text), gifts=slips["gifts"].map(_items_text),
                         missing_gifts=slips["missing_gifts"].map(_missing_text))
    slips = slips.merge(orders[[*ORDER_KEY, "tracking_no"]], on=list(ORDER_KEY), how="left")
    papers = {"pick-list": pick_list(batch, catalogue).assign(batch_id=batch.batch_id),
              "packing-slips": slips.assign(batch_id=batch.batch_id), "manifest": manifest(batch, orders)}
    papers = {name: labelled(frame, platform="platform", status="batch_order_status") for name, frame in papers.items()}
    return {name: frame.rename(columns={c: t(f"ship_{c}") for c in frame.columns}) for name, frame in papers.items()}


def document_path(batch_id: str, name: str) -> Path:
    """Where a batch's paper ``name`` (one of ``DOCUMENTS``) is written, as .xlsx (.csv beside it)."""
    return get_settings().report_folder / "shipping-batches" / f"shipping-batches-{batch_id}-{name}.xlsx"


def batches_missing_papers(database_url: str) -> list[str]:
    """Live batches (created, picked, packed) with a paper missing: a run that stored its
    batches and then crashed before their papers were written; the next run writes them."""
    engine = make_engine(database_url)
    try:
        live = store.read_batches(engine, store.LIVE_BATCH_STATUSES)["batch_id"].tolist()
    finally:
        engine.dispose()
    return [batch_id for batch_id in live
            if not all(document_path(batch_id, name).exists() and document_path(batch_id, name).with_suffix(".csv").exists()
                       for name in DOCUMENTS)]


def write_batch_documents(database_url: str, batch_ids: list[str]) -> pd.DataFrame:
    """Each batch's papers as .xlsx and .csv in the reports folder (``shipping-batches/``),
    written from what is stored (a pulled-out order disappears from them on the next write).
    Returns batch_id, document, xlsx, csv."""
    if not batch_ids:
        return pd.DataFrame(columns=["batch_id", "document", "xlsx", "csv"])
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            batches = load_batches(conn, batch_ids)
            members, _ = store.read_batch_contents(conn, batch_ids)
            orders = store.orders_by_key(conn, members)
            catalogue = store.catalogue(conn)
    finally:
        engine.dispose()
    rows = []
    for batch_id, batch in batches.items():
        tracking = members.loc[members["batch_id"] == batch_id, [*ORDER_KEY, "tracking_no"]]
        mine = orders.drop(columns="tracking_no").merge(tracking, on=list(ORDER_KEY))
        for name, frame in batch_documents(batch, mine, catalogue).items():
            # the .csv first, the .xlsx last (each written aside and renamed): a batch whose
            # papers are all there under their names has them whole (see batches_missing_papers)
            csv = document_path(batch_id, name).with_suffix(".csv")
            csv.parent.mkdir(parents=True, exist_ok=True)
            partial = csv.with_name(f".{csv.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
            csv_safe(frame).to_csv(partial, index=False, encoding="utf-8-sig")   # the BOM lets Excel read the Chinese
            partial.replace(csv)
            xlsx = write_xlsx({name: frame}, "shipping-batches", stamp=f"{batch_id}-{name}",
                              title=f"{t('ship_doc_' + name.replace('-', '_'))} {batch_id}")
            rows.append({"batch_id": batch_id, "document": name, "xlsx": xlsx, "csv": csv})
    return pd.DataFrame(rows, columns=["batch_id", "document", "xlsx", "csv"])


# --- lifecycle: created → picked → packed → handed_over ------------------------------------------

@dataclass
class MoveResult:
    batch_id: str
    status: str
    pulled: PullOutResult | None = None
    ledger_posted: int = 0
    confirmed: int = 0
    #: "shop/order: what went wrong" for each order the marketplace did not take the tracking of
    write_back_errors: list[str] = field(default_factory=list)
    documents: pd.DataFrame | None = None


def move_batch(config: AppConfig, database_url: str, batch_id: str, action: str, now: datetime) -> MoveResult:
    """Move a batch one step (``picked``, ``packed``, ``handover``); raise ``BatchError`` saying
    what to do instead when the step is not the batch's next one.

    Hand-over: first the orders cancelled or refunded meanwhile are pulled out; then, in one
    transaction, the batch becomes ``handed_over``, the outbound is posted to the stock ledger
    (one ``shipment`` per SKU and warehouse, reference ``batch:<id>``) and the orders read
    shipped; then each order's tracking number goes to its marketplace. An order the
    marketplace refused stays pending: ``handover`` on the handed-over batch retries it.
    """
    if action not in ACTIONS:
        raise BatchError(Text(f"unknown step '{action}'; use one of {', '.join(ACTIONS)}", "batch_unknown_step",
                              action=action, actions=", ".join(ACTIONS)))
    rules = batching_rules(config, now)
    engine = make_engine(database_url)
    try:
        current = store.read_batches(engine, batch_ids=[batch_id])
        if current.empty:
            raise BatchError(Text(f"there is no batch {batch_id}; `shopops batch list` shows the batches",
                                  "batch_not_found", batch_id=batch_id))
        result = MoveResult(batch_id=batch_id, status=current["status"].iloc[0])
        if action == "handover" and result.status in store.LIVE_BATCH_STATUSES:
            result.pulled = pull_out_changed_orders(database_url, rules, [batch_id])
        with engine.connect() as conn:
            batch = load_batches(conn, [batch_id])[batch_id]
        if action == "handover" and batch.status == "handed_over":
            _write_back(config, engine, batch, result)   # a retry of the orders still pending
            return result
        before = batch.status
        try:
            getattr(batch, ACTIONS[action])(now)
        except IllegalTransition as exc:
            hint = [Text(f"; run `shopops batch {NEXT_ACTION[before]} {batch_id}`", "batch_run_next",
                         command=f"shopops batch {NEXT_ACTION[before]} {batch_id}")] if before in NEXT_ACTION else []
            raise BatchError(Text.joined([exc.args[0], *hint], "")) from None
        with engine.begin() as conn:
            if not store.advance_batch(conn, batch_id, from_status=before, to_status=batch.status, at=now):
                raise BatchError(Text(f"batch {batch_id} was moved by someone else meanwhile; "
                                      f"`shopops batch list` shows where it is now", "batch_moved_meanwhile",
                                      batch_id=batch_id))
            if batch.status == "handed_over":
                result.ledger_posted = repository.post_ledger(conn, outbound(batch, now))
                store.mark_handed_over_orders(conn, parcels(batch, conn), now)
        result.status = batch.status
        if batch.status == "handed_over":
            _write_back(config, engine, batch, result)
        return result
    finally:
        engine.dispose()


def outbound(batch: Batch, at: datetime) -> pd.DataFrame:
    """The batch's ledger rows: units leaving per SKU and warehouse, as negative shipments."""
    lines = batch.lines_in_batch()
    units = lines[lines["quantity"] > 0].groupby(["sku", "warehouse"], as_index=False)["quantity"].sum()
    return units.assign(moved_at=pd.Timestamp(at), kind="shipment", quantity=-units["quantity"].astype("int64"),
                        reference=f"batch:{batch.batch_id}")[list(repository.LEDGER_COLUMNS)]


def parcels(batch: Batch, conn) -> pd.DataFrame:
    """ORDER_KEY, carrier, tracking_no and write-back status of the orders still in ``batch``."""
    members, _ = store.read_batch_contents(conn, [batch.batch_id])
    members = members[members["status"] != "pulled_out"]
    return members.assign(carrier=batch.carrier)[[*ORDER_KEY, "carrier", "tracking_no", "status"]]


def _write_back(config: AppConfig, engine, batch: Batch, result: MoveResult) -> None:
    """Tracking numbers to the marketplaces, one connector per shop, for orders not yet confirmed."""
    with engine.connect() as conn:
        pending = parcels(batch, conn)
    pending = pending[pending["status"] == "in_batch"]
    confirmed = []
    for shop_id, orders in pending.groupby("shop_id", sort=True):
        connector = None
        try:
            connector = shop_connector(config.shop(shop_id))
            for order in orders.itertuples(index=False):
                code = carrier_code(config, order.carrier, order.platform)
                try:
                    reply = connector.confirm_shipment(order.order_id, code, order.tracking_no)
                except ConnectorError as exc:
                    result.write_back_errors.append(
                        f"{shop_id}/{order.order_id}: " + redact(str(exc), connector.credentials.secrets())[:300])
                    continue
                if reply.ok:
                    confirmed.append((order.platform, shop_id, order.order_id))
                else:
                    result.write_back_errors.append(f"{shop_id}/{order.order_id}: the marketplace answered "
                                                    f"{error_summary(reply.reply) or 'no success'}")
        except Exception as exc:  # noqa: BLE001 - no credentials, unknown shop …: every order of the shop waits
            secrets = connector.credentials.secrets() if connector is not None else ()
            result.write_back_errors += [f"{shop_id}/{o}: " + redact(f"{type(exc).__name__}: {exc}", secrets)[:300]
                                         for o in orders["order_id"]]
        finally:
            if connector is not None:
                connector.close()
    result.confirmed += store.mark_confirmed(engine, batch.batch_id,
                                             pd.DataFrame(confirmed, columns=list(ORDER_KEY)))


# --- the Prefect tasks the flows run -------------------------------------------------------------

@task(name="pull-out-changed-orders", cache_policy=NO_CACHE)
def pull_out_task(database_url: str, rules: BatchingRules, batch_ids: list[str] | None = None) -> PullOutResult:
    """Orders cancelled or refunded since they were batched leave their batches."""
    return pull_out_changed_orders(database_url, rules, batch_ids)


@task(name="load-shipping-inputs", cache_policy=NO_CACHE)
def load_shipping(database_url: str, as_of: datetime | None = None) -> ShippingInputs:
    """Orders awaiting shipment with their lines, batch membership, ledger, POs, catalogue."""
    return load_shipping_inputs(database_url, as_of)


@task(name="plan-batches", cache_policy=NO_CACHE)
def plan_batches_task(inputs: ShippingInputs, rules: BatchingRules, config: AppConfig, now: datetime) -> BatchPlan:
    """Audit, merge, allocate and cut into batches (``domain.batching``)."""
    return plan_batches(inputs, rules, config, now)


@task(name="store-batches", cache_policy=NO_CACHE)
def store_plan_task(database_url: str, plan: BatchPlan, flow_run_id: str | None, now: datetime) -> dict[str, int]:
    """New batches, their orders and lines, and the holds, in one transaction."""
    return store_plan(database_url, plan, flow_run_id, now)


@task(name="find-missing-papers", cache_policy=NO_CACHE)
def missing_papers_task(database_url: str) -> list[str]:
    """Live batches whose papers a crashed run never wrote."""
    return batches_missing_papers(database_url)


@task(name="write-batch-documents", cache_policy=NO_CACHE)
def write_documents_task(database_url: str, batch_ids: list[str]) -> pd.DataFrame:
    """Pick lists, packing slips and manifests (.xlsx and .csv) of the batches."""
    return write_batch_documents(database_url, batch_ids)


@task(name="move-batch", cache_policy=NO_CACHE)
def move_batch_task(config: AppConfig, database_url: str, batch_id: str, action: str, now: datetime) -> MoveResult:
    """One lifecycle step of one batch (hand-over: ledger, write-back)."""
    return move_batch(config, database_url, batch_id, action, now)
