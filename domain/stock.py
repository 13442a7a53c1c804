"""Stock positions, the three-way reconciliation and the marketplace push plan (domain-rules.md §2).

Three views of stock must agree (账实相符): the warehouse's physical count, the ledger, and what
each marketplace listing offers as sellable. Overselling hurts the shop's DSR rating badly, so
the rules here lean towards offering too little rather than too much, and nothing is corrected
silently: every disagreement becomes a record for a person. Plain pandas: the tasks load the
frames from the warehouse and store what comes back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from domain.text import Text

POSITION_KEY: list[str] = ["sku", "warehouse"]
POSITION_COLUMNS: tuple[str, ...] = (
    "sku", "warehouse", "on_hand", "reserved", "available", "in_transit", "next_expected_at")
LISTING_KEY: list[str] = ["shop_id", "marketplace_item_id", "marketplace_sku_id"]
PLAN_COLUMNS: tuple[str, ...] = (
    *LISTING_KEY, "sku", "available", "allocation_share", "buffer", "planned_qty",
    "last_pushed_qty", "marketplace_qty", "edited_since_push", "action")
DISCREPANCY_COLUMNS: tuple[str, ...] = (
    "kind", "sku", "warehouse", *LISTING_KEY, "warehouse_count", "ledger_qty", "listing_qty",
    "planned_qty", "difference", "cause", "suggested_cause")

#: order statuses whose lines hold stock: paid (or presale deposit paid) and not yet shipped —
#: the same orders the shipping follow-ups wait on (``domain.followup.WAITING_TO_SHIP``)
RESERVING_STATUSES: tuple[str, ...] = ("paid", "presale_deposit_paid")
#: purchase orders whose unreceived quantity is still on its way
OPEN_PO_STATUSES: tuple[str, ...] = ("open", "partially_received")
#: listings sell a SKU's stock of every warehouse, so their records name no single warehouse
ALL_WAREHOUSES = "*"
#: allocation shares are kept to 4 decimal places (listings.allocation_share is NUMERIC(5, 4));
#: the plan multiplies in whole ten-thousandths so that 100 × 0.29 floors to 29, not 28
SHARE_SCALE = 10_000

_NON_NEGATIVE_KINDS = ("opening", "receipt", "stocktake")
_LEDGER_KINDS = (*_NON_NEGATIVE_KINDS, "shipment", "adjustment")


# --- positions ---------------------------------------------------------------------------

def positions(ledger: pd.DataFrame, order_lines: pd.DataFrame, purchase_orders: pd.DataFrame) -> pd.DataFrame:
    """Stock per SKU and warehouse: on hand, reserved, available, in transit (one row per pair
    that appears in any input, sorted by SKU and warehouse; ``POSITION_COLUMNS``).

    ``ledger``: sku, warehouse, moved_at, kind, quantity — signed movements (receipts and
    openings >= 0, shipments <= 0, adjustments either way) and stocktake rows whose quantity is
    the counted total. See ``on_hand`` for how a count and the movements combine.

    ``order_lines``: sku, warehouse, quantity, status (the order's canonical status). Lines of
    ``RESERVING_STATUSES`` orders are reserved; gift lines count, as gifts leave the warehouse too.

    ``purchase_orders``: one row per PO line with its header: sku, warehouse, status,
    expected_at, qty_ordered, qty_received. In transit is what open POs with an expected date
    still owe; a PO without a date is not yet a promise of stock. ``next_expected_at`` is the
    earliest such date, the one that matters for cover.

    available = on_hand − reserved and may be negative: that is an oversold SKU, shown as such.
    """
    on_hand_units = on_hand(ledger).rename("on_hand")

    reserving = order_lines[order_lines["status"].isin(RESERVING_STATUSES)]
    reserved = reserving.groupby(POSITION_KEY)["quantity"].sum().rename("reserved")

    open_lines = purchase_orders[purchase_orders["status"].isin(OPEN_PO_STATUSES)
                                 & purchase_orders["expected_at"].notna()]
    open_lines = open_lines.assign(outstanding=(open_lines["qty_ordered"] - open_lines["qty_received"]).clip(lower=0))
    open_lines = open_lines[open_lines["outstanding"] > 0]
    in_transit = open_lines.groupby(POSITION_KEY).agg(
        in_transit=("outstanding", "sum"), next_expected_at=("expected_at", "min"))

    frame = pd.concat([on_hand_units, reserved, in_transit], axis=1)
    frame.index.names = POSITION_KEY
    counts = ["on_hand", "reserved", "in_transit"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    frame["available"] = frame["on_hand"] - frame["reserved"]
    frame["next_expected_at"] = pd.to_datetime(frame["next_expected_at"], utc=True)
    return frame.reset_index().sort_values(POSITION_KEY, ignore_index=True)[list(POSITION_COLUMNS)]


def on_hand(ledger: pd.DataFrame) -> pd.Series:
    """Units on hand per (sku, warehouse) from the ledger.

    Rule: the latest stocktake row of a pair *sets* the count as of its ``moved_at``; movements
    stamped at or before that moment are taken as already inside the count (a count is the
    physical truth at its moment, and movements of the same second cannot be ordered against
    it); later movements are added to it. A pair never counted is the sum of all its movements
    (opening + receipts − shipments ± adjustments).

    Raises ``ValueError`` for an unknown kind, a movement with the wrong sign, or two different
    counts of one pair at the same moment — guessing would hide a data error.
    """
    entries = ledger.assign(moved_at=pd.to_datetime(ledger["moved_at"], utc=True))
    _check_ledger(entries)
    counts = entries[entries["kind"] == "stocktake"]
    latest_count = (counts.sort_values("moved_at").groupby(POSITION_KEY).tail(1)
                    .rename(columns={"moved_at": "counted_at", "quantity": "counted_qty"})
                    [[*POSITION_KEY, "counted_at", "counted_qty"]])
    movements = entries[entries["kind"] != "stocktake"].merge(latest_count, on=POSITION_KEY, how="left")
    after_count = movements["counted_at"].isna() | (movements["moved_at"] > movements["counted_at"])
    moved = movements[after_count].groupby(POSITION_KEY)["quantity"].sum()
    counted = latest_count.set_index(POSITION_KEY)["counted_qty"]
    return moved.add(counted, fill_value=0).astype("int64").rename("on_hand")


def _check_ledger(ledger: pd.DataFrame) -> None:
    problems = []
    unknown = ledger[~ledger["kind"].isin(_LEDGER_KINDS)]
    for row in unknown.itertuples():
        problems.append(f"{row.kind!r} is not a ledger kind ({', '.join(_LEDGER_KINDS)}): {row.sku} in {row.warehouse}")
    wrong_sign = ledger[(ledger["kind"].isin(_NON_NEGATIVE_KINDS) & (ledger["quantity"] < 0))
                        | ((ledger["kind"] == "shipment") & (ledger["quantity"] > 0))]
    for row in wrong_sign.itertuples():
        problems.append(f"{row.kind} of {row.quantity} for {row.sku} in {row.warehouse} has the wrong sign "
                        "(openings, receipts and counts are >= 0, shipments <= 0)")
    counts = ledger[ledger["kind"] == "stocktake"]
    clashing = counts.groupby([*POSITION_KEY, "moved_at"])["quantity"].nunique()
    for (sku, warehouse, moved_at), _ in clashing[clashing > 1].items():
        problems.append(f"two different stocktake counts of {sku} in {warehouse} at {moved_at}")
    if problems:
        raise ValueError("The stock ledger cannot be summed; correct these entries:\n  - " + "\n  - ".join(problems))


# --- push plan ---------------------------------------------------------------------------

@dataclass
class PushPlan:
    #: one row per listing of a SKU whose shares are valid (``PLAN_COLUMNS``); ``action`` is
    #: push | unchanged | report_edited
    plan: pd.DataFrame
    #: one message per SKU whose listings' shares sum above 1; those listings are not planned
    errors: list[str] = field(default_factory=list)


def push_plan(available: pd.Series, listings: pd.DataFrame) -> PushPlan:
    """What each listing may offer: ``floor(available × allocation_share) − buffer``, never below 0.

    ``available``: units per SKU over all warehouses (a SKU missing from it has 0, so an unknown
    SKU is offered nothing). ``listings``: shop_id, marketplace_item_id, marketplace_sku_id, sku,
    allocation_share, buffer, last_pushed_qty, last_read_qty (the marketplace's quantity at the
    last read), and optionally sold_since_push (units the listing sold since our last push).

    A SKU whose listings' shares sum above 1 would promise more than exists: it is reported in
    ``errors`` and not planned — scaling the shares down silently would hide the mistake.

    A listing whose marketplace quantity our last push and its sales since cannot explain was
    edited on the marketplace (``_edited_since_push``): ``action`` is ``report_edited`` — report
    it, don't overwrite a person's change. A listing already showing the planned quantity is
    ``unchanged``.
    """
    listings = listings.copy()
    listings["share_units"] = (listings["allocation_share"].astype(float) * SHARE_SCALE).round().astype("int64")
    share_totals = listings.groupby("sku")["share_units"].sum()
    over = share_totals[share_totals > SHARE_SCALE]
    errors = [
        Text(f"SKU {sku}: allocation shares of its listings sum to {total / SHARE_SCALE:.4f}, more than 1 "
             f"({_listing_shares(listings[listings['sku'] == sku])}); lower the shares — nothing is pushed for this SKU",
             "stk_share_error", sku=sku, total=f"{total / SHARE_SCALE:.4f}",
             shares=_listing_shares(listings[listings["sku"] == sku]))
        for sku, total in over.items()]
    planned = listings[~listings["sku"].isin(over.index)].copy()

    planned["available"] = planned["sku"].map(available).fillna(0).astype("int64")
    offered = planned["available"] * planned["share_units"] // SHARE_SCALE - planned["buffer"].astype("int64")
    planned["planned_qty"] = offered.clip(lower=0)
    planned["marketplace_qty"] = planned["last_read_qty"]
    planned["edited_since_push"] = _edited_since_push(planned)
    planned["action"] = "push"
    planned.loc[planned["marketplace_qty"] == planned["planned_qty"], "action"] = "unchanged"
    planned.loc[planned["edited_since_push"], "action"] = "report_edited"
    return PushPlan(plan=planned[list(PLAN_COLUMNS)].reset_index(drop=True), errors=errors)


def _edited_since_push(listings: pd.DataFrame) -> pd.Series:
    """Edited on the marketplace: the listing shows a quantity that neither our last push nor
    the sales since explain. Marketplaces take sold units off a listing, and our orders may
    arrive later than the marketplace counts them, so anything from ``last pushed − sold since``
    (never below 0) up to ``last pushed`` is explained; above it or below it, a person (or
    another tool) changed the listing."""
    pushed = pd.to_numeric(listings["last_pushed_qty"])
    read = pd.to_numeric(listings["last_read_qty"])
    sold = pd.to_numeric(listings.get("sold_since_push", pd.Series(0, index=listings.index))).fillna(0)
    lowest = (pushed - sold).clip(lower=0)
    return (pushed.notna() & read.notna() & ((read > pushed) | (read < lowest))).astype(bool)


def _listing_shares(listings: pd.DataFrame) -> str:
    return ", ".join(f"{row.shop_id}/{row.marketplace_item_id} {row.share_units / SHARE_SCALE:.4f}"
                     for row in listings.itertuples())


# --- reconciliation ----------------------------------------------------------------------

@dataclass
class Reconciliation:
    #: one row per disagreement beyond tolerance (``DISCREPANCY_COLUMNS``), for a person to resolve
    discrepancies: pd.DataFrame
    #: the push plan's share errors: those SKUs' listings could not be judged
    plan_errors: list[str] = field(default_factory=list)


def reconcile(warehouse_counts: pd.DataFrame, ledger_positions: pd.DataFrame, listings_read: pd.DataFrame,
              tolerance: int, undersell_tolerance: int) -> Reconciliation:
    """Compare the three views of stock and return every disagreement beyond tolerance.

    ``warehouse_counts``: sku, warehouse, counted_qty (a WMS export or stocktake file).
    ``ledger_positions``: ``positions()`` as of the count, computed *without* the count itself.
    ``listings_read``: as for ``push_plan`` (last_read_qty is the listing's sellable quantity).

    Two kinds of record, each carrying the three numbers (warehouse count, ledger, listing):

    - ``count_vs_ledger`` per counted (sku, warehouse), when |count − ledger on hand| > tolerance.
      Cause: count below the ledger → ``unrecorded_shipment`` (goods left without a shipment or
      adjustment posted: unposted shipment, loss, damage); count above → ``unrecorded_receipt``.
      Only pairs in ``warehouse_counts`` are judged, so a partial (cycle) count does not make
      every uncounted SKU look missing; a full stocktake lists its zeros.
    - per listing, against the push plan on the ledger's available stock:
      ``oversell_risk`` when the listing offers more than the plan + tolerance, ``undersell``
      when it offers less than the plan − ``undersell_tolerance`` (rules.yaml
      ``stock.undersell_tolerance_units``: sales lower a listing between two pushes faster than
      its plan, so a listing a little under is normal). Cause ``listing_edited`` when someone
      changed the listing on the marketplace since our last push (``push_plan``), else
      ``listing_drift`` (it still shows our last push from before the stock changed, or we
      never pushed it).

    Listings never read (no last_read_qty) cannot be judged and are skipped.
    """
    sku_counted = warehouse_counts.groupby("sku")["counted_qty"].sum()
    sku_on_hand = ledger_positions.groupby("sku")["on_hand"].sum()
    sku_listed = listings_read.groupby("sku")["last_read_qty"].sum(min_count=1)

    counted = warehouse_counts.merge(ledger_positions[[*POSITION_KEY, "on_hand"]], on=POSITION_KEY, how="left")
    counted["ledger_qty"] = counted["on_hand"].fillna(0).astype("int64")
    counted["difference"] = counted["counted_qty"] - counted["ledger_qty"]
    off = counted[counted["difference"].abs() > tolerance]
    count_records = pd.DataFrame({
        "kind": "count_vs_ledger", "sku": off["sku"], "warehouse": off["warehouse"],
        "warehouse_count": off["counted_qty"], "ledger_qty": off["ledger_qty"],
        "listing_qty": off["sku"].map(sku_listed), "difference": off["difference"],
        "cause": ["unrecorded_shipment" if d < 0 else "unrecorded_receipt" for d in off["difference"]],
        "suggested_cause": [_count_cause_text(r) for r in off.itertuples()],
    })

    plan = push_plan(ledger_positions.groupby("sku")["available"].sum(), listings_read)
    judged = plan.plan[plan.plan["marketplace_qty"].notna()].copy()
    judged["difference"] = (judged["marketplace_qty"] - judged["planned_qty"]).astype("int64")
    judged["kind"] = None
    judged.loc[judged["difference"] > tolerance, "kind"] = "oversell_risk"
    judged.loc[judged["difference"] < -undersell_tolerance, "kind"] = "undersell"
    drift = judged[judged["kind"].notna()]
    listing_records = pd.DataFrame({
        "kind": drift["kind"], "sku": drift["sku"], "warehouse": ALL_WAREHOUSES,
        **{column: drift[column] for column in LISTING_KEY},
        "warehouse_count": drift["sku"].map(sku_counted), "ledger_qty": drift["sku"].map(sku_on_hand),
        "listing_qty": drift["marketplace_qty"].astype("int64"), "planned_qty": drift["planned_qty"],
        "difference": drift["difference"],
        "cause": drift["edited_since_push"].map({True: "listing_edited", False: "listing_drift"}),
        "suggested_cause": [_listing_cause_text(r) for r in drift.itertuples()],
    })

    records = [frame for frame in (count_records, listing_records) if len(frame)]
    discrepancies = pd.concat(records, ignore_index=True) if records else pd.DataFrame()
    discrepancies = discrepancies.reindex(columns=list(DISCREPANCY_COLUMNS))
    quantities = ["warehouse_count", "ledger_qty", "listing_qty", "planned_qty", "difference"]
    discrepancies[quantities] = discrepancies[quantities].astype("Int64")   # blank where a view has no number
    return Reconciliation(discrepancies=discrepancies, plan_errors=plan.errors)


def _count_cause_text(row) -> str:
    units = abs(row.difference)
    if row.difference < 0:
        return (f"counted {row.counted_qty}, the ledger has {row.ledger_qty}: {units} unit(s) left {row.warehouse} "
                "without a posted shipment or adjustment (unposted shipment, loss or damage)")
    return (f"counted {row.counted_qty}, the ledger has {row.ledger_qty}: {units} unit(s) arrived in {row.warehouse} "
            "without a posted receipt (unposted receipt or customer return)")


def _listing_cause_text(row) -> str:
    what = "offers more than" if row.kind == "oversell_risk" else "offers less than"
    shown = (f"{row.shop_id}/{row.marketplace_item_id} shows {int(row.marketplace_qty)}, "
             f"{what} the plan of {row.planned_qty}")
    if row.edited_since_push:
        return f"{shown}: edited on the marketplace since our last push of {int(row.last_pushed_qty)}"
    if pd.isna(row.last_pushed_qty):
        return f"{shown}: never pushed by us"
    return (f"{shown}: still our last push of {int(row.last_pushed_qty)}; "
            "stock changed since — the next push corrects it")
