"""Flow ``check-warehouse``: migrate the warehouse and report what it holds.

The first thing operations staff see in the UI after `make demo`, and a daily health check:
the schema revision, the rows per table, and a check of the configuration.
"""
from __future__ import annotations

from prefect import flow, get_run_logger

from config.schema import load_config
from shopops.i18n import t
from shopops.logmask import install_log_masking
from tasks.reporting import publish_report
from tasks.warehouse import count_warehouse_rows, migrate_warehouse


@flow(name="check-warehouse", log_prints=False)
def check_warehouse() -> dict[str, int]:
    """Migrate to the newest schema, count rows per table, publish the report."""
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()  # a bad configuration fails the run with the file and key named
    revision = migrate_warehouse()
    counts = count_warehouse_rows()
    logger.info("warehouse at revision %s, %d tables, %d shops configured",
                revision, len(counts), len(config.shops))
    table = counts.rename(columns={"table": t("table"), "rows": t("rows")})
    publish_report(
        family="warehouse-check",
        title=t("warehouse_report_title"),
        tables={"tables": table},
        summary_md=f"{t('revision')}: `{revision}`",
    )
    return dict(zip(counts["table"], counts["rows"]))


if __name__ == "__main__":
    check_warehouse()
