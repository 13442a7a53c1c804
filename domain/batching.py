"""Shipping batches (domain-rules.md §4: 发货, 打单, 波次): from paid orders to parcels handed over.

The day's shipping runs as five business steps, each a pure function of its arguments:

1. ``audit`` — hold every order a person must look at first (remark, address, presale,
   refund, unknown SKU), with *all* its reasons; the rest may ship.
2. ``merge`` — orders of one buyer to one address that wait together become one parcel (合单);
   ``waiting_for_companion`` keeps a fresh order back for ``merge_buffer_minutes`` in case a
   companion follows.
3. ``allocate`` — give stock to orders, most urgent first; what cannot be filled is held as
   out of stock (recorded, never raised — Cosmic Python's ``OutOfStock``).
4. ``assemble_batches`` — parcels grouped into pick waves (波次) by warehouse, carrier and
   single-item vs multi-item, at most ``max_orders_per_batch`` orders each.
5. per batch: ``pick_list``, ``packing_slips``, ``manifest``; the batch then moves
   ``created → picked → packed → handed_over``; ``pull_out`` takes out an order that was
   cancelled or refunded after batching and gives its stock back.

Shared with customer service (``domain.followup``), so both lists say the same: the ship-by
deadline (``shipping_deadline``), which orders to ship first (``ship_first``) and which to tell
"out of stock" (``out_of_stock_orders``: the ones a shipping plan held for stock).

Frames use the canonical columns of ``domain.canonical``; an order is identified by
``ORDER_KEY`` (platform, shop_id, order_id). Every number comes from ``BatchingRules``
(built from the ``shipping:`` block of config/rules.yaml plus the running promotion's gifts).
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal

import numpy as np
import pandas as pd

from domain.canonical import ORDER_KEY, OrderStatus
from domain.normalise import douyin, jd, pdd, taobao
from domain.normalise._common import REFUND_REQUESTED, REFUNDED, REFUNDING
from domain.pii import mask_phone, mask_text
from domain.text import Text

OrderKey = tuple[str, str, str]

#: statuses of a paid order that has not left yet; a refunding one is held, not dropped
AWAITING_SHIPMENT = (OrderStatus.PAID, OrderStatus.PRESALE_DEPOSIT_PAID, OrderStatus.REFUNDING)
#: orders with the same values here may share a parcel
MERGE_BY = ("platform", "shop_id", "buyer_key", "address_hash")
#: the carrier label of orders the marketplace has not assigned one to: staff choose at print time
UNASSIGNED_CARRIER = "unassigned"
#: the lifecycle of a batch, in order (``cancelled`` is where a batch ends when emptied)
BATCH_STEPS = ("created", "picked", "packed", "handed_over")
CANCELLED = "cancelled"

HELD_COLUMNS = (*ORDER_KEY, "reasons", "reason_details")
ALLOCATED_ORDER_COLUMNS = (*ORDER_KEY, "merge_key", "warehouse", "carrier", "paid_at", "ship_deadline",
                           "near_deadline", "priority", "units", "partial")
ALLOCATED_LINE_COLUMNS = (*ORDER_KEY, "merge_key", "line_no", "sku", "title", "variant", "is_gift",
                          "quantity", "warehouse")
MISSING_GIFT_COLUMNS = (*ORDER_KEY, "merge_key", "line_no", "sku", "quantity", "warehouse")


class HoldReason(StrEnum):
    """Why an order may not ship yet; stored in ``order_holds.reasons``."""

    REMARK_NEEDS_PERSON = "remark_needs_person"
    ADDRESS_INCOMPLETE = "address_incomplete"
    PRESALE_BALANCE_UNPAID = "presale_balance_unpaid"
    REFUND_IN_PROGRESS = "refund_in_progress"
    UNKNOWN_SKU = "unknown_sku"
    OUT_OF_STOCK = "out_of_stock"


def _status_words(status: str) -> Text:
    """A batch status said in the reader's language (``lbl_batch_status_<status>``)."""
    return Text(status, f"lbl_batch_status_{status}")


class BatchError(Exception):
    """A request the batch's state does not allow; the message says what to do instead."""


class IllegalTransition(BatchError):
    """A batch asked to skip, repeat or undo a step of ``created → picked → packed → handed_over``."""


@dataclass(frozen=True)
class PromotionGift:
    """赠品 of the running promotion: each unit of ``buy_sku`` bought earns ``gift_quantity``
    units of ``gift_sku`` (config/promotions/*.yaml ``gifts``)."""

    buy_sku: str
    gift_sku: str
    gift_quantity: int = 1
    #: the promotion's shops (its ``shops``): an order of another shop earns no gift; empty: every shop
    shops: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BatchingRules:
    """The numbers of §4 (rules.yaml ``shipping:``) and the running promotion's gifts."""

    ship_deadline_hours: dict[str, float]         # per platform, with a "default"
    near_deadline_hours: float
    max_orders_per_batch: int
    merge_buffer_minutes: float
    split_policy: Literal["no_split", "split"] = "no_split"
    remark_keywords_needing_person: tuple[str, ...] = ()
    promotion_gifts: tuple[PromotionGift, ...] = ()


# --- 1. audit ---------------------------------------------------------------------------------

@dataclass
class AuditOutcome:
    passed: pd.DataFrame   # the orders (canonical columns) cleared to ship
    held: pd.DataFrame     # HELD_COLUMNS: reasons are HoldReason codes, reason_details say them in words


#: line ``refund_status`` (the marketplace's own code) → canonical refund state, per platform;
#: the normalisers' tables are the single source. Shopify lines already carry the canonical state.
_LINE_REFUND_STATE: dict[str, dict[str, str]] = {
    "taobao": dict(taobao.REFUND_STATUS),
    "jd": dict(jd.LINE_REFUND_STATUS),
    "pdd": {str(code): state for code, state in pdd.REFUND_STATUS.items()},
    "douyin": {str(code): state for code, state in douyin.REFUND_STATUS.items()},
    "shopify": {REFUNDING: REFUNDING, REFUNDED: REFUNDED},
    "amazon": {"BuyerRequestedCancel": REFUND_REQUESTED},
}
_ACTIVE_REFUND = {REFUND_REQUESTED, REFUNDING}


def audit(orders: pd.DataFrame, lines: pd.DataFrame, known_skus: Collection[str], rules: BatchingRules,
          *, remarks_read: Collection[OrderKey] = ()) -> AuditOutcome:
    """Split the orders awaiting shipment into those that may ship and those a person must see.

    Only orders awaiting shipment (``AWAITING_SHIPMENT``) are considered; shipped, cancelled
    or unpaid orders are not part of shipping and appear in neither list. A held order lists
    every reason at once, so one look at it resolves everything. Rules:

    - remark: a buyer or seller remark containing one of ``remark_keywords_needing_person``
      (case-insensitive) holds the order — those remarks ask for a change the packer cannot
      make (改地址, 不要…, 发票). Other remarks do not hold it: they are printed on the packing
      slip, where the packer reads them. The canonical order has no "read" flag, so the
      caller passes ``remarks_read``: orders whose remark a person has dealt with (their hold
      released), which the remark rule then lets through.
    - address: province, city or street address missing or blank.
    - presale: status ``presale_deposit_paid``, or a presale whose balance is not marked paid.
    - refund: status ``refunding``, or a line whose refund is requested or in progress.
    - SKU: a line to ship with no SKU or one the catalogue does not know.
    """
    waiting = orders[orders["status"].isin(AWAITING_SHIPMENT)].reset_index(drop=True)  # labels must be unique
    shippable = _lines_to_ship(lines)
    checks = (
        (HoldReason.REMARK_NEEDS_PERSON, _remarks_needing_person(waiting, rules, set(remarks_read))),
        (HoldReason.ADDRESS_INCOMPLETE, _missing_address_parts(waiting)),
        (HoldReason.PRESALE_BALANCE_UNPAID, _unpaid_presale(waiting)),
        (HoldReason.REFUND_IN_PROGRESS, _refunds_in_progress(waiting, lines)),
        (HoldReason.UNKNOWN_SKU, _unknown_skus(waiting, shippable, set(known_skus))),
    )
    found: dict[object, list[tuple[HoldReason, str]]] = defaultdict(list)
    for reason, details in checks:
        for index, detail in details.dropna().items():
            found[index].append((reason, detail))
    held_rows = waiting.loc[[i for i in waiting.index if i in found], list(ORDER_KEY)]
    held = held_rows.assign(reasons=[[r for r, _ in found[i]] for i in held_rows.index],
                            reason_details=[[d for _, d in found[i]] for i in held_rows.index])
    return AuditOutcome(passed=waiting.drop(index=held_rows.index), held=held.reset_index(drop=True))


def _line_refund_state(platform: str, code: object) -> str | None:
    if code is None or pd.isna(code):
        return None
    return _LINE_REFUND_STATE.get(platform, {}).get(str(code))


def refunded_lines(lines: pd.DataFrame) -> pd.Series:
    """Per line (``platform``, ``refund_status``): True where the refund has been paid out."""
    return pd.Series([_line_refund_state(p, c) == REFUNDED
                      for p, c in zip(lines["platform"].tolist(), lines["refund_status"].tolist())],
                     index=lines.index, dtype=bool)


def _lines_to_ship(lines: pd.DataFrame) -> pd.DataFrame:
    """Lines still owed to the buyer: a line whose refund has been paid out is not shipped."""
    return lines[~refunded_lines(lines)]


def _per_order(waiting: pd.DataFrame, details_by_key: pd.Series) -> pd.Series:
    """Details indexed by order key, aligned onto the rows of ``waiting`` (NaN where none)."""
    keys = pd.MultiIndex.from_frame(waiting[list(ORDER_KEY)])
    return pd.Series(details_by_key.reindex(keys).to_numpy(), index=waiting.index, dtype=object)


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype("string").str.strip() == "")


def _remarks_needing_person(waiting: pd.DataFrame, rules: BatchingRules, remarks_read: set[OrderKey]) -> pd.Series:
    keywords = [k for k in rules.remark_keywords_needing_person if k.strip()]
    details = pd.Series(None, index=waiting.index, dtype=object)
    if not keywords or waiting.empty:
        return details
    read = pd.Series([key in remarks_read for key in zip(*(waiting[c] for c in ORDER_KEY))], index=waiting.index,
                     dtype=bool) if remarks_read else pd.Series(False, index=waiting.index)
    found: dict[object, list[str]] = defaultdict(list)
    for who in ("buyer", "seller"):
        text = waiting[f"{who}_remark"].where(waiting[f"{who}_remark"].map(lambda v: isinstance(v, str)))
        folded = text.astype("string").str.casefold()
        hits = pd.DataFrame({k: folded.str.contains(k.casefold(), regex=False).fillna(False).astype(bool)
                             for k in keywords}, index=waiting.index)
        hit_rows = hits.index[hits.any(axis=1).to_numpy() & ~read.to_numpy()]
        matrix = hits.loc[hit_rows].to_numpy()
        for index, row in zip(hit_rows, matrix):
            words = [k for k, hit in zip(keywords, row) if hit]
            quoted = ", ".join(repr(w) for w in words)
            found[index].append(Text(f"{who} remark mentions {quoted}: read it before shipping",
                                     f"hold_{who}_remark_mentions", words=quoted))
    for index, texts in found.items():
        details[index] = Text.joined(texts)
    return details


def _missing_address_parts(waiting: pd.DataFrame) -> pd.Series:
    parts = {"province": "province", "city": "city", "address_masked": "street address"}
    missing = pd.DataFrame({column: _blank(waiting[column]) for column in parts})
    return pd.Series([Text(f"{', '.join(parts[c] for c in missing.columns[row])} missing", "hold_address_missing",
                           parts=Text.joined([Text(parts[c], f"hold_address_{c}") for c in missing.columns[row]],
                                             ", "))
                      if row.any() else None for row in missing.to_numpy()], index=waiting.index, dtype=object)


def _unpaid_presale(waiting: pd.DataFrame) -> pd.Series:
    unpaid = deposit_only(waiting)
    return pd.Series(unpaid.map({True: Text("presale: only the deposit is paid, the balance is not", "hold_presale_unpaid"),
                                   False: None}),
                     index=waiting.index, dtype=object)


def _refunds_in_progress(waiting: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    active = lines[[_line_refund_state(p, c) in _ACTIVE_REFUND
                    for p, c in zip(lines["platform"].tolist(), lines["refund_status"].tolist())]]
    on_lines = _per_order(waiting, _details_by_order(
        active, lambda line: Text(f"line {line.line_no} ({line.sku}): refund {line.refund_status}", "hold_line_refund",
                                  line=line.line_no, sku=line.sku, refund=line.refund_status)))
    refunding = waiting["status"] == OrderStatus.REFUNDING
    return pd.Series([
        Text.joined(filter(None, [Text("order is refunding", "hold_order_refunding") if r else None,
                                  d if isinstance(d, str) else None])) or None
        for r, d in zip(refunding, on_lines)], index=waiting.index, dtype=object)


def _unknown_skus(waiting: pd.DataFrame, lines: pd.DataFrame, known_skus: set[str]) -> pd.Series:
    unknown = lines[~lines["sku"].isin(known_skus)]
    return _per_order(waiting, _details_by_order(
        unknown, lambda line: Text(f"line {line.line_no}: SKU {line.sku!r} is not in the catalogue", "hold_sku_unknown",
                                   line=line.line_no, sku=line.sku)
        if isinstance(line.sku, str) else Text(f"line {line.line_no} has no SKU", "hold_sku_missing", line=line.line_no)))


def _details_by_order(lines: pd.DataFrame, describe) -> pd.Series:
    """One text per order: ``describe(line)`` of each of its lines, joined."""
    found: dict[OrderKey, list[str]] = defaultdict(list)
    for line in lines.itertuples(index=False):
        found[(line.platform, line.shop_id, line.order_id)].append(describe(line))
    index = pd.MultiIndex.from_tuples(list(found), names=list(ORDER_KEY)) if found else None
    return pd.Series([Text.joined(texts) for texts in found.values()], index=index, dtype=object)


# --- 2. merge ---------------------------------------------------------------------------------

def merge(orders: pd.DataFrame, rules: BatchingRules) -> pd.DataFrame:
    """``orders`` with a ``merge_key``: orders sharing it ship as one parcel (合单).

    Orders of the same shop, buyer (``buyer_key``) and address (``address_hash``) that wait
    together — all passed to this call — merge, however far apart they were paid (§4: "orders
    of the same shop, buyer and address that wait together"). Pass the orders that passed the
    audit: a held order does not hold back its buyer's other orders. An order without buyer
    key or address hash cannot be proven to match anyone and is a group of its own. The key
    is a short hash of the key of the group's first-paid order: stable across reruns and row
    orders, and it fits ``batch_orders.merge_key``. How long a fresh order waits for a
    companion is ``waiting_for_companion``'s business (``merge_buffer_minutes``), not a window
    on payment times.
    """
    result = orders.copy()
    keys = np.array([_merge_key(k) for k in zip(*(result[c] for c in ORDER_KEY))], dtype=object)
    mergeable = result[list(MERGE_BY)].notna().all(axis=1)
    candidates = result[mergeable].assign(paid_ts=pd.to_datetime(result.loc[mergeable, "paid_at"], utc=True),
                                          _row=np.flatnonzero(mergeable.to_numpy()))
    candidates = candidates.sort_values(["paid_ts", "order_id"], na_position="last")
    first_of: dict[tuple, str] = {}   # buyer+address → the key of its first-paid order
    for row, who in zip(candidates["_row"].tolist(), zip(*(candidates[c] for c in MERGE_BY))):
        keys[row] = first_of.setdefault(who, keys[row])
    result["merge_key"] = keys
    return result


def waiting_for_companion(groups: pd.DataFrame, rules: BatchingRules, now: datetime) -> pd.Series:
    """Per row of ``groups`` (the output of ``merge``): True where the order is not batched at
    this run but waits for a companion (合单) — its merge group's orders were all paid less than
    ``merge_buffer_minutes`` before ``now``, so the buyer may still add an order to the parcel.
    A group with an order near its shipping deadline (``near_deadline_hours``) does not wait;
    an order with no payment time does not either. A waiting order is neither held nor
    batched: the next run sees it again."""
    paid = pd.to_datetime(groups["paid_at"], utc=True)
    fresh = (paid > pd.Timestamp(now) - pd.Timedelta(minutes=rules.merge_buffer_minutes)).fillna(False).astype(bool)
    left = shipping_deadline(groups, rules) - pd.Timestamp(now)
    urgent = (left <= pd.Timedelta(hours=rules.near_deadline_hours)).fillna(False).astype(bool)
    by_group = groups["merge_key"]
    return (fresh.groupby(by_group).transform("all") & ~urgent.groupby(by_group).transform("any")).astype(bool)


def _merge_key(order_key: Iterable[object]) -> str:
    return "M" + hashlib.sha256("|".join(map(str, order_key)).encode()).hexdigest()[:20]


# --- 3. allocate ------------------------------------------------------------------------------

@dataclass
class Allocation:
    orders: pd.DataFrame     # ALLOCATED_ORDER_COLUMNS, in priority order (priority 1 = served first)
    lines: pd.DataFrame      # ALLOCATED_LINE_COLUMNS: units given to each order line, gifts included
    held: pd.DataFrame       # HELD_COLUMNS + short: {sku: units missing}; reason out_of_stock
    remaining: pd.Series     # stock left, by (sku, warehouse)
    #: gifts an order ships without, its bought items being in stock (MISSING_GIFT_COLUMNS);
    #: ``lines`` holds each of them with quantity 0, so the packing slip shows it missing
    missing_gifts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(MISSING_GIFT_COLUMNS)))


def allocate(groups: pd.DataFrame, lines: pd.DataFrame, available_by_sku_and_warehouse: pd.Series,
             rules: BatchingRules, now: datetime) -> Allocation:
    """Give the available stock to the orders of ``groups`` (the output of ``merge``).

    Order of service: orders within ``near_deadline_hours`` of their shipping deadline (or
    past it) first, nearest deadline first; then every other order, oldest payment first —
    the spec's "oldest payment first; an order nearing its deadline goes first". The
    deadline is ``shipping_deadline``.

    A parcel leaves one warehouse: an order is served by the warehouse its merge group
    already uses if that can fill it, else by the first warehouse (in the order of
    ``available_by_sku_and_warehouse``'s index) that can. Gift lines, and the running
    promotion's gifts, need stock like any other line. Under ``no_split`` an order is
    allocated whole or held; under ``split`` it ships what the best warehouse has and the
    rest is held. A gift is not worth holding a parcel for: an order whose bought items are
    there but a gift line is short ships without that gift (all of the line or none of it),
    the gift listed in ``missing_gifts`` and kept in ``lines`` with quantity 0 for the packing
    slip. Stock is consumed as orders are served; a shortage is recorded in
    ``held`` (reason ``out_of_stock``), never raised. ``available_by_sku_and_warehouse`` is
    indexed by (sku, warehouse); ``remaining`` comes back the same way. An order with no line
    left to ship (every line refunded) is neither served nor held.
    """
    stock = {key: int(units) for key, units in available_by_sku_and_warehouse.items()}
    warehouses = list(dict.fromkeys(warehouse for _, warehouse in stock))
    wanted = _with_promotion_gifts(_lines_to_ship(lines), rules.promotion_gifts)
    lines_of: dict[OrderKey, list[dict]] = defaultdict(list)   # plain records: one dict lookup per order
    columns = [*ORDER_KEY, "line_no", "sku", "title", "variant", "is_gift", "quantity"]
    ordered = wanted.sort_values("line_no", kind="stable")
    for platform, shop, order_id, line_no, sku, title, variant, is_gift, quantity in zip(
            *(ordered[c].tolist() for c in columns)):
        lines_of[(platform, shop, order_id)].append(
            {"line_no": line_no, "sku": sku, "title": title, "variant": variant, "is_gift": _is_true(is_gift),
             "quantity": int(quantity)})
    queue = _in_priority_order(groups, rules, now)[[*ORDER_KEY, "merge_key", "carrier", "paid_at", "ship_deadline",
                                                    "near_deadline", "priority"]]

    served, given, held, lacking = [], [], [], []
    warehouse_of_group: dict[str, str] = {}
    for order in queue.itertuples(index=False):
        key = (order.platform, order.shop_id, order.order_id)
        order_lines = lines_of.get(key, [])
        bought_lines = [line for line in order_lines if not line["is_gift"]]
        needed: dict[str, int] = defaultdict(int)
        for line in order_lines:
            needed[line["sku"]] += line["quantity"]
        bought = _units_by_sku(bought_lines)
        preferred = [warehouse_of_group[order.merge_key]] if order.merge_key in warehouse_of_group else []
        candidates = list(dict.fromkeys(preferred + warehouses))
        # the first warehouse, in preference order, that can give the most bought units (all, if
        # one can), then the most gift units
        best = max(candidates, key=lambda w: (_givable(bought, w, stock), _givable(needed, w, stock)), default=None)
        short = {s: q - stock.get((s, best), 0) for s, q in needed.items() if q > stock.get((s, best), 0)}
        gift_only = bool(short) and bool(bought_lines) and not any(
            bought[s] > stock.get((s, best), 0) for s in bought)
        missing: list[dict] = []
        if gift_only:   # the bought items are there: ship them, flag the gifts that are not
            taken = _take(bought_lines, best, stock)
            for line in order_lines:
                if not line["is_gift"]:
                    continue
                if stock.get((line["sku"], best), 0) >= line["quantity"]:
                    taken += _take([line], best, stock)
                else:
                    missing.append({**line, "warehouse": best})
                    taken.append({**line, "quantity": 0, "warehouse": best})
            short = {}
            taken.sort(key=lambda line: line["line_no"])
        else:
            detail = _describe_shortage(needed, short, best, stock, warehouses) if short else None
            taken = _take(order_lines, best, stock) if best and (not short or rules.split_policy == "split") else []
        if short:
            held.append({**dict(zip(ORDER_KEY, key)), "reasons": [HoldReason.OUT_OF_STOCK],
                         "reason_details": [Text(("shipped in part, the rest held: " if taken
                                                  else "cannot ship it whole: ") + detail,
                                                 "hold_shipped_in_part" if taken else "hold_cannot_ship_whole",
                                                 detail=detail)],
                         "short": short})
        lacking.extend({**dict(zip(ORDER_KEY, key)), "merge_key": order.merge_key, "line_no": line["line_no"],
                        "sku": line["sku"], "quantity": line["quantity"], "warehouse": line["warehouse"]}
                       for line in missing)
        if taken:
            warehouse_of_group.setdefault(order.merge_key, best)
            given.extend({**dict(zip(ORDER_KEY, key)), "merge_key": order.merge_key, **line} for line in taken)
            served.append({**dict(zip(ORDER_KEY, key)), "merge_key": order.merge_key, "warehouse": best,
                           "carrier": order.carrier if isinstance(order.carrier, str) and order.carrier
                           else UNASSIGNED_CARRIER,
                           "paid_at": order.paid_at, "ship_deadline": order.ship_deadline,
                           "near_deadline": order.near_deadline, "priority": order.priority,
                           "units": sum(line["quantity"] for line in taken), "partial": bool(short)})
    remaining = pd.Series(list(stock.values()), dtype="int64",
                          index=pd.MultiIndex.from_tuples(list(stock), names=["sku", "warehouse"]))
    return Allocation(orders=pd.DataFrame(served, columns=list(ALLOCATED_ORDER_COLUMNS)),
                      lines=pd.DataFrame(given, columns=list(ALLOCATED_LINE_COLUMNS)),
                      held=pd.DataFrame(held, columns=[*HELD_COLUMNS, "short"]), remaining=remaining,
                      missing_gifts=pd.DataFrame(lacking, columns=list(MISSING_GIFT_COLUMNS)))


def _in_priority_order(groups: pd.DataFrame, rules: BatchingRules, now: datetime) -> pd.DataFrame:
    queue = groups.copy()
    queue["ship_deadline"] = shipping_deadline(queue, rules)
    queue["paid_at"] = pd.to_datetime(queue["paid_at"], utc=True)
    queue["near_deadline"] = hours_left(queue["ship_deadline"], now) <= rules.near_deadline_hours
    queue["_later"] = ~queue["near_deadline"]
    queue["_first"] = queue["ship_deadline"].where(queue["near_deadline"], queue["paid_at"])
    queue["_then"] = queue["paid_at"].where(queue["near_deadline"], queue["ship_deadline"])
    queue = queue.sort_values(["_later", "_first", "_then", *ORDER_KEY]).drop(columns=["_later", "_first", "_then"])
    queue["priority"] = range(1, len(queue) + 1)
    return queue


# --- deadlines and stock holds: the one definition shipping and customer service share ---------

def deposit_only(orders: pd.DataFrame) -> pd.Series:
    """Per order: a presale whose balance is not paid (status ``presale_deposit_paid``, or a
    presale not marked balance-paid). It must not ship and has no ship-by deadline yet."""
    presale = orders["is_presale"].fillna(False).astype(bool)
    balance_paid = orders["presale_balance_paid"].fillna(False).astype(bool)
    return (orders["status"] == OrderStatus.PRESALE_DEPOSIT_PAID) | (presale & ~balance_paid)


def under_refund(orders: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """Per order: refunding, or a line's refund requested or in progress (the audit's refund rule)."""
    if orders.empty:
        return pd.Series(False, index=orders.index, dtype=bool)
    return _refunds_in_progress(orders, lines).notna()


def shipping_deadline(orders: pd.DataFrame, rules) -> pd.Series:
    """The ship-by deadline of each order (UTC; NaT: none), domain-rules.md §4. ``rules``: any
    object with ``ship_deadline_hours`` (per platform, with a "default"; rules.yaml ``shipping``).

    - A deposit-only presale has none: it may not ship before the balance is paid (a
      marketplace time on it, e.g. TOP ``timeout_action_time``, is when the unpaid order closes).
    - Else the marketplace's own deadline where the order carries one (``ship_by_at``: TOP
      ``timeout_action_time``, PDD ``last_ship_time``, Douyin ``exp_ship_time`` …).
    - Else payment + the platform's hours. For a presale, payment is the balance payment:
      ``balance_paid_at`` where the frame has it; the canonical order keeps no such time, so
      for a presale still waiting to ship it is its last change (``modified_at``: the balance
      payment changed it; it is never earlier), and a presale that left is given none.
    """
    platform_hours = orders["platform"].map(rules.ship_deadline_hours).fillna(rules.ship_deadline_hours["default"])
    paid = pd.to_datetime(orders["paid_at"], utc=True)
    presale = orders["is_presale"].fillna(False).astype(bool)
    if presale.any():
        if "balance_paid_at" in orders:
            balance = pd.to_datetime(orders["balance_paid_at"], utc=True)
        else:
            waiting = orders["status"].isin(AWAITING_SHIPMENT)
            balance = pd.to_datetime(orders["modified_at"], utc=True).where(waiting)
        paid = paid.where(~presale, balance)
    fallback = paid + pd.to_timedelta(platform_hours, unit="h")
    given = pd.to_datetime(orders["ship_by_at"], utc=True)
    return given.fillna(fallback).where(~deposit_only(orders))


def hours_left(deadline: pd.Series, now: datetime) -> pd.Series:
    """Hours from ``now`` to each deadline (negative: past; NaN: no deadline)."""
    return (deadline - pd.Timestamp(now)).dt.total_seconds() / 3600


def ship_first(orders: pd.DataFrame, lines: pd.DataFrame, rules, now: datetime) -> pd.DataFrame:
    """The orders to ship first (§4 "an order nearing its shipping deadline goes first"), most
    urgent first: awaiting shipment, within ``rules.near_deadline_hours`` of their
    ``shipping_deadline`` or past it. Never an order that must not ship: one under refund
    (``under_refund``) or a deposit-only presale (no deadline). ``orders`` with the canonical
    columns (any statuses: the others are left out), ``lines`` theirs; returns the orders'
    columns + ``deadline`` and ``hours_left`` (not rounded). The shipping run's deadline list
    and customer service's "near or past the deadline" are this list."""
    waiting = orders[orders["status"].isin(AWAITING_SHIPMENT)].reset_index(drop=True)
    waiting = waiting.assign(deadline=shipping_deadline(waiting, rules))
    waiting["hours_left"] = hours_left(waiting["deadline"], now)
    urgent = (waiting["hours_left"] <= rules.near_deadline_hours) & ~under_refund(waiting, lines)
    return waiting[urgent.fillna(False)].sort_values(["hours_left", *ORDER_KEY], ignore_index=True)


def out_of_stock_orders(held: pd.DataFrame, orders: pd.DataFrame, batched: pd.DataFrame) -> pd.DataFrame:
    """The orders whose buyer must be told "out of stock" (缺货订单通知顾客): the ones a shipping
    plan held for stock — ``held`` (ORDER_KEY, reasons): a plan's holds or the stored open
    ones — that still wait to ship (in ``orders``) and are in no batch (``batched``: ORDER_KEY
    of the orders in a batch that is not cancelled, not pulled out). Rows of ``orders``."""
    def among(frame: pd.DataFrame) -> np.ndarray:
        found = set(zip(*(frame[k] for k in ORDER_KEY)))
        return np.array([key in found for key in zip(*(orders[k] for k in ORDER_KEY))], dtype=bool)

    for_stock = held.loc[pd.Series([HoldReason.OUT_OF_STOCK in list(r) for r in held["reasons"]], index=held.index,
                                   dtype=bool)]
    keep = among(for_stock) & ~among(batched) & orders["status"].isin(AWAITING_SHIPMENT).to_numpy()
    return orders[keep].reset_index(drop=True)


def _with_promotion_gifts(lines: pd.DataFrame, gifts: Iterable[PromotionGift]) -> pd.DataFrame:
    """Lines plus one gift line per bought line of a promoted SKU (``gift_quantity`` per unit)
    in one of the promotion's shops.

    A gift line keeps the ``line_no`` of the line that earned it and follows it. A marketplace
    that already put the gift on the order (Douyin sends gift lines) is not given a second
    one: an order holding a gift line of that SKU gets no promotion gift for it.
    """
    added = []
    for gift in gifts:
        bought = lines[(lines["sku"] == gift.buy_sku) & ~lines["is_gift"].fillna(False).astype(bool)]
        if gift.shops:
            bought = bought[bought["shop_id"].isin(list(gift.shops))]
        already = lines[(lines["sku"] == gift.gift_sku) & lines["is_gift"].fillna(False).astype(bool)]
        bought = bought[~pd.MultiIndex.from_frame(bought[list(ORDER_KEY)]).isin(
            pd.MultiIndex.from_frame(already[list(ORDER_KEY)]))]
        if len(bought):
            added.append(bought.assign(sku=gift.gift_sku, quantity=bought["quantity"] * gift.gift_quantity,
                                       is_gift=True, title="promotion gift (赠品)", variant=None, refund_status=None))
    return pd.concat([lines, *added], ignore_index=True) if added else lines


def _is_true(flag: object) -> bool:
    """A nullable flag of the canonical frames (None / NaN / bool) as a plain bool."""
    return bool(flag) if pd.notna(flag) else False


def _masked_phone(phone: object) -> str | None:
    """Masked again on output: a phone that arrived in clear is never printed."""
    return mask_phone(phone) if isinstance(phone, str) else None


def _take(order_lines: list[dict], warehouse: str, stock: dict[tuple[str, str], int]) -> list[dict]:
    """Consume stock of ``warehouse`` for the lines, as much as there is; return what was given."""
    taken = []
    for line in order_lines:
        units = min(line["quantity"], stock.get((line["sku"], warehouse), 0))
        if units:
            stock[(line["sku"], warehouse)] -= units
            taken.append({**line, "quantity": units, "warehouse": warehouse})
    return taken


def _units_by_sku(order_lines: list[dict]) -> dict[str, int]:
    units: dict[str, int] = defaultdict(int)
    for line in order_lines:
        units[line["sku"]] += line["quantity"]
    return units


def _givable(units: dict[str, int], warehouse: str, stock: dict[tuple[str, str], int]) -> int:
    return sum(min(stock.get((sku, warehouse), 0), q) for sku, q in units.items())


def _describe_shortage(needed: dict[str, int], short: dict[str, int], warehouse: str | None,
                       stock: dict[tuple[str, str], int], warehouses: list[str]) -> str:
    """Per SKU short: how many are missing in the warehouse the parcel would leave, and which
    warehouses have any left (none named that has none of it)."""
    parts = []
    for sku, units in short.items():
        left = sorted(((w, stock.get((sku, w), 0)) for w in warehouses if stock.get((sku, w), 0) > 0),
                      key=lambda item: -item[1])
        if not left:
            parts.append(Text(f"SKU {sku}: needs {needed[sku]}, none left in any warehouse", "hold_short_none_left",
                              sku=sku, needed=needed[sku]))
        else:
            where = f" in {warehouse}" if warehouse else ""
            left_text = ", ".join(f"{w} {n}" for w, n in left)
            parts.append(Text(f"SKU {sku}: needs {needed[sku]}, {units} short{where}; left: {left_text}",
                              "hold_short_in" if warehouse else "hold_short", sku=sku, needed=needed[sku], units=units,
                              warehouse=warehouse or "", left=left_text))
    return Text.joined(parts)


# --- 4. batches -------------------------------------------------------------------------------

@dataclass
class Batch:
    """A pick wave (波次): parcels of one warehouse and carrier, all single-item or all multi-item.

    ``orders`` holds ORDER_KEY, merge_key, status (``in_batch`` | ``pulled_out``) and
    pulled_out_reason, like ``batch_orders``; ``lines`` the units allocated to them.
    """

    batch_id: str
    warehouse: str
    carrier: str
    kind: Literal["single", "multi"]
    orders: pd.DataFrame
    lines: pd.DataFrame
    status: str = "created"
    picked_at: datetime | None = None
    packed_at: datetime | None = None
    handed_over_at: datetime | None = None

    @property
    def order_count(self) -> int:
        return int((self.orders["status"] == "in_batch").sum())

    @property
    def unit_count(self) -> int:
        return int(self.lines_in_batch()["quantity"].sum())

    def lines_in_batch(self) -> pd.DataFrame:
        """Lines of the orders still in the batch (pulled-out orders are neither picked nor packed)."""
        in_batch = self.orders["status"] == "in_batch"
        if in_batch.all():   # nothing pulled out (the usual case): no join per batch
            return self.lines
        return self.lines.merge(self.orders.loc[in_batch, list(ORDER_KEY)], on=list(ORDER_KEY))

    def pick(self, at: datetime) -> None:
        self._advance("picked", at)

    def pack(self, at: datetime) -> None:
        self._advance("packed", at)

    def hand_over(self, at: datetime) -> None:
        """The carrier collected the parcels: register the outbound (出库登记)."""
        self._advance("handed_over", at)

    def _advance(self, step: str, at: datetime) -> None:
        if self.status == CANCELLED:
            raise IllegalTransition(Text(f"batch {self.batch_id} is cancelled (every order was pulled out); "
                                         f"it cannot be {step.replace('_', ' ')}", "batch_step_cancelled",
                                         batch_id=self.batch_id, step=_status_words(step)))
        position = BATCH_STEPS.index(self.status)
        if position + 1 >= len(BATCH_STEPS) or BATCH_STEPS[position + 1] != step:
            then = (Text(f"its next step is '{BATCH_STEPS[position + 1]}'", "batch_step_next",
                         step=_status_words(BATCH_STEPS[position + 1]))
                    if position + 1 < len(BATCH_STEPS) else Text("it is finished", "batch_step_finished"))
            raise IllegalTransition(Text(f"batch {self.batch_id} is '{self.status}', so it cannot become '{step}': "
                                         f"{then} (steps: {' → '.join(BATCH_STEPS)})", "batch_step_illegal",
                                         batch_id=self.batch_id, status=_status_words(self.status),
                                         step=_status_words(step), then=then,
                                         steps=Text.joined([_status_words(s) for s in BATCH_STEPS], " → ")))
        self.status = step
        setattr(self, f"{step}_at", at)


def assemble_batches(allocated: Allocation, rules: BatchingRules) -> list[Batch]:
    """Cut the allocated orders into batches a picker can work through.

    A parcel is a merge group's orders served by one warehouse; it is ``single`` when it holds
    one unit in total (gifts count: they are picked too), else ``multi``, and it takes the
    carrier of its most urgent order that has one. Parcels are grouped by warehouse, carrier
    and kind and, in priority order, filled into batches of at most ``max_orders_per_batch``
    orders; a parcel is never split across batches (one larger than the cap gets a batch of
    its own). The id is the group's names plus a hash of the batch's orders: the same input
    gives the same ids on a rerun, and different days never collide.
    """
    orders = allocated.orders
    parcel = ["merge_key", "warehouse"]
    parcels = orders.groupby(parcel, sort=False).agg(
        units=("units", "sum"), orders=("priority", "size"), first=("priority", "min")).reset_index()
    carriers = orders[orders["carrier"] != UNASSIGNED_CARRIER].sort_values("priority").drop_duplicates(parcel)
    parcels = parcels.merge(carriers[[*parcel, "carrier"]], on=parcel, how="left")
    parcels["carrier"] = parcels["carrier"].fillna(UNASSIGNED_CARRIER)
    parcels["kind"] = parcels["units"].eq(1).map({True: "single", False: "multi"})
    parcels = parcels.sort_values(["warehouse", "carrier", "kind", "first"])
    parcels["batch_no"] = _cut_into_batches(parcels, rules.max_orders_per_batch)
    members = orders.drop(columns="carrier").merge(parcels[[*parcel, "carrier", "kind", "first", "batch_no"]],
                                                   on=parcel).sort_values(["batch_no", "first", "priority"])
    lines = allocated.lines.merge(members[[*ORDER_KEY, "batch_no"]], on=list(ORDER_KEY))
    lines = lines.sort_values("batch_no", kind="stable")
    # one sort and positional slices: a groupby per batch costs more than the batch itself
    member_ends = np.searchsorted(members["batch_no"].to_numpy(), np.arange(members["batch_no"].max() + 1 if len(members) else 0), side="right")
    line_ends = np.searchsorted(lines["batch_no"].to_numpy(), np.arange(len(member_ends)), side="right")
    lines = lines.drop(columns="batch_no")
    batches, member_start, line_start = [], 0, 0
    for member_end, line_end in zip(member_ends.tolist(), line_ends.tolist()):
        batches.append(_new_batch(members.iloc[member_start:member_end], lines.iloc[line_start:line_end]))
        member_start, line_start = member_end, line_end
    return batches


def _cut_into_batches(parcels: pd.DataFrame, cap: int) -> list[int]:
    """A batch number per parcel: a new batch at each new (warehouse, carrier, kind) and
    whenever the next parcel would take the batch over ``cap`` orders."""
    numbers, number, filled, current = [], -1, 0, None
    for group, size in zip(zip(parcels["warehouse"], parcels["carrier"], parcels["kind"]), parcels["orders"]):
        if group != current or (filled and filled + size > cap):
            number, filled, current = number + 1, 0, group
        filled += size
        numbers.append(number)
    return numbers


def _new_batch(members: pd.DataFrame, lines: pd.DataFrame) -> Batch:
    warehouse, carrier, kind = (members[c].iat[0] for c in ("warehouse", "carrier", "kind"))
    orders = members[[*ORDER_KEY, "merge_key"]].assign(status="in_batch", pulled_out_reason=None)
    orders = orders.reset_index(drop=True)
    keys = sorted("|".join(map(str, k)) for k in zip(*(orders[c] for c in ORDER_KEY)))
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:10]
    return Batch(batch_id=f"{warehouse}-{carrier}-{kind}-{digest}"[:64], warehouse=warehouse, carrier=carrier,
                 kind=kind, orders=orders, lines=lines.reset_index(drop=True))


def pull_out(batch: Batch, order: OrderKey, reason: str) -> pd.Series:
    """Take an order cancelled or refunded after batching out of ``batch``; return its units
    released back to stock, by (sku, warehouse), for the caller to add to available stock.

    Allowed until the carrier has the parcel; after hand-over it is a return, not a pull-out.
    The order stays in ``batch.orders`` with status ``pulled_out`` and its reason, to be
    reported; the papers leave it out. A batch emptied this way is ``cancelled``.
    """
    if batch.status == "handed_over":
        raise BatchError(f"order {'/'.join(order)} cannot be pulled out of batch {batch.batch_id}: the carrier "
                         "already has it; handle it as a return or an intercept (拦截) instead")
    match = (batch.orders[list(ORDER_KEY)] == pd.Series(order, index=list(ORDER_KEY))).all(axis=1)
    if not match.any():
        raise BatchError(f"order {'/'.join(order)} is not in batch {batch.batch_id}; check the batch id")
    if (batch.orders.loc[match, "status"] == "pulled_out").any():
        raise BatchError(f"order {'/'.join(order)} was already pulled out of batch {batch.batch_id}")
    mine = batch.lines_in_batch().merge(pd.DataFrame([order], columns=list(ORDER_KEY)), on=list(ORDER_KEY))
    mine = mine[mine["quantity"] > 0]   # a missing gift was never taken from stock
    batch.orders.loc[match, ["status", "pulled_out_reason"]] = ["pulled_out", reason]
    if batch.order_count == 0:
        batch.status = CANCELLED
    return mine.groupby(["sku", "warehouse"])["quantity"].sum().astype("int64")


# --- 5. papers for the warehouse ---------------------------------------------------------------

def pick_list(batch: Batch, skus: pd.DataFrame) -> pd.DataFrame:
    """What to pick for the batch: units per SKU in walking order (by bin location).

    ``skus`` is the catalogue (sku, name, variant, bin_location). Columns: bin_location, sku,
    name, variant, units, orders. A SKU without a bin comes last so it is noticed, not lost.
    A missing gift (a line of 0 units) is not picked.
    """
    lines = batch.lines_in_batch()
    lines = lines[lines["quantity"] > 0]
    units = pd.DataFrame({"units": lines.groupby("sku")["quantity"].sum(),
                          "orders": lines.drop_duplicates([*ORDER_KEY, "sku"]).groupby("sku").size()}).reset_index()
    catalogue = skus[["sku", "name", "variant", "bin_location"]].drop_duplicates("sku")
    listed = units.merge(catalogue, on="sku", how="left")
    listed = listed.sort_values(["bin_location", "sku"], na_position="last").reset_index(drop=True)
    return listed[["bin_location", "sku", "name", "variant", "units", "orders"]]


def packing_slips(batch: Batch, orders: pd.DataFrame) -> pd.DataFrame:
    """One slip per order still in the batch: what the packer checks (remarks, colour/size, gifts).

    Columns: ORDER_KEY, merge_key, receiver_name_masked, receiver_phone_masked, ship_to
    (region and masked street), buyer_remark, seller_remark, items, gifts and missing_gifts
    (lists of {sku, title, variant, quantity}; gifts include the running promotion's;
    missing_gifts, {sku, title, variant}, are the gifts out of stock the parcel leaves without:
    the packer notes them, the run's report asks a person to follow up). Only masked
    contact data is printed: the phone is masked again and phone numbers inside remarks are
    masked, whatever the input holds.
    """
    in_batch = batch.orders[batch.orders["status"] == "in_batch"]
    slips = in_batch[[*ORDER_KEY, "merge_key"]].merge(orders.drop(columns="merge_key", errors="ignore"),
                                                      on=list(ORDER_KEY), how="left")
    contents: dict[OrderKey, dict[str, list]] = defaultdict(lambda: {"items": [], "gifts": [], "missing_gifts": []})
    for line in batch.lines_in_batch().sort_values("line_no").itertuples(index=False):
        key = (line.platform, line.shop_id, line.order_id)
        if line.is_gift and line.quantity == 0:
            contents[key]["missing_gifts"].append({"sku": line.sku, "title": line.title, "variant": line.variant})
            continue
        contents[key]["gifts" if line.is_gift else "items"].append(
            {"sku": line.sku, "title": line.title, "variant": line.variant, "quantity": int(line.quantity)})
    keys = list(zip(*(slips[c] for c in ORDER_KEY)))
    return pd.DataFrame({
        **{c: slips[c] for c in (*ORDER_KEY, "merge_key", "receiver_name_masked")},
        "receiver_phone_masked": [_masked_phone(p) for p in slips["receiver_phone_masked"]],
        "ship_to": slips["address_masked"],
        "buyer_remark": [mask_text(r) if isinstance(r, str) else None for r in slips["buyer_remark"]],
        "seller_remark": [mask_text(r) if isinstance(r, str) else None for r in slips["seller_remark"]],
        "items": [contents[k]["items"] for k in keys],
        "gifts": [contents[k]["gifts"] for k in keys],
        "missing_gifts": [contents[k]["missing_gifts"] for k in keys],
    })


def manifest(batch: Batch, orders: pd.DataFrame) -> pd.DataFrame:
    """The hand-over list for the carrier: one row per parcel still in the batch.

    Columns: batch_id, warehouse, carrier, merge_key, platform, shop_id, order_ids (merged
    orders joined by ","), tracking_no, receiver_name_masked, receiver_phone_masked, province,
    city, district, units.
    """
    in_batch = batch.orders[batch.orders["status"] == "in_batch"]
    rows = in_batch[[*ORDER_KEY, "merge_key"]].merge(orders.drop(columns="merge_key", errors="ignore"),
                                                     on=list(ORDER_KEY), how="left")
    units = batch.lines_in_batch().groupby("merge_key")["quantity"].sum()
    parcels = []
    for merge_key, parcel in rows.groupby("merge_key", sort=False):
        first = parcel.iloc[0]
        tracking = parcel["tracking_no"].dropna()
        parcels.append({"batch_id": batch.batch_id, "warehouse": batch.warehouse, "carrier": batch.carrier,
                        "merge_key": merge_key, "platform": first["platform"], "shop_id": first["shop_id"],
                        "order_ids": ",".join(parcel["order_id"]),
                        "tracking_no": tracking.iloc[0] if len(tracking) else None,
                        "receiver_name_masked": first["receiver_name_masked"],
                        "receiver_phone_masked": _masked_phone(first["receiver_phone_masked"]),
                        "province": first["province"], "city": first["city"], "district": first["district"],
                        "units": int(units.get(merge_key, 0))})
    return pd.DataFrame(parcels)
