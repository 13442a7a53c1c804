"""watchdog: every 15 minutes, what has gone quiet that should not have (issue 19 #19).

Runbook: read the warehouse — each shop's watermark against the pull cadence, the batches
still in the warehouse, the stock pushes of the last hours, the settlements waiting for a
manager — and the runs the Prefect server holds as Running; publish what needs a person and
emit one ``shopops.watchdog`` event per finding (the team's webhook gets it after
``shopops notify setup``). It changes nothing.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from flows import readable_run_name
from config.schema import load_config
from config.settings import get_settings
from shopops.i18n import count_line, label, t
from shopops.logmask import install_log_masking
from shopops.notifications import EVENT_WATCHDOG, emit
from tasks.reporting import publish_report
from tasks.watchdog import watchdog_findings


@flow(name="watchdog", flow_run_name=readable_run_name)
def watchdog(now: datetime | None = None) -> dict[str, int]:
    """Look for business staleness and say what needs a person.

    Args:
        now: the moment to judge at (UTC); empty means now.
    """
    install_log_masking()
    logger = get_run_logger()
    config = load_config()
    now = now or datetime.now(timezone.utc)
    found = watchdog_findings(config, get_settings().warehouse_url, now, flow_run.id)
    lines = [t("wd_shop_never" if f.kind == "shop_stale" and f.detail["minutes"] is None else f"wd_{f.kind}",
               subject=f.subject, **(f.detail | ({"status": label("batch_status", f.detail["status"])}
                                                 if "status" in f.detail else {}))) for f in found]
    table = pd.DataFrame([{t("wd_col_kind"): label("watchdog_kind", f.kind), t("wd_col_subject"): f.subject,
                           t("wd_col_what"): line} for f, line in zip(found, lines)],
                         columns=[t("wd_col_kind"), t("wd_col_subject"), t("wd_col_what")])
    summary = (f"### {t('needs_person')}\n" + "\n".join(f"- {line}" for line in lines)) if lines else t("wd_all_well")
    publish_report(family="watchdog", title=t("wd_title"), tables={"findings": table}, summary_md=summary)
    for finding, line in zip(found, lines):
        emit(EVENT_WATCHDOG, f"shopops.watchdog.{finding.kind}.{finding.subject}", line, kind=finding.kind)
    counts = {kind: sum(f.kind == kind for f in found) for kind in
              ("shop_stale", "batch_past_cutoff", "push_failing", "approval_due", "run_stuck")}
    logger.info(count_line(counts))
    return counts


if __name__ == "__main__":
    watchdog()
