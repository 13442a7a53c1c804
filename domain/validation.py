"""Order validation (domain-rules.md §1): the Great Expectations suite, kept in code.

Bad orders are never dropped: every order failing any check is returned with *all* its
reasons, in words an operator can act on, for the quarantine; the rest flows on. The suite
is versioned (``SUITE_VERSION``) so a quarantined row records which rules rejected it.

The checks run on two frames — orders (with derived columns such as the gap between the
order total and its lines) and lines — because GX expectations are per column; a failing
line quarantines its whole order (an order is stored whole or not at all).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Callable, Iterable

import pandas as pd

from domain.canonical import CANONICAL_STATUSES, ORDER_KEY, CanonicalFrames

SUITE_VERSION = "orders-2026.11.2"

#: platforms whose canonical ``line_id`` is the SKU id (no line id on the wire): not unique per line
_LINE_ID_IS_SKU_ID = ("jd", "pdd")


# --- bytes that are not UTF-8 --------------------------------------------------------------

#: how a byte that is not UTF-8 text reaches a record: ``connectors.http`` decodes a body with
#: ``surrogateescape``, so such a byte 0xNN becomes the lone surrogate U+DCNN (never valid text)
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def undecodable_fields(record: object, path: str = "") -> list[str]:
    """Paths (``itemInfoList[0].skuName``) of the keys and string values of a platform record
    that hold bytes that were not UTF-8 text; empty for a readable record."""
    if isinstance(record, str):
        return [path or "(value)"] if _UNDECODABLE.search(record) else []
    found: list[str] = []
    if isinstance(record, dict):
        for key, value in record.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _UNDECODABLE.search(key):
                found.append(name)
            found += undecodable_fields(value, name)
    elif isinstance(record, list):
        for index, value in enumerate(record):
            found += undecodable_fields(value, f"{path}[{index}]")
    return found


def undecodable_bytes_as_text(record: object) -> object:
    """The record with each byte that was not UTF-8 written out as ``\\xNN`` text, so it can be
    stored (JSON, PostgreSQL) and shown to a person."""
    if isinstance(record, str):
        if not _UNDECODABLE.search(record):
            return record
        return record.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(record, dict):
        return {undecodable_bytes_as_text(k): undecodable_bytes_as_text(v) for k, v in record.items()}
    if isinstance(record, list):
        return [undecodable_bytes_as_text(v) for v in record]
    return record


@dataclass(frozen=True)
class ValidationRules:
    """The numbers of §1 the checks use (from rules.yaml: orders)."""

    known_currencies: frozenset[str]
    line_total_tolerance_minor_per_line: int = 1
    paid_time_future_tolerance_seconds: int = 300


@dataclass
class ValidationOutcome:
    valid: CanonicalFrames
    #: one row per rejected order: platform, shop_id, order_id, reasons (list of str)
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[*ORDER_KEY, "reasons"]))


@dataclass(frozen=True)
class Check:
    """One expectation and how to say its failure to a person."""

    frame: str                       # "orders" or "lines"
    expectation: Callable[[], object]  # builds the GX expectation
    reason: Callable[[pd.Series], str]  # failing row → readable reason


def _int(value) -> object:
    """Amounts in reasons as whole minor units (the checked columns are float64, see ``prepare_frames``)."""
    return int(value) if pd.notna(value) else value


def _gx():
    import great_expectations as gx

    return gx


def _checks(rules: ValidationRules) -> list[Check]:
    gx = _gx()
    e = gx.expectations
    currencies = sorted(rules.known_currencies)
    return [
        Check("orders", lambda: e.ExpectColumnValuesToNotBeNull(column="order_id_present"),
              lambda r: "order id is missing"),
        Check("orders", lambda: e.ExpectColumnValuesToNotBeNull(column="modified_at"),
              lambda r: "modified time is missing (needed to keep the newest version)"),
        Check("orders", lambda: e.ExpectColumnValuesToNotBeNull(column="total_minor"),
              lambda r: "order total is missing"),
        Check("orders", lambda: e.ExpectColumnValuesToBeBetween(column="total_minor", min_value=0),
              lambda r: f"order total is negative ({_int(r['total_minor'])})"),
        Check("orders", lambda: e.ExpectColumnValuesToBeBetween(column="post_fee_minor", min_value=0),
              lambda r: f"post fee is negative ({_int(r['post_fee_minor'])})"),
        Check("orders", lambda: e.ExpectColumnValuesToBeBetween(column="discount_minor", min_value=0),
              lambda r: f"order discount is negative ({_int(r['discount_minor'])})"),
        Check("orders", lambda: e.ExpectColumnValuesToNotBeNull(column="currency"),
              lambda r: "currency is missing"),
        Check("orders", lambda: e.ExpectColumnValuesToBeInSet(column="currency", value_set=currencies),
              lambda r: f"unknown currency '{r['currency']}' (known: {', '.join(currencies)})"),
        Check("orders", lambda: e.ExpectColumnValuesToNotBeNull(column="status"),
              lambda r: "status is missing"),
        Check("orders", lambda: e.ExpectColumnValuesToBeInSet(column="status", value_set=sorted(CANONICAL_STATUSES)),
              lambda r: f"status '{r['status']}' is not a canonical status (platform status '{r.get('platform_status')}')"),
        Check("orders", lambda: e.ExpectColumnValuesToBeBetween(
                  column="paid_ahead_s", max_value=rules.paid_time_future_tolerance_seconds),
              lambda r: f"paid time {r['paid_at']} is in the future"),
        Check("orders", lambda: e.ExpectColumnValuesToBeBetween(column="line_rows", min_value=1),
              lambda r: "order has no lines"),
        Check("orders", lambda: e.ExpectColumnValuesToBeBetween(column="line_gap_excess", max_value=0),
              lambda r: (f"line totals {_int(r['lines_sum'])} + post fee {_int(r['post_fee_minor'])} + tax "
                         f"{_int(r['tax_minor']) if pd.notna(r['tax_minor']) else 0} − discount "
                         f"{_int(r['discount_minor'])} differ from the order total {_int(r['total_minor'])} "
                         f"by {_int(r['line_gap'])} (more than {rules.line_total_tolerance_minor_per_line} per line)")),
        Check("lines", lambda: e.ExpectColumnValuesToNotBeNull(column="sku"),
              lambda r: f"line {r['line_no']}: SKU is missing"),
        Check("lines", lambda: e.ExpectColumnValuesToBeInSet(column="sku_known", value_set=[True]),
              lambda r: f"line {r['line_no']}: SKU '{r['sku']}' is not in the catalogue"),
        Check("lines", lambda: e.ExpectColumnValuesToNotBeNull(column="quantity"),
              lambda r: f"line {r['line_no']}: quantity is missing"),
        Check("lines", lambda: e.ExpectColumnValuesToBeBetween(column="quantity", min_value=1),
              lambda r: f"line {r['line_no']}: quantity must be > 0 (got {_int(r['quantity'])})"),
        Check("lines", lambda: e.ExpectColumnValuesToBeBetween(column="unit_price_minor", min_value=0),
              lambda r: f"line {r['line_no']}: unit price is negative ({_int(r['unit_price_minor'])})"),
        Check("lines", lambda: e.ExpectColumnValuesToBeBetween(column="line_total_minor", min_value=0),
              lambda r: f"line {r['line_no']}: line total is negative ({_int(r['line_total_minor'])})"),
        Check("lines", lambda: e.ExpectColumnValuesToBeInSet(column="line_id_unique", value_set=[True]),
              lambda r: f"line {r['line_no']}: line id '{r['line_id']}' appears more than once in the order"),
        Check("lines", lambda: e.ExpectColumnValuesToBeInSet(column="currency_matches", value_set=[True]),
              lambda r: f"line {r['line_no']}: currency {r['currency']} differs from the order's {r['order_currency']}"),
    ]


class _Suite:
    """A GX ephemeral context with one suite per frame, built once per rule set."""

    def __init__(self, rules: ValidationRules):
        gx = _gx()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._validating = threading.Lock()
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no tqdm in logs
        source = self.context.data_sources.add_pandas("canonical")
        self.checks = _checks(rules)
        self.batches, self.suites, self.check_by_id = {}, {}, {}
        for frame in ("orders", "lines"):
            self.batches[frame] = source.add_dataframe_asset(frame).add_batch_definition_whole_dataframe("all")
            suite = gx.ExpectationSuite(name=f"{SUITE_VERSION}-{frame}")
            for check in (c for c in self.checks if c.frame == frame):
                expectation = check.expectation()
                suite.add_expectation(expectation)
            self.suites[frame] = self.context.suites.add(suite)
            for expectation, check in zip(self.suites[frame].expectations,
                                          [c for c in self.checks if c.frame == frame]):
                self.check_by_id[expectation.id] = check

    def failures(self, frame_name: str, frame: pd.DataFrame) -> Iterable[tuple[Check, list[int]]]:
        if frame.empty:
            return []
        # one validation at a time per context: GX keys its batch (and its metric cache) by the
        # asset, not by the dataframe, so two shops' threads validating at once could read each
        # other's cached answers ("Invalid result values … inconsistent cache values": a shop
        # failed in the full-scale simulated week). The work is CPU-bound Python under the GIL,
        # so little parallelism is lost.
        with self._validating:
            batch = self.batches[frame_name].get_batch(batch_parameters={"dataframe": frame})
            result = batch.validate(self.suites[frame_name], result_format="COMPLETE")
        out = []
        for item in result.results:
            if item.success:
                continue
            if item.exception_info and item.exception_info.get("raised_exception"):
                raise RuntimeError(f"validation check {item.expectation_config.type} crashed: "
                                   f"{item.exception_info.get('exception_message')}")
            out.append((self.check_by_id[item.expectation_config.id], item.result.get("unexpected_index_list") or []))
        return out


_suite_lock = threading.Lock()


@lru_cache(maxsize=4)
def _built_suite(rules: ValidationRules) -> _Suite:
    return _Suite(rules)


def _suite(rules: ValidationRules) -> _Suite:
    """The suite of ``rules``, built once per process (importing GX alone takes seconds);
    shops validating in parallel threads wait for the one being built."""
    with _suite_lock:
        return _built_suite(rules)


def prepare_suite(rules: ValidationRules) -> None:
    """Build the suite now, e.g. in a background thread while the first pages are fetched,
    so the first validation does not pay GX's import on the critical path."""
    _suite(rules)


def _checked_number(series: pd.Series) -> pd.Series:
    """A column a range check reads, as float64 (NaN where missing or not a number).

    GX 1.x compares numpy int/float columns vectorised but walks any other dtype (the
    frames' nullable ``Int64``) row by row in Python: measured on 16,000 Double-11 orders,
    float64 made the whole suite ≈3× faster. Minor units stay exact in a float (< 2**53).
    """
    return pd.to_numeric(series, errors="coerce").astype("float64")


#: (shop id, marketplace item id, marketplace SKU id or "") → our SKU: the listings table
ListingSkus = dict[tuple[str, str, str], str]


def resolve_listed_skus(frames: CanonicalFrames, listing_skus: ListingSkus,
                        known_skus: set[str] | frozenset[str]) -> int:
    """Fill in the SKU of lines that carry none the catalogue knows, from the listings table.

    Taobao C-stores leave ``outer_sku_id``/``outer_iid`` empty, PDD sends ``outer_id: ""``,
    Shopify custom items have no ``sku``: the marketplace's own item and SKU ids are there, and
    the listings table says which of our SKUs that listing sells (issue 18 #10). A line is looked
    up by (shop, item id, SKU id), then by (shop, item id, "") for an item without variants; a
    merchant code the catalogue knows is kept as it is. Only what stays unresolved is left for
    validation to quarantine. Returns how many lines were resolved (``frames.lines`` is updated
    in place)."""
    lines = frames.lines
    if lines.empty or not listing_skus:
        return 0
    sku = lines["sku"]
    unresolved = sku.isna() | ~sku.isin(known_skus)
    if not unresolved.any():
        return 0
    found = []
    for shop, item, variant in zip(lines.loc[unresolved, "shop_id"], lines.loc[unresolved, "marketplace_item_id"],
                                   lines.loc[unresolved, "marketplace_sku_id"]):
        item = "" if item is None or pd.isna(item) else str(item)
        variant = "" if variant is None or pd.isna(variant) else str(variant)
        found.append((listing_skus.get((shop, item, variant)) or listing_skus.get((shop, item, ""))) if item else None)
    resolved = pd.Series(found, index=lines.index[unresolved], dtype=object)
    resolved = resolved[resolved.notna()]
    if len(resolved):
        lines.loc[resolved.index, "sku"] = resolved
    return len(resolved)


def prepare_frames(frames: CanonicalFrames, known_skus: set[str] | frozenset[str], now: datetime,
                   rules: ValidationRules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The orders and lines frames with the derived columns the checks read."""
    orders = frames.orders.reset_index(drop=True).copy()
    lines = frames.lines.reset_index(drop=True).copy()
    for column in ("total_minor", "post_fee_minor", "discount_minor"):
        orders[column] = _checked_number(orders[column])
    for column in ("quantity", "unit_price_minor", "line_total_minor"):
        lines[column] = _checked_number(lines[column])

    ids = orders["order_id"].astype("string").str.strip()
    orders["order_id_present"] = ids.where(ids.fillna("") != "", None).astype(object)
    paid = pd.to_datetime(orders["paid_at"], utc=True, errors="coerce")
    orders["paid_ahead_s"] = (paid - pd.Timestamp(now)).dt.total_seconds()

    per_order = lines.groupby(list(ORDER_KEY), dropna=False).agg(
        lines_sum=("line_total_minor", "sum"), line_rows=("line_no", "size"))
    orders = orders.join(per_order, on=list(ORDER_KEY))
    orders["line_rows"] = orders["line_rows"].fillna(0).astype("float64")
    orders["lines_sum"] = orders["lines_sum"].fillna(0).astype("float64")
    orders["tax_minor"] = _checked_number(orders["tax_minor"])
    expected = (orders["lines_sum"] + orders["post_fee_minor"].fillna(0) + orders["tax_minor"].fillna(0)
                - orders["discount_minor"].fillna(0))
    orders["line_gap"] = (expected - orders["total_minor"]).abs()
    tolerance = rules.line_total_tolerance_minor_per_line * orders["line_rows"].clip(lower=1)
    orders["line_gap_excess"] = (orders["line_gap"] - tolerance).astype("float64")

    lines["sku_known"] = lines["sku"].isin(known_skus) | lines["sku"].isna()  # missing SKU has its own reason
    # a line id names one line (TOP oid, Douyin sku_order_id, Shopify/Amazon item id): twice in one
    # order is a duplicated line; JD and PDD have no line id (their line_id is the SKU id)
    keyed = lines["line_id"].notna() & ~lines["platform"].isin(_LINE_ID_IS_SKU_ID)
    lines["line_id_unique"] = ~(keyed & lines.duplicated([*ORDER_KEY, "line_id"], keep=False))
    currency_of_order = orders.set_index(list(ORDER_KEY))["currency"]
    currency_of_order = currency_of_order[~currency_of_order.index.duplicated()]
    lines = lines.join(currency_of_order.rename("order_currency"), on=list(ORDER_KEY))
    lines["currency_matches"] = (lines["currency"] == lines["order_currency"]) | lines["currency"].isna()
    return orders, lines


def validate_orders(frames: CanonicalFrames, known_skus: set[str] | frozenset[str], now: datetime,
                    rules: ValidationRules) -> ValidationOutcome:
    """Split ``frames`` into valid orders and rejected ones, each rejection with every reason."""
    if frames.orders.empty:
        return ValidationOutcome(valid=frames)
    orders, lines = prepare_frames(frames, known_skus, now, rules)
    suite = _suite(rules)
    reasons: dict[tuple, list[str]] = {}

    def key_of(row: pd.Series) -> tuple:
        return tuple(row[c] for c in ORDER_KEY)

    for frame_name, frame in (("orders", orders), ("lines", lines)):
        for check, indices in suite.failures(frame_name, frame):
            for index in indices:
                row = frame.loc[index]
                reasons.setdefault(key_of(row), []).append(check.reason(row))

    # lines whose order is not in the batch at all (a connector bug, but never lose them)
    line_keys = pd.MultiIndex.from_frame(frames.lines[list(ORDER_KEY)])
    orphans = line_keys[~line_keys.isin(pd.MultiIndex.from_frame(frames.orders[list(ORDER_KEY)]))]
    for key in orphans.unique():
        reasons.setdefault(tuple(key), []).append("lines arrived without their order")

    if not reasons:
        return ValidationOutcome(valid=frames)
    bad = pd.MultiIndex.from_tuples(list(reasons), names=list(ORDER_KEY))

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[~pd.MultiIndex.from_frame(frame[list(ORDER_KEY)]).isin(bad)] if len(frame) else frame

    valid = CanonicalFrames(orders=keep(frames.orders), lines=keep(frames.lines), refunds=keep(frames.refunds))
    rejected = pd.DataFrame([(*key, sorted(set(r), key=r.index)) for key, r in reasons.items()],
                            columns=[*ORDER_KEY, "reasons"])
    return ValidationOutcome(valid=valid, rejected=rejected)
