"""Flow ``monthly-settlement`` (02:00 on the 2nd of each month, Asia/Shanghai): the month's KPI
and commission settlement (domain-rules.md §5), approved by a person in the Prefect UI.

Runbook
    1. Finance and the operations manager put the month's five files in
       ``<data_dir>/settlement/<YYYY-MM>/``: roster, targets, expenses, cs_stats,
       shop_channels (.csv or .xlsx; columns in ``domain/settlement_inputs.py``). A missing or
       wrong file fails the run with file, row and reason; fix it and run again.
    2. The run reads the month's sales from the warehouse (orders placed in the month, their
       refunds, late refunds of earlier months, cost of goods), the coefficients of earlier
       final settlements (for the low-coefficient flags), settles, and stores a **version**
       with the SHA-256 of every input. Same inputs → same hash → no second version: a rerun
       reuses the newest version, and when that one is already final it only says so.
    3. The statement (people, components, shops with the clawback column, store KPIs) is an
       artifact (key ``settlement-<month>``) and an .xlsx.
    4. Unless ``dry_run``, the run asks for a decision and **suspends**: it stops, holding no
       process, and survives any restart of the worker, the server or the machine. In the UI
       open the run (state *Suspended*), press *Resume* and fill in the form (approve / request
       a correction, note, your name — required and stored). Or on a terminal:
       ``shopops settle approve MONTH --by NAME`` / ``shopops settle correct MONTH --by NAME
       --note …`` (it records the decision and resumes the run). The worker then runs the
       flow again from the top; it finds the version this run asked about and records the
       decision (nothing is recomputed). Approve → the version is final, the month's previous
       final version superseded. Correction → the note is stored, the version is
       ``correction_requested``; correct the input files and run again (a new version is made
       because the inputs changed). A run that has no deployment (the CLI's ``shopops settle``,
       a test) cannot be suspended: it completes with the version awaiting approval and says
       which command decides it.
    5. A final version is never changed. A run of a final month with the same inputs says so
       and stops; with different inputs it is refused (the message says why and what to do)
       unless ``correct_final`` is set: then it makes a new version that needs its own approval.

A second run while the first waits (decided here)
    A run for the same month, preset and inputs while another run is still asking for approval
    of that version (its run Suspended, or not yet suspended) does **not** ask again: it publishes the
    same statement, says which run to answer, and completes — one version, one form, one
    decision. This is what a manager expects when the schedule or a colleague starts the month
    again: the pending question stays where it is. Only when the asking run has ended (timed
    out, failed, cancelled) does a rerun take the question over and pause itself. A run with
    *different* inputs makes a new version and asks about that one; the earlier form stays open
    until someone answers it (requesting a correction there is the expected answer).

The wait (decided here)
    §5 says "confirmation by the 15th". The suspension lasts until the end of the 15th of the month
    after the settled one (Asia/Shanghai) — 13 days 22 hours for the scheduled run — and at
    least ``settlement.min_approval_hours`` (72 h) for a run started later (a correction after the
    15th). ``suspend_flow_run`` is used, not ``pause_flow_run``: a pause keeps the run's Python
    process alive for those days and any stop or reboot killed it (the manager then pressed
    Resume and the run stayed Running forever). When the time passes without a decision the
    server fails the run ("never resumed") — so the failed-run notification reaches a person —
    and the version stays ``awaiting_approval`` (nothing is final): running the flow again for
    the month with the same inputs reuses that version and asks again, and ``shopops settle
    approve`` still decides it.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import deployment, flow_run
from pydantic import ConfigDict, Field

from flows import readable_run_name
from config.schema import load_config
from config.settings import get_settings
from domain.settlement import (SettlementRules, closes_fiscal_year, customer_service_kpis, fiscal_year_months,
                               inputs_snapshot, plan_from_config, settle_month, store_kpis)
from shopops.i18n import label, localise_schema, t, when, yuan as money_text
from shopops.logmask import install_log_masking
from tasks.reporting import publish_report
from tasks.settlement import (check_month_ended, check_month_has_orders, kpi_document, load_earlier_coefficients,
                              load_month_sales, load_settlement_inputs, mark_awaiting_approval, record_decision_task,
                              run_still_asking, statement_notes, statement_tables, store_settlement_version,
                              unattributed_shops, version_asked_in_run)

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
#: earlier months whose final coefficients feed the low-coefficient flags (longest run shown: a year)
COEFFICIENT_HISTORY_MONTHS = 12


class ApprovalForm(RunInput):
    """The form the Prefect UI shows on *Resume*; its titles and help in the reader's language
    (``form_approval_*``), said when the form is asked."""

    model_config = ConfigDict(json_schema_extra=lambda schema, _: localise_schema(schema, "approval"))

    decision: Literal["approve", "request_correction"] = Field(
        description="approve: the settlement becomes final. request_correction: it is not paid; say why in the note.")
    note: str = Field(default="", description="What must be corrected (or a remark on the approval).")
    reviewer: str = Field(min_length=1, pattern=r"\S", description="Your name (required): stored with the decision.")


def shift_month(month: str, by: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def previous_month(now: datetime, zone: str) -> str:
    local = now.astimezone(ZoneInfo(zone))
    return shift_month(f"{local.year:04d}-{local.month:02d}", -1)


def approval_deadline(month: str, zone: str, confirmation_day: int) -> datetime:
    """End of the confirmation day of the month after ``month`` (aware, in ``zone``);
    §5: "confirmation by the 15th" (rules.yaml settlement.confirmation_day)."""
    following = shift_month(month, 1)
    return datetime(int(following[:4]), int(following[5:]), confirmation_day, tzinfo=ZoneInfo(zone)) + timedelta(days=1)


def approval_timeout(month: str, zone: str, now: datetime, confirmation_day: int,
                     min_window: timedelta) -> tuple[int, datetime]:
    """(seconds to wait, until when): to the deadline, but at least ``min_window``
    (rules.yaml settlement.min_approval_hours) for a run started near or after it."""
    until = max(approval_deadline(month, zone, confirmation_day), now + min_window)
    return int((until - now).total_seconds()), until.astimezone(ZoneInfo(zone))


@flow(name="monthly-settlement", flow_run_name=readable_run_name)
def monthly_settlement(month: str | None = None, preset: str | None = None, dry_run: bool = False,
                       inputs_dir: str | None = None, correct_final: bool = False, allow_no_orders: bool = False) -> dict:
    """Settle a month's KPI coefficients and commissions, publish the statement, and (unless
    ``dry_run``) wait for a person to approve it or request a correction in the UI.

    Args:
        month: 'YYYY-MM'; empty means the previous month in Asia/Shanghai.
        preset: a preset of config/rules.yaml settlement.presets; empty means its default_preset.
        dry_run: compute, store a draft version and publish, without asking for approval.
        inputs_dir: folder with roster, targets, expenses, cs_stats, shop_channels (.csv or .xlsx);
            empty means <data_dir>/settlement/<month>/.
        correct_final: allow a new version of a month whose settlement is already final (a
            correction of approved figures); without it such a run is refused.
        allow_no_orders: settle a month in which the warehouse has no order placed (refused
            otherwise: usually the pull did not run).
    """
    install_log_masking()  # before anything is logged
    logger = get_run_logger()
    config, settings = load_config(), get_settings()
    zone = config.rules.orders.default_timezone
    now = datetime.now(timezone.utc)
    month = month or previous_month(now, zone)
    if not MONTH.match(month):
        raise ValueError(f"month {month!r} is not written YYYY-MM (e.g. 2026-10)")
    check_month_ended(month, zone, now)
    rules_config = config.rules.settlement
    preset = preset or rules_config.default_preset
    if preset not in rules_config.presets:
        raise ValueError(f"preset {preset!r} is not in config/rules.yaml settlement.presets "
                         f"(known: {', '.join(sorted(rules_config.presets))})")
    folder = Path(inputs_dir) if inputs_dir else settings.data_dir / "settlement" / month
    url = settings.warehouse_url
    run_id = str(flow_run.id) if flow_run.id else None
    asked = version_asked_in_run(url, run_id)
    if asked is not None:  # this run suspended to ask about ``asked`` and was resumed: the answer, nothing recomputed
        return _record_the_answer(url, asked)

    inputs = load_settlement_inputs(folder)
    rules = SettlementRules.from_config(rules_config)
    plan = plan_from_config(preset, rules_config.presets[preset])
    months = (fiscal_year_months(month, rules.fiscal_year_start_month)
              if closes_fiscal_year(month, rules.fiscal_year_start_month) else (month,))
    sales = load_month_sales(url, month, months, zone)
    check_month_has_orders(month, sales, allow_no_orders)
    nobodys = unattributed_shops(month, inputs, sales.sales)
    for shop, amount in nobodys:
        logger.warning(t("st_unattributed", shop=shop, amount=amount, month=month))
    earlier = load_earlier_coefficients(url, preset, tuple(shift_month(month, -i)
                                                           for i in range(1, COEFFICIENT_HISTORY_MONTHS + 1)))
    settlement = settle_month(month, inputs, sales.sales, rules, plan, earlier)
    kpis = store_kpis(month, settlement.shops, sales.kpi_orders, inputs.expenses, inputs.shop_stats)
    cs_kpis = customer_service_kpis(month, inputs)

    stored = store_settlement_version(url, settlement, inputs_snapshot(month, inputs, sales.sales, rules, plan, earlier),
                                      kpi_document(settlement, kpis, cs_kpis),
                                      status="draft" if dry_run else "awaiting_approval", flow_run_id=run_id,
                                      correct_final=correct_final)
    version = stored.version
    previous_note, asked_in = None, None
    if not dry_run and version.status in ("draft", "correction_requested", "awaiting_approval"):
        if version.status == "awaiting_approval" and run_still_asking(version.flow_run_id, run_id):
            asked_in = version.flow_run_id      # one question per version: answer it in that run
        elif version.flow_run_id != run_id or version.status != "awaiting_approval":
            previous_note = version.note if version.status == "correction_requested" else None
            version = mark_awaiting_approval(url, version.id, run_id)

    total = money_text(sum(line.commission_minor for line in settlement.lines))
    status_text = t(f"st_status_{version.status}")
    summary = [t("st_summary", month=month, preset=preset, version=version.version, status=status_text,
                 sha=settlement.inputs_sha256),
               t("st_totals", people=len(settlement.lines), total=total)]
    if not stored.created and version.status == "final":
        summary.append(t("st_already_final", version=version.version,
                         at=when(version.approved_at), by=version.approved_by))
    elif not stored.created:
        summary.append(t("st_same_inputs", version=version.version, status=t(f"st_status_{stored.version.status}")))
    else:
        summary.append(t("st_new_version"))
    if previous_note:
        summary.append(t("st_previous_note", note=previous_note))
    if nobodys:
        summary.append(f"### {t('needs_person')}\n" + "\n".join(
            f"- {t('st_unattributed', shop=shop, amount=amount, month=month)}" for shop, amount in nobodys))
    flagged = [f"{line.person_id} {line.name}: {f.detail}" for line in settlement.lines for f in line.flags]
    if flagged:
        summary.append(f"### {t('st_for_review')}\n" + "\n".join(f"- {x}" for x in flagged))
    if not sales.other_currencies.empty:
        items = ", ".join(f"{r.shop_id} {r.month} {r.currency} {money_text(r.placed_minor)}"
                          for r in sales.other_currencies.itertuples())
        summary.append(t("st_other_currency", items=items))
    summary += statement_notes(settlement, rules)
    if sales.units_without_cost:
        summary.append(t("st_units_without_cost", n=sales.units_without_cost))
    deadline = None
    if dry_run:
        summary.append(t("st_dry_run"))
    elif asked_in:
        summary.append(t("st_asked_elsewhere", version=version.version, run=asked_in))
    elif version.status != "final" and not deployment.id:
        summary.append(t("st_decide_on_terminal", month=month, version=version.version))
    elif version.status != "final":
        rules = config.rules.settlement
        timeout, deadline = approval_timeout(month, zone, now, rules.confirmation_day,
                                             timedelta(hours=rules.min_approval_hours))
        summary.append(t("st_awaiting", deadline=when(deadline), month=month))
    family = f"settlement-{month}"
    report = publish_report(family=family, title=t("st_title", month=month, preset=preset, version=version.version,
                                                   status=status_text),
                            tables=statement_tables(settlement, kpis, cs_kpis), summary_md="\n\n".join(summary),
                            edition=f"v{version.version}")   # a version's statement is never replaced by the next
    result = dict(month=month, preset=preset, version=version.version, settlement_id=version.id,
                  inputs_sha256=settlement.inputs_sha256, created=stored.created, status=version.status,
                  commission_total_minor=sum(line.commission_minor for line in settlement.lines),
                  xlsx=str(report.xlsx_path), artifact_key=report.artifact_key, waiting_in=asked_in,
                  unattributed=[t("st_unattributed", shop=shop, amount=amount, month=month) for shop, amount in nobodys])
    logger.info(t("st_log_version", month=month, preset=preset, version=version.version,
                  status=label("settlement_status", version.status),
                  stored=t("st_new_version") if stored.created else t("st_same_inputs", version=version.version,
                                                                      status=label("settlement_status", version.status))))
    if dry_run or version.status == "final" or asked_in:
        return result
    if not deployment.id:
        # only a deployment's run can be suspended (its worker runs it again on Resume): the version
        # waits in the warehouse, decided with `shopops settle approve/correct`
        message = t("st_decide_on_terminal", month=month, version=version.version)
        create_markdown_artifact(markdown=message, key=f"{family}-decision", description=message)
        logger.info(message)
        return result | dict(decide_with=message)

    form = ApprovalForm.with_initial_data(
        description=t("st_form", month=month, version=version.version, preset=preset, people=len(settlement.lines),
                      total=total, file=report.xlsx_path.name, artifact=report.artifact_key))
    # the run stops here (Suspended, no process held); Resume runs the flow again from the top
    suspend_flow_run(wait_for_input=form, timeout=timeout, key=approval_key(version.id))
    raise RuntimeError("suspend_flow_run returned on the asking run")  # pragma: no cover - Prefect exits above


def approval_key(settlement_id: int) -> str:
    """The suspension's key: one question per version (Prefect refuses a second suspension with it)."""
    return f"approval-{settlement_id}"


def _record_the_answer(url: str, version) -> dict:
    """The resumed run: the form's answer recorded on the version this run asked about. When the
    version was decided meanwhile on a terminal (`shopops settle approve/correct`, which then
    resumes this run), that decision stands and is reported."""
    logger = get_run_logger()
    if version.status == "awaiting_approval":
        answer = suspend_flow_run(wait_for_input=ApprovalForm, key=approval_key(version.id))  # already given: returned
        note = answer.note.strip() or ("" if answer.decision == "approve" else "(no note given)")
        decided = record_decision_task(url, version.id, answer.decision, note, answer.reviewer.strip())
    else:
        decided = version
    if decided.status == "final":
        message, decision = t("st_approved", month=decided.month, version=decided.version, by=decided.approved_by), "approve"
    else:
        message, decision = t("st_correction", month=decided.month, version=decided.version, note=decided.note), \
            "request_correction"
    create_markdown_artifact(markdown=message, key=f"settlement-{decided.month}-decision", description=message)
    logger.info(message)
    return dict(month=decided.month, preset=decided.preset, version=decided.version, settlement_id=decided.id,
                inputs_sha256=decided.inputs_sha256, created=False, status=decided.status, decision=decision,
                note=decided.note, waiting_in=None, unattributed=[], xlsx=None)

if __name__ == "__main__":
    monthly_settlement()
