"""Flow ``check-warehouse``: migrate the warehouse and report what it holds.

The first thing operations staff see in the UI after `make demo`, and a daily health check:
the schema revision, the rows per table, a check of the configuration, and the shops whose
access token expires within ``orders.token_expiry_warning_days`` (config/rules.yaml).
"""
from __future__ import annotations

import pandas as pd
from prefect import flow, get_run_logger

from flows import readable_run_name
from config.schema import load_config
from shopops.i18n import t
from shopops.logmask import install_log_masking
from tasks.reporting import publish_report
from tasks.secrets import expiring_tokens
from tasks.warehouse import count_warehouse_rows, migrate_warehouse


@flow(name="check-warehouse", flow_run_name=readable_run_name, log_prints=False)
def check_warehouse() -> dict[str, int]:
    """Migrate to the newest schema, count rows per table, publish the report."""
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()  # a bad configuration fails the run with the file and key named
    revision = migrate_warehouse()
    counts = count_warehouse_rows()
    logger.info(t("wh_log_done", revision=revision, tables=len(counts), shops=len(config.shops)))
    table = counts.rename(columns={"table": t("table"), "rows": t("rows")})
    tokens = expiring_tokens(config.shops, config.rules.orders.token_expiry_warning_days)
    summary = f"{t('revision')}: `{revision}`"
    if tokens:   # access tokens about to end (or ended, or of unknown end): a person must renew them
        summary += f"\n\n### {t('needs_person')}\n" + "\n".join(f"- {x.message}" for x in tokens)
    token_table = pd.DataFrame({t("tok_col_shop"): [x.shop_id for x in tokens],
                                t("tok_col_expires_at"): pd.to_datetime([x.expires_at for x in tokens], utc=True),
                                t("tok_col_days_left"): [x.days_left for x in tokens]})
    publish_report(
        family="warehouse-check",
        title=t("warehouse_report_title"),
        tables={"tables": table, "tokens": token_table},
        summary_md=summary,
    )
    return dict(zip(counts["table"], counts["rows"]))


if __name__ == "__main__":
    check_warehouse()
