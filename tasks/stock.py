"""Stock and restock tasks (domain-rules.md §2–§3): load from the warehouse, read listings
through the connectors, call ``domain.stock`` / ``domain.restock``, store what comes back.

Plain functions do the work (tests and the CLI call them); the ``@task`` wrappers are what
the flows run. A task is a load, a shop's listing reads, or a store — never one per SKU.
"""
from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE

from config.schema import AppConfig, ShopConfig, load_config
from connectors import ConnectorError, build_connector, default_settings, redact
from domain.input_files import Column, InputProblem, count, read_records, text
from domain.restock import RestockRules, apply_cooldown, suggest_restock
from domain.stock import ALL_WAREHOUSES, LISTING_KEY, RESERVING_STATUSES, positions, push_plan, reconcile
from shopops.i18n import label, reason, say, t, translator
from warehouse import repository
from warehouse.db import make_engine

#: columns of a warehouse count file (WMS export or stocktake sheet); ``counted_at`` optional
COUNT_COLUMNS = ("sku", "warehouse", "counted_qty")
#: the listing frame ``domain.stock.push_plan`` reads
PLAN_LISTING_COLUMNS = ("shop_id", "marketplace_item_id", "marketplace_sku_id", "sku", "allocation_share", "buffer",
                        "last_pushed_qty", "last_read_qty", "sold_since_push")


class CountFileError(ValueError):
    """A count file problem, naming the file, the row (as numbered in Excel) and the column."""


def _refused_count(problems: list[InputProblem]) -> CountFileError:
    """Every problem of a count file, in the person's language (``SHOPOPS_LOCALE``)."""
    translate = translator()
    lines = [p.render(translate) for p in sorted(problems, key=lambda p: p.row or 0)]
    return CountFileError("\n".join([*lines, translate("in_file_fix")]))


# --- the count file ------------------------------------------------------------------------

@dataclass(frozen=True)
class WarehouseCount:
    counts: pd.DataFrame          # sku, warehouse, counted_qty
    counted_at: datetime          # the moment the count is true at (UTC)
    source: str                   # the file name
    rows: tuple[int, ...] = ()    # each count row's row in the file (as Excel numbers it), when read from one
    headings: dict[str, str] = field(default_factory=dict)   # column → its heading in the file, when read from one


#: the count file's columns (domain.input_files: English or Chinese headings); ``counted_at`` optional
COUNT_FILE_COLUMNS = [
    Column("sku", "商品编码", text, aliases=("SKU", "货号")),
    Column("warehouse", "仓库", text, aliases=("仓库编码",)),
    Column("counted_qty", "盘点数量", count, aliases=("实盘数量",)),
    Column("counted_at", "盘点时间", text, optional=True),
]


def read_count_file(path: Path | str, *, now: datetime | None = None,
                    future_tolerance: timedelta | None = None) -> WarehouseCount:
    """Read and check a count file (.csv or .xlsx, read by ``domain.input_files``; columns sku,
    warehouse, counted_qty and an optional counted_at, ISO 8601 with an offset, the same on
    every row).

    The count is true at ``counted_at`` when given, else at the file's modification time (a
    WMS export is written when it is taken); a count cannot be true later than ``now`` plus
    ``future_tolerance`` (rules.yaml stock.count_future_tolerance_minutes). Every bad row is
    listed with its row and column.
    """
    path = Path(path)
    rows, source = read_records(path, COUNT_FILE_COLUMNS, label=str(path))
    if not source.problems and not rows:
        raise CountFileError(t("stk_count_no_rows", file=path))
    seen: dict[tuple[str, str], int] = {}
    for row_no, row in rows.items():
        key = (row["sku"], row["warehouse"])
        if key in seen:
            source.problem(row_no, reason("in_cnt_twice", sku=row["sku"], warehouse=row["warehouse"], row=seen[key]),
                           "sku")
        seen.setdefault(key, row_no)
    counted_at = None
    stamps = {n: r["counted_at"] for n, r in rows.items() if r["counted_at"] is not None}
    parsed = {}
    for row_no, stamp in stamps.items():
        try:
            parsed[row_no] = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            source.problem(row_no, reason("in_cnt_bad_time", value=stamp), "counted_at")
    stamp_column = source.written.get("counted_at", "counted_at")
    if any(p.tzinfo is None for p in parsed.values()):
        source.problem(None, reason("in_cnt_no_offset", column=stamp_column))
    elif len({p.timestamp() for p in parsed.values()}) > 1:
        source.problem(None, reason("in_cnt_mixed_times", column=stamp_column))
    elif parsed:
        first = min(parsed)
        counted_at = parsed[first].astimezone(timezone.utc)
        if future_tolerance is None:
            future_tolerance = timedelta(minutes=load_config().rules.stock.count_future_tolerance_minutes)
        if counted_at > (now or datetime.now(timezone.utc)) + future_tolerance:
            source.problem(first, reason("in_cnt_future", value=stamps[first]), "counted_at")
            counted_at = None
    if source.problems:
        raise _refused_count(source.problems)
    if counted_at is None:
        counted_at = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    counts = pd.DataFrame([{c: r[c] for c in COUNT_COLUMNS} for r in rows.values()], columns=list(COUNT_COLUMNS))
    counts["counted_qty"] = counts["counted_qty"].astype("int64")
    return WarehouseCount(counts=counts, counted_at=counted_at, source=path.name, rows=tuple(rows),
                          headings=dict(source.written))


def known_warehouses(engine) -> frozenset[str]:
    """Every warehouse the warehouse database has heard of: the warehouses table, the SKUs'
    default warehouses, the ledger, purchase orders and earlier stocktakes."""
    from warehouse.models import PurchaseOrder, Sku, StockLedgerEntry, Stocktake, Warehouse

    columns = (Warehouse.__table__.c.code, Sku.__table__.c.default_warehouse, StockLedgerEntry.__table__.c.warehouse,
               PurchaseOrder.__table__.c.warehouse, Stocktake.__table__.c.warehouse)
    with (engine.connect() if isinstance(engine, sa.Engine) else nullcontext(engine)) as conn:
        return frozenset(code for column in columns for code in conn.scalars(sa.select(column).distinct())
                         if code)


def check_count_against_catalogue(engine, count: WarehouseCount) -> None:
    """``CountFileError`` naming every row whose SKU is not in the catalogue or whose warehouse
    is unknown: stock counted there would be phantom stock nobody can ship or sell."""
    skus, warehouses = repository.known_skus(engine), known_warehouses(engine)
    problems = []
    for index, row in count.counts.iterrows():
        row_no = count.rows[index] if index < len(count.rows) else index + 2
        if row["sku"] not in skus:
            problems.append(InputProblem(count.source, row_no, reason("in_cnt_unknown_sku", sku=row["sku"]),
                                         count.headings.get("sku", "sku")))
        if row["warehouse"] not in warehouses:
            known = ", ".join(sorted(warehouses)) or reason("in_none_yet")
            problems.append(InputProblem(count.source, row_no, reason("in_cnt_unknown_warehouse", known=known,
                                                                      warehouse=row["warehouse"]),
                                         count.headings.get("warehouse", "warehouse")))
    if problems:
        raise _refused_count(problems)


def import_count(database_url: str, count: WarehouseCount) -> repository.StocktakeImport:
    """The count into the ledger (a stocktake per warehouse); a repeated import posts nothing.
    A count naming an unknown SKU or warehouse is refused whole (nothing is written)."""
    engine = make_engine(database_url)
    try:
        check_count_against_catalogue(engine, count)
        return repository.import_stocktake(engine, count.counts, counted_at=count.counted_at, source=count.source)
    finally:
        engine.dispose()


# --- loading -------------------------------------------------------------------------------

@dataclass
class StockInputs:
    ledger: pd.DataFrame
    order_lines: pd.DataFrame
    purchase_orders: pd.DataFrame
    listings: pd.DataFrame


def load_stock_inputs(database_url: str, fallback_warehouse: str = ALL_WAREHOUSES,
                      as_of: datetime | None = None) -> StockInputs:
    """Reserved lines of a SKU without ``skus.default_warehouse`` are held against
    ``fallback_warehouse`` ("*": no particular warehouse; they still lower the SKU's available).
    ``as_of``: the stock as it stood at that moment (exclusive; shopops/as_of.py) — ledger
    movements, reserving orders and purchase orders before it."""
    engine = make_engine(database_url)
    try:
        return StockInputs(
            ledger=repository.read_ledger(engine, until=as_of - timedelta(microseconds=1) if as_of else None),
            order_lines=repository.open_order_lines(engine, RESERVING_STATUSES, fallback_warehouse=fallback_warehouse,
                                                    as_of=as_of),
            purchase_orders=repository.open_po_lines(engine, as_of=as_of),
            listings=repository.read_listings(engine))
    finally:
        engine.dispose()


def ledger_as_of_count(ledger: pd.DataFrame, counted_at: datetime) -> pd.DataFrame:
    """The ledger a count is compared with: movements up to the count's moment, without the
    count itself (it may already be imported as stocktake rows at that moment)."""
    at = pd.Timestamp(counted_at)
    the_count = (ledger["kind"] == "stocktake") & (ledger["moved_at"] == at)
    return ledger[(ledger["moved_at"] <= at) & ~the_count]


# --- listing reads through the connectors ----------------------------------------------------

@dataclass
class ListingReadResult:
    shop_id: str
    #: shop_id, marketplace_item_id, marketplace_sku_id, qty
    reads: pd.DataFrame
    status: str = "ok"            # ok | partial | failed | skipped (shop disabled)
    errors: list[str] = field(default_factory=list)


def shop_connector(shop: ShopConfig):
    """The shop's connector, built as ``tasks.ingest.pull_shop`` builds it."""
    from tasks.secrets import shop_credentials

    overrides = {k: v for k, v in (("page_size", shop.page_size),) if v}
    if shop.max_window_minutes:
        overrides["max_window"] = timedelta(minutes=shop.max_window_minutes)
    settings = default_settings(shop.platform, shop.base_url or "", **{**overrides, **shop.connector_options})
    return build_connector(shop.platform, shop.id, settings, shop_credentials(shop))


def read_shop_listings(config: AppConfig, shop_id: str, listings: pd.DataFrame) -> ListingReadResult:
    """What the marketplace shows as sellable for each of the shop's listings. Never raises for
    the shop's own failures: a shop that cannot be read is reported and the run goes on."""
    columns = ["shop_id", "marketplace_item_id", "marketplace_sku_id", "qty"]
    result = ListingReadResult(shop_id=shop_id, reads=pd.DataFrame(columns=columns))
    try:
        shop = config.shop(shop_id)
    except KeyError as exc:
        result.status, result.errors = "failed", [str(exc).strip("'\"")]
        return result
    if not shop.enabled:
        result.status, result.errors = "skipped", [t("stk_shop_disabled")]
        return result
    connector = None
    rows = []
    try:
        connector = shop_connector(shop)
        for listing in listings.itertuples(index=False):
            try:
                qty = connector.read_stock(listing.marketplace_item_id, listing.marketplace_sku_id)
            except ConnectorError as exc:
                result.errors.append(f"{listing.marketplace_item_id}/{listing.marketplace_sku_id}: "
                                     + redact(str(exc), connector.credentials.secrets())[:300])
                continue
            rows.append((shop_id, listing.marketplace_item_id, listing.marketplace_sku_id, int(qty)))
    except Exception as exc:  # noqa: BLE001 - missing credentials, bad URL …: reported per shop
        secrets = connector.credentials.secrets() if connector is not None else ()
        result.errors.append(redact(f"{type(exc).__name__}: {exc}", secrets)[:500])
    finally:
        if connector is not None:
            connector.close()
    result.reads = pd.DataFrame(rows, columns=columns)
    if result.errors:
        result.status = "partial" if rows else "failed"
    return result


@task(name="read-listing-stock", task_run_name="read-listings-{shop_id}", cache_policy=NO_CACHE)
def read_listing_stock(config: AppConfig, shop_id: str, listings: pd.DataFrame,
                       database_url: str) -> ListingReadResult:
    """One shop's listings read and stored as ``last_read_qty``."""
    result = read_shop_listings(config, shop_id, listings)
    if len(result.reads):
        engine = make_engine(database_url)
        try:
            repository.record_listing_reads(engine, result.reads)
        finally:
            engine.dispose()
    return result


@task(name="load-stock", cache_policy=NO_CACHE)
def load_stock(database_url: str, fallback_warehouse: str = ALL_WAREHOUSES) -> StockInputs:
    """Ledger, open orders' lines, open purchase orders and listings."""
    return load_stock_inputs(database_url, fallback_warehouse)


@task(name="load-listings", cache_policy=NO_CACHE)
def load_listings(database_url: str) -> pd.DataFrame:
    engine = make_engine(database_url)
    try:
        return repository.read_listings(engine)
    finally:
        engine.dispose()


# --- reconcile -----------------------------------------------------------------------------

@dataclass
class StockReconciliation:
    positions: pd.DataFrame           # current positions (the snapshot written)
    discrepancies: pd.DataFrame       # domain.stock.DISCREPANCY_COLUMNS
    plan: pd.DataFrame                # domain.stock.PLAN_COLUMNS on current available
    plan_errors: list[str]
    stored: repository.DiscrepancyResult | None = None


def reconcile_stock_inputs(inputs: StockInputs, count: WarehouseCount | None, *, tolerance: int,
                           undersell_tolerance: int) -> StockReconciliation:
    """Positions, the three-way reconciliation and the push plan (pure: no I/O); each record's
    ``suggested_cause`` is ``discrepancy_advice`` in the configured locale."""
    current = positions(inputs.ledger, inputs.order_lines, inputs.purchase_orders)
    listings = inputs.listings[list(PLAN_LISTING_COLUMNS)].copy()
    if count is not None:
        at_count = positions(ledger_as_of_count(inputs.ledger, count.counted_at), inputs.order_lines,
                             inputs.purchase_orders)
        counts = count.counts
    else:
        at_count = current
        counts = pd.DataFrame({"sku": pd.Series(dtype=str), "warehouse": pd.Series(dtype=str),
                               "counted_qty": pd.Series(dtype="int64")})
    found = reconcile(counts, at_count, listings, tolerance=tolerance, undersell_tolerance=undersell_tolerance)
    # what a person reads (the report, the stored record): localised advice that fits the kind
    found.discrepancies["suggested_cause"] = discrepancy_advice(found.discrepancies, listings)
    plan = push_plan(current.groupby("sku")["available"].sum(), listings)
    return StockReconciliation(positions=current, discrepancies=found.discrepancies, plan=plan.plan,
                               plan_errors=sorted(set(found.plan_errors) | set(plan.errors)))


def discrepancy_advice(discrepancies: pd.DataFrame, listings: pd.DataFrame, locale: str | None = None) -> list[str]:
    """Per record (``DISCREPANCY_COLUMNS``), what it means and what a person does about it, in
    the configured locale: a count below or above the ledger → find the unposted movement or
    accept the count; a listing offering more than its plan (oversell risk) → lower it before
    it sells stock we cannot ship; less (undersell) → raise it. Each says why the listing shows
    what it shows: edited on the marketplace after our push, still our last push, or never
    pushed by us (``listings``: ``last_pushed_qty`` per ``LISTING_KEY``)."""
    pushed = (listings.set_index(LISTING_KEY)["last_pushed_qty"] if len(listings)
              else pd.Series(dtype="float64"))

    def number(value) -> str:
        return "-" if value is None or pd.isna(value) else str(int(value))

    texts = []
    for row in discrepancies.itertuples(index=False):
        units = abs(int(row.difference))
        if row.kind == "count_vs_ledger":
            texts.append(t(f"stk_advice_{row.cause}", locale, count=number(row.warehouse_count),
                           ledger=number(row.ledger_qty), units=units, warehouse=row.warehouse))
            continue
        last = pushed.get((row.shop_id, row.marketplace_item_id, row.marketplace_sku_id))
        never_pushed = last is None or pd.isna(last)
        why = "edited" if row.cause == "listing_edited" else "never_pushed" if never_pushed else "stale"
        texts.append(t(f"stk_advice_{row.kind}_{why}", locale, shop=row.shop_id, item=row.marketplace_item_id,
                       listing=number(row.listing_qty), planned=number(row.planned_qty), units=units,
                       last=number(last)))
    return texts


def reconcile_headline(counts: dict[str, int], counted: bool, locale: str | None = None) -> str:
    """The report's headline: what was found, each kind counted; "books match" (账实相符) only
    when a warehouse count was compared and nothing is beyond tolerance."""
    if counts["count_vs_ledger"] or counts["oversell_risk"] or counts["undersell"]:
        headline = t("stk_headline_found", locale, **counts)
    else:
        headline = t("stk_headline_match" if counted else "stk_headline_listings_match", locale)
    if counts.get("shops_failed"):
        headline += t("stk_headline_unread", locale, n=counts["shops_failed"])
    return headline


@task(name="store-reconciliation", cache_policy=NO_CACHE)
def store_reconciliation(database_url: str, result: StockReconciliation,
                         flow_run_id: str | None) -> repository.DiscrepancyResult:
    """Discrepancies for a person and the positions snapshot, in one transaction."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            stored = repository.record_discrepancies(conn, result.discrepancies, flow_run_id=flow_run_id)
            repository.write_positions(conn, result.positions)
        return stored
    finally:
        engine.dispose()


# --- stock sync: pushing the plan to the marketplaces ------------------------------------------

#: none: plan only; dry_run: log the plan's pushes, write nothing; live: push, read back, log
SYNC_MODES = ("none", "dry_run", "live")


class PushSwitchedOff(RuntimeError):
    """A live push was asked for while rules.yaml says pushing is off."""


def sync_mode(requested: str | None, push_enabled: bool, push_dry_run: bool) -> str:
    """The sync a run does. Not asked: what rules.yaml says (``stock.push_enabled`` off → none;
    on → dry_run while ``stock.push_dry_run`` is true, else live). A dry run may always be asked
    for (it writes nothing); a live push only while ``push_enabled`` is true."""
    if requested is None:
        return "none" if not push_enabled else ("dry_run" if push_dry_run else "live")
    if requested not in SYNC_MODES:
        raise ValueError(f"sync '{requested}' is not one of {', '.join(SYNC_MODES)}")
    if requested == "live" and not push_enabled:
        raise PushSwitchedOff("a live stock push was asked for, but pushing is switched off: set stock.push_enabled: "
                              "true in config/rules.yaml (or run without --live for a dry run)")
    return requested


def pushes_to_make(plan: pd.DataFrame, read_ok: pd.DataFrame | None, overwrite_edited: bool = False) -> pd.DataFrame:
    """The plan's rows to push: ``action == "push"`` (and ``report_edited`` when a person said
    to overwrite edits). ``read_ok``: listings read successfully this run (``LISTING_KEY``
    columns); when given, only those are pushed — a listing we could not read now might have
    been edited since, and a push would overwrite that unseen."""
    actions = ["push", "report_edited"] if overwrite_edited else ["push"]
    todo = plan[plan["action"].isin(actions)]
    if read_ok is not None:
        todo = todo.merge(read_ok[LISTING_KEY].drop_duplicates(), on=LISTING_KEY, how="inner")
    return todo.reset_index(drop=True)


def dry_run_pushes(plan: pd.DataFrame) -> pd.DataFrame:
    """The pushes the plan asks for (``action == "push"``), as ``stock_pushes`` rows of a dry run:
    before = what the listing showed at this run's read, planned = what would be set, after =
    what it shows after the dry run (unchanged: nothing was written)."""
    todo = plan[plan["action"] == "push"]
    before = todo["marketplace_qty"].astype("Int64")
    return pd.DataFrame({
        "shop_id": todo["shop_id"], "marketplace_item_id": todo["marketplace_item_id"],
        "marketplace_sku_id": todo["marketplace_sku_id"], "sku": todo["sku"], "before_qty": before,
        "planned_qty": todo["planned_qty"].astype("int64"), "after_qty": before, "outcome": "dry_run",
        "reply": [{"dry_run": True, "would_set": int(q)} for q in todo["planned_qty"]]}).reset_index(drop=True)


@task(name="record-dry-run-pushes", cache_policy=NO_CACHE)
def record_dry_run_pushes(database_url: str, plan: pd.DataFrame, flow_run_id: str | None) -> pd.DataFrame:
    """Log the plan's pushes as dry runs in ``stock_pushes``; no marketplace is written to."""
    return _log_pushes(database_url, dry_run_pushes(plan), flow_run_id)


def _log_pushes(database_url: str, pushes: pd.DataFrame, flow_run_id: str | None) -> pd.DataFrame:
    engine = make_engine(database_url)
    try:
        repository.record_stock_pushes(engine, pushes, flow_run_id=flow_run_id)
    finally:
        engine.dispose()
    return pushes


PUSH_COLUMNS = ("shop_id", "marketplace_item_id", "marketplace_sku_id", "sku", "before_qty", "planned_qty",
                "after_qty", "outcome", "reply")


def push_shop_listings(config: AppConfig, shop_id: str, todo: pd.DataFrame) -> pd.DataFrame:
    """Push each planned quantity through the shop's connector (a full overwrite), then read the
    listing back: ``confirmed`` when it shows the planned quantity, ``mismatch`` when not,
    ``failed`` when the marketplace refused or could not be reached (``reply`` holds the error,
    secrets redacted). Never raises for the shop's own failures: each listing gets a row."""
    rows = []
    connector = None
    try:
        connector = shop_connector(config.shop(shop_id))
    except Exception as exc:  # noqa: BLE001 - missing credentials, bad URL …: every listing fails, named
        error = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
        return pd.DataFrame([(*_push_key(r), r.marketplace_qty, r.planned_qty, None, "failed", error)
                             for r in todo.itertuples(index=False)], columns=list(PUSH_COLUMNS))
    try:
        secrets = connector.credentials.secrets()
        for row in todo.itertuples(index=False):
            planned = int(row.planned_qty)
            try:
                result = connector.push_stock(row.marketplace_item_id, row.marketplace_sku_id, planned)
            except ConnectorError as exc:
                rows.append((*_push_key(row), row.marketplace_qty, planned, None, "failed",
                             {"error": redact(str(exc), secrets)[:500]}))
                continue
            reply = result.reply if result.ok else {"error": "the marketplace did not accept the push",
                                                    "reply": result.reply}
            try:
                after = int(connector.read_stock(row.marketplace_item_id, row.marketplace_sku_id))
            except ConnectorError as exc:
                rows.append((*_push_key(row), row.marketplace_qty, planned, None, "failed",
                             {"reply": result.reply, "error": "read-back failed: " + redact(str(exc), secrets)[:400]}))
                continue
            outcome = "failed" if not result.ok else ("confirmed" if after == planned else "mismatch")
            rows.append((*_push_key(row), row.marketplace_qty, planned, after, outcome, reply))
    finally:
        connector.close()
    return pd.DataFrame(rows, columns=list(PUSH_COLUMNS))


def _push_key(row) -> tuple:
    return row.shop_id, row.marketplace_item_id, row.marketplace_sku_id, row.sku


@task(name="push-listing-stock", task_run_name="push-listings-{shop_id}", cache_policy=NO_CACHE)
def push_listing_stock(config: AppConfig, shop_id: str, todo: pd.DataFrame, database_url: str,
                       flow_run_id: str | None) -> pd.DataFrame:
    """One shop's live pushes, each read back, logged in ``stock_pushes``."""
    return _log_pushes(database_url, push_shop_listings(config, shop_id, todo), flow_run_id)


# --- restock -------------------------------------------------------------------------------

@dataclass
class RestockInputs:
    sales: pd.DataFrame               # sku, shop_id, day, units, revenue_minor (one currency)
    stock: pd.DataFrame               # sku, available, in_transit
    terms: pd.DataFrame               # sku, lead_time_days, case_pack, moq (+ name, supplier, term sources)
    last_sent: pd.DataFrame           # sku, level, last_sent_at
    other_currency_revenue: list[str] = field(default_factory=list)


def supplier_terms(catalogue: pd.DataFrame, config: AppConfig) -> pd.DataFrame:
    """Each SKU's lead time, case pack and MOQ: the SKU's own value when set, else its
    supplier's (suppliers.yaml); a lead time neither gives stays blank (the domain then uses
    ``restock.default_lead_time_days``). ``skus.case_pack``/``moq`` default to 1 in the table,
    so 1 there counts as "not set" when the supplier has a value."""
    suppliers = {s.id: s for s in config.suppliers}
    rows = []
    for item in catalogue.itertuples(index=False):
        supplier = suppliers.get(item.supplier) if isinstance(item.supplier, str) else None
        own_lead = None if pd.isna(item.lead_time_days) else int(item.lead_time_days)
        lead = own_lead if own_lead is not None else (supplier.lead_time_days if supplier else None)
        source = "sku" if own_lead is not None else ("supplier" if supplier else "default")

        def term(own, name):
            own = None if pd.isna(own) else int(own)
            if own not in (None, 1) or supplier is None:
                return own or 1
            return getattr(supplier, name)

        rows.append({"sku": item.sku, "name": item.name, "supplier": item.supplier, "lead_time_days": lead,
                     "lead_time_source": source, "case_pack": term(item.case_pack, "case_pack"),
                     "moq": term(item.moq, "moq")})
    frame = pd.DataFrame(rows, columns=["sku", "name", "supplier", "lead_time_days", "lead_time_source",
                                        "case_pack", "moq"])
    frame["lead_time_days"] = frame["lead_time_days"].astype("Int64")
    return frame


def campaign_uplift(config: AppConfig) -> pd.DataFrame:
    """§3 "campaign days get the campaign's uplift factor": one row per calendar day of each
    promotion's window (in the promotion's zone), promoted SKU and campaign shop — day, sku,
    shop_id, uplift_factor. Gifts and other SKUs, and the promoted SKUs in other shops, are not
    uplifted; where campaigns overlap the domain takes the larger factor."""
    from zoneinfo import ZoneInfo

    rows = []
    for promo in config.promotions:
        if promo.uplift_factor == 1:
            continue
        zone = ZoneInfo(promo.timezone)
        day = promo.window_start.astimezone(zone).date()
        last = (promo.window_end.astimezone(zone) - timedelta(microseconds=1)).date()
        while day <= last:
            rows += [(day, item.sku, shop, float(promo.uplift_factor)) for item in promo.skus for shop in promo.shops]
            day += timedelta(days=1)
    return pd.DataFrame(rows, columns=["day", "sku", "shop_id", "uplift_factor"])


def load_restock_inputs(database_url: str, config: AppConfig, today: date,
                        as_of: datetime | None = None) -> RestockInputs:
    """The history before ``today`` and the stock; ``as_of``: nothing from that moment on
    (a run recomputed for a past day: its sales and stock as they stood)."""
    rules = config.rules.restock
    base_currency = config.rules.orders.known_currencies[0]
    days = max(rules.abc_window_days, rules.demand_history_days) + 1
    start = datetime.combine(today - timedelta(days=days), datetime.min.time(), tzinfo=timezone.utc)
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    end = min(end, as_of) if as_of else end
    engine = make_engine(database_url)
    try:
        sales = repository.daily_sales(engine, start, end, by_shop=True)   # a campaign's uplift is per shop
        inputs = load_stock_inputs(database_url, as_of=as_of)
        catalogue = repository.restock_terms(engine)
        last_sent = repository.last_sent_alerts(engine, "restock")
    finally:
        engine.dispose()
    held = positions(inputs.ledger, inputs.order_lines, inputs.purchase_orders)
    stock = held.groupby("sku", as_index=False)[["available", "in_transit"]].sum()
    others = sorted(set(sales["currency"]) - {base_currency})
    # units of every currency are demand; revenue (ABC) only in the base currency: no FX here
    sales = sales.assign(revenue_minor=sales["revenue_minor"].where(sales["currency"] == base_currency, 0))
    sales = sales.groupby(["sku", "shop_id", "day"], as_index=False)[["units", "revenue_minor"]].sum()
    return RestockInputs(sales=sales, stock=stock, terms=supplier_terms(catalogue, config), last_sent=last_sent,
                         other_currency_revenue=others)


@task(name="load-restock-inputs", cache_policy=NO_CACHE)
def load_restock(database_url: str, config: AppConfig, today: date, as_of: datetime | None = None) -> RestockInputs:
    """Sales history, positions, supplier terms and the alert cooldowns."""
    return load_restock_inputs(database_url, config, today, as_of)


def judge_restock(inputs: RestockInputs, config: AppConfig, today: date, now: datetime) -> pd.DataFrame:
    """``suggest_restock`` then ``apply_cooldown``: every suggestion with ``send``/``send_reason``."""
    block = config.rules.restock
    rules = RestockRules.from_config(block.model_dump())
    uplift = campaign_uplift(config)
    suggestions = suggest_restock(inputs.sales, inputs.stock, inputs.terms[["sku", "lead_time_days", "case_pack", "moq"]],
                                  rules, today, uplift if len(uplift) else None)
    suggestions = suggestions.merge(inputs.terms[["sku", "name", "supplier", "lead_time_source"]], on="sku", how="left")
    suggestions["demand_method"] = demand_term_text(rules)   # the §3 term d and σ come from, in words
    return apply_cooldown(suggestions, inputs.last_sent, now, timedelta(hours=block.cooldown_hours),
                          config.rules.orders.default_timezone)


def demand_term_text(rules: RestockRules, locale: str | None = None) -> str:
    """How ``d`` and ``σ`` were estimated (rules.yaml restock.demand_method, demand_trim_share,
    demand_sigma), for a person: "mean of 28 days, the highest 10% of selling days (at least 1)
    clipped to the next highest · σ standard deviation"."""
    k = math.floor(rules.demand_history_days * rules.demand_trim_share + 1e-9)
    method = t(f"rs_method_{rules.demand_method}", locale, k=k, days=rules.demand_history_days,
               share=f"{rules.demand_trim_share:.0%}")
    return f"{method} · σ {t(f'rs_sigma_{rules.demand_sigma}', locale)}"


@task(name="store-alerts", cache_policy=NO_CACHE)
def store_alerts(database_url: str, judged: pd.DataFrame, flow_run_id: str | None, now: datetime) -> int:
    """Alerts sent and held back, and the cooldowns of the sent ones, in one transaction."""
    engine = make_engine(database_url)
    try:
        return repository.record_alerts(engine, _json_safe(judged), kind="restock", flow_run_id=flow_run_id, now=now)
    finally:
        engine.dispose()


def _json_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """inf cover (no demand) is not JSON: kept as null in the stored details."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(lambda v: None if v is None or (isinstance(v, float) and math.isinf(v)) else v)
    return out


# --- purchase suggestions and the alert message ----------------------------------------------

#: columns of a supplier's purchase-suggestion sheet, what a buyer sends on
PURCHASE_COLUMNS = ("sku", "name", "suggested_qty", "case_pack", "moq", "lead_time_days", "level", "available",
                    "in_transit", "daily_demand", "cover_days", "reason")
#: an Excel sheet name holds at most 31 characters
_SHEET_NAME_MAX = 31


def purchase_suggestions(judged: pd.DataFrame, config: AppConfig, no_supplier: str) -> dict[str, pd.DataFrame]:
    """One sheet per supplier (its name from suppliers.yaml, else its id; SKUs without one under
    ``no_supplier``) with the SKUs to order from it, most urgent first; overstock is not ordered."""
    names = {s.id: s.name for s in config.suppliers}
    wanted = judged[judged["suggested_qty"] > 0].copy()
    wanted["cover_days"] = wanted["cover_days"].map(lambda v: None if pd.isna(v) or math.isinf(v) else round(float(v), 1))
    wanted["sheet"] = wanted["supplier"].map(lambda s: names.get(s, s) if isinstance(s, str) and s else no_supplier)
    sheets = {}
    for sheet, part in sorted(wanted.groupby("sheet"), key=lambda item: str(item[0])):
        part = part.assign(severity=part["level"].map({"critical": 0, "warning": 1})).sort_values(["severity", "sku"])
        sheets[str(sheet)[:_SHEET_NAME_MAX]] = part[list(PURCHASE_COLUMNS)].reset_index(drop=True)
    return sheets


#: at most this many alerts spelled out in one webhook message (robots cap a message's size)
ALERT_MESSAGE_MAX_LINES = 30
#: at most this many overstock SKUs named in the message's one overstock line
OVERSTOCK_SKUS_LISTED = 100


def alert_message_lines(sent: pd.DataFrame, locale: str | None = None) -> list[str]:
    """The message's markdown lines: one per critical or warning alert (SKU, name, supplier and
    the reason with its numbers), then every overstock alert in one line naming the SKUs — a
    first run finds every slow mover at once (95 on the demo's first day), which is one piece
    of news, not 95 (issue 23 #11). Catalogue and stock facts only, no buyer data exists in an
    alert."""
    urgent = sent[sent["level"] != "overstock"]
    lines = [f"- **{t('rs_level_' + row.level, locale)}** {row.sku} {row.name or ''} ({row.supplier or '-'}): "
             f"{say(row.reason, locale)}" for row in urgent.itertuples()]
    if len(lines) > ALERT_MESSAGE_MAX_LINES:
        rest = len(lines) - ALERT_MESSAGE_MAX_LINES
        lines = lines[:ALERT_MESSAGE_MAX_LINES] + [t("rs_message_more", locale, n=rest)]
    lines += overstock_summary(sent, locale)
    return lines


def overstock_summary(judged: pd.DataFrame, locale: str | None = None) -> list[str]:
    """The overstock alerts of ``judged`` as one line naming their SKUs (the first
    ``OVERSTOCK_SKUS_LISTED``, then how many more); no line when there is none."""
    skus = sorted(judged.loc[judged["level"] == "overstock", "sku"].astype(str))
    if not skus:
        return []
    named = ", ".join(skus[:OVERSTOCK_SKUS_LISTED])
    if len(skus) > OVERSTOCK_SKUS_LISTED:
        named += t("rs_overstock_more", locale, n=len(skus) - OVERSTOCK_SKUS_LISTED)
    return [t("rs_overstock_line", locale, n=len(skus), skus=named)]
