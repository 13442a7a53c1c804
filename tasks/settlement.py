"""Tasks of the monthly settlement (domain-rules.md §5): read the hand-kept input files, the
month's sales from the warehouse, settle (pure domain), store a version, build the statement,
record the reviewer's decision.

Each task is one step of one month: a settlement is a few dozen people and shops, so none of
these is split further. Nothing here decides a figure: :mod:`domain.settlement` does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from domain.settlement import (Change, Component, Settlement, SettlementError, SettlementLine, SettlementRules,
                               diff_versions, frame_records, line_figures, shown, to_fen)
from domain.settlement_inputs import InputProblem, SettlementInputError, SettlementInputs, load_inputs
from shopops.i18n import MESSAGES, number as number_text, percent, reason, say, t, translator, when, yuan as money_text
from warehouse import repository
from warehouse.db import make_engine
from warehouse.repository import SettlementVersion

#: the five files of an inputs folder, each as .csv or .xlsx
INPUT_FILES = ("roster", "targets", "expenses", "cs_stats", "shop_channels")
#: files an inputs folder may have (the store KPIs' conversion rate and DSR come from it)
OPTIONAL_INPUT_FILES = ("shop_stats",)
#: the currency commissions are computed and paid in; other currencies' sales are reported, not settled
SETTLEMENT_CURRENCY = "CNY"
DECISIONS = ("approve", "request_correction")


def find_input_files(folder: Path) -> dict[str, Path]:
    """``{name: path}`` of the five input files in ``folder``; every missing or ambiguous
    file is reported at once as a :class:`SettlementInputError`."""
    problems, found = [], {}
    if not folder.is_dir():
        files = ", ".join(f + ".csv" for f in INPUT_FILES)
        raise SettlementInputError([InputProblem(str(folder), None, reason("in_st_no_folder", files=files))]
                                   ).localise(translator())
    for name in INPUT_FILES + OPTIONAL_INPUT_FILES:
        candidates = [path for path in (folder / f"{name}.csv", folder / f"{name}.xlsx") if path.is_file()]
        if not candidates and name in OPTIONAL_INPUT_FILES:
            continue
        if not candidates:
            problems.append(InputProblem(f"{name}.csv", None, reason("in_st_missing_file", folder=folder, name=name)))
        elif len(candidates) > 1:
            problems.append(InputProblem(candidates[0].name, None, reason("in_st_both_files", folder=folder, name=name)))
        else:
            found[name] = candidates[0]
    if problems:
        raise SettlementInputError(problems).localise(translator())
    return found


@task(name="load-settlement-inputs", cache_policy=NO_CACHE)
def load_settlement_inputs(folder: Path) -> SettlementInputs:
    """The checked input files of ``folder`` (raises with file, row and reason for every problem)."""
    files = find_input_files(Path(folder))
    try:
        return load_inputs(**files)
    except SettlementInputError as exc:
        raise exc.localise(translator()) from None


@dataclass(frozen=True)
class MonthSales:
    sales: pd.DataFrame          # domain SALES_COLUMNS, settlement currency only
    kpi_orders: pd.DataFrame     # the settled month's orders, settlement currency only
    other_currencies: pd.DataFrame   # month, shop_id, currency, placed_minor: reported, not settled
    units_without_cost: int      # units sold in the settled month whose SKU has no unit cost


@task(name="load-month-sales", cache_policy=NO_CACHE)
def load_month_sales(database_url: str, month: str, months: tuple[str, ...], zone: str) -> MonthSales:
    engine = make_engine(database_url)
    try:
        sales, orders = repository.settlement_month_reads(engine, month, months, zone)
    finally:
        engine.dispose()
    mine = sales["currency"] == SETTLEMENT_CURRENCY
    columns = ["month", "shop_id", "placed_minor", "refunded_minor", "late_refunded_minor", "cost_of_goods_minor"]
    return MonthSales(sales=sales.loc[mine, columns].reset_index(drop=True),
                      kpi_orders=orders[orders["currency"] == SETTLEMENT_CURRENCY].reset_index(drop=True),
                      other_currencies=sales.loc[~mine, ["month", "shop_id", "currency", "placed_minor"]],
                      units_without_cost=int(sales.loc[mine & (sales["month"] == month), "units_without_cost"].sum()))


# --- entry checks: what is refused or flagged before a month is settled (issue 19 #17) ---------

class SettlementRefused(SettlementError):
    """A month that must not be settled now; the message says why and what to do."""

    def __init__(self, message: str):
        self.problems = [message]
        ValueError.__init__(self, message)


def month_end(month: str, zone: str) -> datetime:
    """The first moment after ``month`` in ``zone`` (aware)."""
    year, number = int(month[:4]), int(month[5:])
    return datetime(year + number // 12, number % 12 + 1, 1, tzinfo=ZoneInfo(zone))


def check_month_ended(month: str, zone: str, now: datetime) -> None:
    """§5: a month is settled after it ends; before, its revenue and refunds are still coming in."""
    end = month_end(month, zone)
    if now < end:
        raise SettlementRefused(t("st_month_not_ended", month=month, end=f"{when(end, zone)} ({zone})"))


def check_month_has_orders(month: str, sales: MonthSales, allow_no_orders: bool) -> None:
    """A month without a single order placed is almost always a pull that did not run: settling
    it would pay everyone on zero revenue. Refused unless the person says it is real."""
    other = sales.other_currencies
    placed_elsewhere = bool(len(other) and ((other["month"] == month) & (other["placed_minor"] > 0)).any())
    if len(sales.kpi_orders) == 0 and not placed_elsewhere and not allow_no_orders:
        raise SettlementRefused(t("st_no_orders", month=month))


def unattributed_shops(month: str, inputs: SettlementInputs, sales: pd.DataFrame) -> list[tuple[str, Decimal]]:
    """(shop, net revenue in yuan) of each shop that sold in ``month`` while no operations person
    on the roster ran it during the month: its revenue is in no one's figures but the manager's."""
    start, end = pd.Timestamp(f"{month}-01").date(), (pd.Timestamp(f"{month}-01") + pd.offsets.MonthEnd(0)).date()
    staff = inputs.staff
    present = staff[(staff["role"] == "operations") & (staff["joined_on"] <= end)
                    & (staff["left_on"].isna() | staff["left_on"].map(lambda d: d is None or d >= start))]
    run = set(inputs.assignments.loc[inputs.assignments["person_id"].isin(present["person_id"]), "shop_id"])
    month_sales = sales[sales["month"] == month]
    net = (month_sales.groupby("shop_id")["placed_minor"].sum()
           - month_sales.groupby("shop_id")["refunded_minor"].sum())
    return [(shop, money_text(int(minor))) for shop, minor in sorted(net.items()) if minor and shop not in run]


@task(name="load-earlier-coefficients", cache_policy=NO_CACHE)
def load_earlier_coefficients(database_url: str, preset: str, months: tuple[str, ...]) -> pd.DataFrame:
    engine = make_engine(database_url)
    try:
        return repository.final_coefficients(engine, preset, months)
    finally:
        engine.dispose()


def line_record(line: SettlementLine) -> dict:
    """A domain line as ``repository.write_settlement`` stores it."""
    return dict(person_id=line.person_id, role=line.role, revenue_minor=line.revenue_minor,
                components=line.components_record(), coefficient=line.coefficient,
                commission_minor=line.commission_minor,
                annual_bonus_minor=line.annual.bonus_minor if line.annual else None,
                flags=[dict(kind=f.kind, detail=f.detail, key=getattr(f.detail, "key", None),
                            values=getattr(f.detail, "values", {})) for f in line.flags])


@dataclass(frozen=True)
class StoredSettlement:
    version: SettlementVersion
    created: bool                # False: the newest version already had these inputs (no duplicate)


def kpi_document(settlement: Settlement, kpis: pd.DataFrame, cs_kpis: pd.DataFrame) -> dict:
    """The statement's shop figures and KPIs as JSON, stored with the version."""
    return {name: frame_records(frame) for name, frame in (("shops", settlement.shops), ("store_kpis", kpis), ("cs_kpis", cs_kpis))}


@task(name="store-settlement-version", cache_policy=NO_CACHE)
def store_settlement_version(database_url: str, settlement: Settlement, snapshot: dict, kpis: dict, *, status: str,
                             flow_run_id: str | None, correct_final: bool = False) -> StoredSettlement:
    """One effect per inputs: when the newest version of (month, preset) has the same inputs
    hash it is returned as it is (final or not); otherwise a new version is written — refused
    (``SettlementFinalError``) over a final version unless ``correct_final``."""
    engine = make_engine(database_url)
    try:
        version, created = repository.write_settlement(
            engine, month=settlement.month, preset=settlement.preset, inputs_sha256=settlement.inputs_sha256,
            lines=[line_record(line) for line in settlement.lines], status=status, flow_run_id=flow_run_id,
            inputs=snapshot, kpis=kpis, correct_final=correct_final)
        return StoredSettlement(version, created=created)
    finally:
        engine.dispose()


#: flow-run states in which a run that asked for approval may still receive the answer
_STILL_ASKING = ("PAUSED", "RUNNING", "PENDING", "SCHEDULED")


@task(name="find-waiting-approval", cache_policy=NO_CACHE)
def run_still_asking(flow_run_id: str | None, own_run_id: str | None) -> bool:
    """Whether another flow run is (still) the one asking a person to approve this version:
    then a second run of the same month and inputs must not ask again (two forms, one
    version). A run that ended (timed out, failed, cancelled, or gone) no longer asks."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    if not flow_run_id or flow_run_id == own_run_id:
        return False
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(flow_run_id)
        except ObjectNotFound:
            return False
    return run.state is not None and run.state.type.value in _STILL_ASKING


@task(name="ask-for-approval", cache_policy=NO_CACHE)
def mark_awaiting_approval(database_url: str, settlement_id: int, flow_run_id: str | None) -> SettlementVersion:
    engine = make_engine(database_url)
    try:
        return repository.set_settlement_status(engine, settlement_id, "awaiting_approval", flow_run_id=flow_run_id)
    finally:
        engine.dispose()


def record_decision(database_url: str, settlement_id: int, decision: str, note: str,
                    reviewer: str | None = None) -> SettlementVersion:
    """The reviewer's answer: ``approve`` makes the version final (the month's previous final
    version superseded); ``request_correction`` stores the note and leaves the version
    ``correction_requested``."""
    if decision not in DECISIONS:
        raise ValueError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    engine = make_engine(database_url)
    try:
        if decision == "approve":
            return repository.finalise_settlement(engine, settlement_id, approved_by=reviewer or "prefect-ui",
                                                  note=note.strip() or None)
        return repository.request_settlement_correction(engine, settlement_id, note=note, by=reviewer or None)
    finally:
        engine.dispose()


record_decision_task = task(name="record-decision", cache_policy=NO_CACHE)(record_decision)


def version_asked_in_run(database_url: str, flow_run_id: str | None) -> SettlementVersion | None:
    """The version flow run ``flow_run_id`` suspended to ask about, when it has done so (its
    suspension key ``approval-<id>`` is among the run's fired pause keys): the run is now being
    run again after Resume. None for a run that has not asked (a first execution)."""
    if not flow_run_id:
        return None
    engine = make_engine(database_url)
    try:
        candidates = repository.settlements_asked_in(engine, flow_run_id)
    finally:
        engine.dispose()
    if not candidates:
        return None
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        fired = set(client.read_flow_run(flow_run_id).empirical_policy.pause_keys or ())
    return next((v for v in candidates if f"approval-{v.id}" in fired), None)


@dataclass(frozen=True)
class Decided:
    version: SettlementVersion
    resumed_run: str | None     # the suspended run that asked, resumed with the same answer
    resume_error: str | None    # why it could not be resumed (the decision stands)


def decide_settlement(database_url: str, month: str, preset: str, decision: str, reviewer: str, note: str = "",
                      version: int | None = None) -> Decided:
    """A decision taken outside the run's form (`shopops settle approve/correct`): recorded on
    the version awaiting approval (the newest, or ``version``), then the suspended run that
    asked about it is resumed with the same answer so it completes instead of failing at its
    deadline. The reviewer is required; a correction needs a note."""
    reviewer, note = reviewer.strip(), note.strip()
    if not reviewer:
        raise repository.SettlementStateError(t("st_reviewer_required"))
    if decision == "request_correction" and not note:
        raise repository.SettlementStateError(t("st_note_required"))
    engine = make_engine(database_url)
    try:
        target = repository.settlement_version(engine, month, preset, version)
    finally:
        engine.dispose()
    if target.status != "awaiting_approval":
        raise repository.SettlementStateError(t("st_not_awaiting", month=month, preset=preset, version=target.version,
                                                status=t(f"st_status_{target.status}")))
    decided = record_decision(database_url, target.id, decision, note, reviewer)
    run_id, error = target.flow_run_id, None
    if run_id:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound
        from prefect.flow_runs import resume_flow_run

        try:
            with get_client(sync_client=True) as client:
                run = client.read_flow_run(run_id)
            if run.state is None or run.state.type.value != "PAUSED":
                run_id = None  # not waiting (ended, or an in-process run that did not suspend)
            else:
                resume_flow_run(run_id, run_input={"decision": decision, "note": note, "reviewer": reviewer})
        except ObjectNotFound:
            run_id = None
        except Exception as exc:  # noqa: BLE001 - the decision is stored; the person is told what the run does
            error = f"{type(exc).__name__}: {exc}"
    return Decided(decided, resumed_run=run_id if not error else None, resume_error=error and f"{run_id}: {error}")


# --- the statement ---------------------------------------------------------------------------

def yuan(minor: int | Decimal | None) -> Decimal | None:
    """Fen → yuan for display (exact: a Decimal with 2 places)."""
    if minor is None or (not isinstance(minor, Decimal) and pd.isna(minor)):
        return None
    return (Decimal(int(minor)) / 100).quantize(Decimal("0.01"))


def _ratio(value: object) -> Decimal | None:
    return None if value is None or pd.isna(value) else shown(Decimal(value))


def statement_tables(settlement: Settlement, kpis: pd.DataFrame, cs_kpis: pd.DataFrame,
                     locale: str | None = None) -> dict[str, pd.DataFrame]:
    """The statement a reviewer approves: ``people`` (revenue, each component's score, the
    coefficient at 4 places, commission in yuan), ``components`` (what each score was measured
    on), ``shops`` (the month's figures with the clawback column), ``store_kpis``, ``cs_kpis``
    (customer service: conversations, response time, conversion, attributed sales)."""
    names = [c for c in ("target", "own_shops_target", "distribution_target", "profitability", "gross_margin")
             if any(c == part.name for line in settlement.lines for part in line.components)]
    annual = any(line.annual for line in settlement.lines)
    people, parts = [], []
    for line in settlement.lines:
        scores = {c.name: shown(c.score) for c in line.components}
        row = {t("st_person_id", locale): line.person_id, t("st_name", locale): line.name,
               t("st_role", locale): t(f"st_role_{line.role}", locale),
               # the figure a person acts on first comes right after who it is (issue 23 #4)
               t("st_commission", locale): yuan(line.commission_minor),
               t("st_revenue", locale): yuan(line.revenue_minor)}
        row |= {t(f"st_component_{n}", locale): scores.get(n) for n in names}
        row |= {t("st_coefficient", locale): None if line.coefficient is None else shown(line.coefficient)}
        if annual:
            row |= {t("st_annual_coefficient", locale): shown(line.annual.coefficient) if line.annual else None,
                    t("st_annual_bonus", locale): yuan(line.annual.bonus_minor) if line.annual else None}
        row[t("st_flags", locale)] = "; ".join(say(f.detail, locale) for f in line.flags)
        people.append(row)
        for c in line.components:
            parts.append({t("st_person_id", locale): line.person_id,
                          t("st_component", locale): t(f"st_component_{c.name}", locale),
                          t("st_actual", locale): yuan(to_display_minor(c.actual)),
                          t("st_target", locale): yuan(to_display_minor(c.target)),
                          t("st_measure", locale): shown(c.measure), t("st_score", locale): shown(c.score),
                          t("st_weight", locale): shown(c.weight), t("st_basis", locale): component_basis(c, locale)})
    money = ["placed_minor", "refunded_minor", "late_refunded_minor", "revenue_minor", "cost_of_goods_minor",
             "gross_profit_minor", "expenses_minor", "target_minor"]
    shops = pd.DataFrame({t("st_shop", locale): settlement.shops["shop_id"],
                          t("st_channel", locale): settlement.shops["channel"].map(
                              lambda c: None if c is None or pd.isna(c) else t(f"st_channel_{c}", locale)),
                          **{t(f"st_{m.removesuffix('_minor')}", locale): settlement.shops[m].map(yuan)
                             for m in money}})
    tables = {"people": pd.DataFrame(people), "components": pd.DataFrame(parts), "shops": shops,
              "store_kpis": store_kpi_table(kpis, locale), "cs_kpis": cs_kpi_table(cs_kpis, locale)}
    return {name: _displayed(frame) for name, frame in tables.items()}


def store_kpi_table(kpis: pd.DataFrame, locale: str | None = None, money=None, ratio=None, stat=None) -> pd.DataFrame:
    """The store KPIs under localised headings. ``money``/``ratio``/``stat`` turn fen, ratios and
    scores into cells: exact yuan and 4-place ratios for the .xlsx by default; for text,
    :func:`shopops.i18n.yuan`, :func:`~shopops.i18n.percent` and :func:`~shopops.i18n.number`."""
    money, ratio, stat = money or yuan, ratio or _ratio, stat or _ratio
    return pd.DataFrame({
        t("st_shop", locale): kpis["shop_id"],
        t("st_revenue", locale): kpis["revenue_minor"].map(money),
        t("st_orders", locale): kpis["orders"],
        t("st_aov", locale): kpis["average_order_value_minor"].map(money),
        t("st_visitors", locale): kpis["visitors"],
        t("st_conversion_rate", locale): kpis["conversion_rate"].map(ratio),
        **{t(f"st_{r}", locale): kpis[r].map(ratio) for r in ("refund_rate", "repeat_purchase_rate")},
        t("st_new_buyers", locale): kpis["new_buyers"],
        t("st_new_customer_cost", locale): kpis["new_customer_cost_minor"].map(money),
        t("st_on_time_shipment_share", locale): kpis["on_time_shipment_share"].map(ratio),
        t("st_oversell_count", locale): kpis["oversell_count"],
        t("st_gross_margin", locale): kpis["gross_margin"].map(ratio),
        t("st_roi", locale): kpis["roi"].map(stat),
        t("st_dsr", locale): kpis["dsr"].map(stat),
    })


def cs_kpi_table(cs_kpis: pd.DataFrame, locale: str | None = None, money=None, ratio=None, stat=None) -> pd.DataFrame:
    """The customer-service KPIs under localised headings (cells as in :func:`store_kpi_table`)."""
    money, ratio, stat = money or yuan, ratio or _ratio, stat or (lambda v: v)
    return pd.DataFrame({
        t("st_person_id", locale): cs_kpis["person_id"], t("st_name", locale): cs_kpis["name"],
        t("st_conversations", locale): cs_kpis["conversations"],
        t("st_avg_response_s", locale): cs_kpis["avg_response_s"].map(stat),
        t("st_cs_conversion_rate", locale): cs_kpis["conversion_rate"].map(ratio),
        t("st_attributed_sales", locale): cs_kpis["attributed_sales_minor"].map(money),
        t("st_target", locale): cs_kpis["target_minor"].map(money),
        t("st_achievement", locale): cs_kpis["achievement"].map(ratio),
    })


def component_basis(component: Component, locale: str | None = None) -> str | None:
    """What a component was measured on, in words: a gross margin's basis (attributed cost, or
    the shops' margin when the customer-service stats give no cost), a profitability's ratio."""
    if component.target_ratio is not None:
        return t("st_basis_profitability", locale, ratio=_plain_ratio(component.target_ratio))
    if component.basis:
        return "; ".join(t(f"st_basis_{b}", locale) for b in component.basis)
    return None


def statement_notes(settlement: Settlement, rules: SettlementRules, locale: str | None = None) -> list[str]:
    """The statement's sentences on how margin and profitability were measured (§5): the margin
    basis of each customer-service person, and the per-shop profitability target ratios."""
    notes = [t("st_note_margin_basis", locale, person=line.person_id, name=line.name,
               basis=component_basis(c, locale)) for line in settlement.lines for c in line.components
             if c.name == "gross_margin" and c.basis]
    if any(c.name == "profitability" for line in settlement.lines for c in line.components):
        default = _plain_ratio(rules.profitability_target_ratio)
        overrides = ", ".join(f"{shop} {_plain_ratio(r)}" for shop, r in rules.profitability_target_ratio_by_shop.items())
        ratios = (t("st_note_ratio_overrides", locale, ratio=default, overrides=overrides) if overrides
                  else t("st_note_default_ratio", locale, ratio=default))
        notes.append(t("st_note_profitability", locale, ratios=ratios))
    return notes


def _plain_ratio(value: Decimal) -> str:
    """A ratio as the statement writes it: at most 4 places, no trailing zeros (1.5, 1.3714)."""
    return format(shown(value).normalize(), "f")


def _displayed(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimals (already rounded: 2 places for yuan, 4 for ratios) become plain numbers for
    the .xlsx cells and the JSON of the artifact; the shortest float repr gives back the same
    digits, and every computation was done before, exactly, in Decimal."""
    return frame.map(lambda v: float(v) if isinstance(v, Decimal) else v) if not frame.empty else frame


def to_display_minor(amount: Decimal) -> Decimal:
    """A component's sum in fen (may hold a fraction from a share) rounded half-up for display."""
    return Decimal(to_fen(amount))


# --- stored versions: show and diff (the `shopops settle show|diff` commands) ------------------

def _stored_side(engine, version: SettlementVersion) -> dict:
    """A stored version as :func:`domain.settlement.diff_versions` compares it."""
    inputs, _ = repository.settlement_documents(engine, version.id)
    lines = repository.read_settlement_lines(engine, version.id)
    return dict(inputs=inputs, lines={r.person_id: line_figures(r.revenue_minor, r.coefficient, r.commission_minor,
                                                                r.annual_bonus_minor, r.components)
                                      for r in lines.itertuples()})


def diff_stored_versions(database_url: str, month: str, preset: str, v1: int, v2: int) -> list[Change]:
    """Every input row and person's figure that differs between versions ``v1`` and ``v2``."""
    engine = make_engine(database_url)
    try:
        before, after = (repository.settlement_version(engine, month, preset, v) for v in (v1, v2))
        return diff_versions(_stored_side(engine, before), _stored_side(engine, after))
    finally:
        engine.dispose()


def describe_version(database_url: str, month: str, preset: str, version: int | None = None,
                     locale: str | None = None) -> str:
    """A stored version as text: who decided what, each person's figures, the store KPIs."""
    engine = make_engine(database_url)
    try:
        stored = repository.settlement_version(engine, month, preset, version)
        lines = repository.read_settlement_lines(engine, stored.id)
        _, kpis = repository.settlement_documents(engine, stored.id)
        others = repository.settlement_versions(engine, month, preset)
    finally:
        engine.dispose()
    text = [t("st_summary", locale, month=month, preset=preset, version=stored.version,
              status=t(f"st_status_{stored.status}", locale), sha=stored.inputs_sha256).replace("*", "")]
    if stored.approved_at:
        text.append(t("st_approved", locale, month=month, version=stored.version, by=stored.approved_by)
                    + f" ({when(stored.approved_at)})")
    if stored.note:
        text.append(t("st_previous_note", locale, note=stored.note))
    text.append(t("st_versions", locale, versions=", ".join(
        f"{v.version} {t(f'st_status_{v.status}', locale)}" for v in reversed(others))))
    # for reading: yuan with separators, ratios as percentages, statistics rounded, empty for
    # nothing (issue 23 #3); commission right after who it is (#4)
    people = pd.DataFrame({
        t("st_person_id", locale): lines["person_id"],
        t("st_role", locale): lines["role"].map(lambda r: t(f"st_role_{r}", locale)),
        t("st_commission", locale): lines["commission_minor"].map(money_text),
        t("st_revenue", locale): lines["revenue_minor"].map(money_text),
        t("st_coefficient", locale): [number_text(c, 4) if parts else ""
                                      for c, parts in zip(lines["coefficient"], lines["components"])],
        t("st_annual_bonus", locale): lines["annual_bonus_minor"].map(money_text),
        t("st_flags", locale): lines["flags"].map(lambda flags: "; ".join(
            t(f["key"], locale, **f["values"]) if f.get("key") in MESSAGES else f["detail"] for f in flags or [])),
    })
    text += ["", people.to_string(index=False)]
    readable = dict(money=money_text, ratio=percent, stat=number_text)
    if kpis and kpis.get("store_kpis"):
        text += ["", t("st_kpis_heading", locale),
                 store_kpi_table(pd.DataFrame(kpis["store_kpis"]), locale, **readable).to_string(index=False)]
    if kpis and kpis.get("cs_kpis"):
        text += ["", cs_kpi_table(pd.DataFrame(kpis["cs_kpis"]), locale, **readable).to_string(index=False)]
    return "\n".join(text)
