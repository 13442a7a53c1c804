"""Flow ``pull-orders``: every enabled shop's new and changed orders into the warehouse.

Runbook (domain-rules.md §1): for each shop, pull ``[watermark − lookback, now − safety
lag]`` through its connector, keep every raw page, quarantine invalid orders with their
reasons, upsert the rest (newest ``modified`` wins), move the watermark only once the data
is committed; then report what happened and what needs a person.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from flows import readable_run_name
from config.schema import AppConfig, ConfigError, load_config
from config.settings import get_settings
from shopops.i18n import label, labelled, say, t, when
from shopops.logmask import install_log_masking, mask_line
from shopops.notifications import EVENT_INCOMPLETE_PULL, EVENT_QUARANTINE_SPIKE, emit
from tasks.ingest import ShopPullError, ShopPullResult, ingest_shop
from tasks.reporting import publish_report
from warehouse import repository
from warehouse.db import make_engine


def _shop_concurrency() -> int:
    """Shops pulled at once (rules.yaml orders.shop_concurrency), read when the flow loads."""
    try:
        return load_config().rules.orders.shop_concurrency
    except ConfigError:
        return 3  # the flow itself then stops on the bad configuration with the message


@task(name="sync-shops", cache_policy=NO_CACHE)
def sync_shops(config: AppConfig, database_url: str) -> None:
    """The warehouse's shop table follows shops.yaml (removed shops are disabled, not deleted)."""
    engine = make_engine(database_url)
    try:
        repository.sync_shops(engine, config.shops)
    finally:
        engine.dispose()


def run_report(results: list[ShopPullResult], locale: str | None = None) -> tuple[pd.DataFrame, str]:
    """The per-shop table and the 'needs a person' summary of one run."""
    columns = ["shop_id", "platform", "status", "window_start", "window_end", "pages", "orders_expected",
               "orders_captured", "incomplete_windows", "orders_new", "orders_updated", "orders_unchanged",
               "quarantined", "late_updates", "retries", "throttle_waits", "duration_s", "error", "top_reasons"]
    table = pd.DataFrame([r.as_row() for r in results], columns=columns)
    table = labelled(table, locale, status="pull_status", platform="platform")
    table["error"] = table["error"].map(lambda e: say(e, locale) if e else e)
    table["top_reasons"] = [_reasons_text(r, locale) for r in results]
    table = table.rename(columns={c: t(f"col_{c}", locale) for c in columns})
    todo = []
    for r in results:
        if r.status == "failed":
            todo.append(t("todo_failed", locale, shop=r.shop_id, error=say(r.error, locale)))
        elif r.status == "incomplete":
            todo.append(t("todo_incomplete", locale, shop=r.shop_id, error=say(r.error, locale)))
        elif r.status == "skipped":
            todo.append(t("todo_skipped_why", locale, shop=r.shop_id, why=say(r.error, locale)))
        if r.quarantined:
            todo.append(t("todo_quarantined", locale, shop=r.shop_id, n=r.quarantined,
                          reasons=_reasons_text(r, locale)))
    totals = t("pull_totals", locale, shops=len(results), new=sum(r.orders_new for r in results),
               updated=sum(r.orders_updated for r in results), quarantined=sum(r.quarantined for r in results))
    summary = totals + "\n\n" + (f"### {t('needs_person', locale)}\n" + "\n".join(f"- {x}" for x in todo)
                                 if todo else t("nothing_to_do", locale))
    return table, summary


def _reasons_text(result: ShopPullResult, locale: str | None = None) -> str:
    """The shop's main quarantine reasons in words, each with its count."""
    return "; ".join(f"{label('quarantine_reason', k, locale)} ×{v}" for k, v in result.top_reasons.items())


def backfill_refusal(since: datetime | None, until: datetime | None, now: datetime | None = None,
                     locale: str | None = None) -> str | None:
    """Why a backfill window cannot be pulled (a ``since`` in the future or not before
    ``until``), in the person's language; None when it can."""
    now = now or datetime.now(timezone.utc)
    if since is None:
        return None
    if since > now:
        return t("backfill_since_future", locale, since=when(since), now=when(now))
    if until is not None and since >= until:
        return t("backfill_since_after_until", locale, since=when(since), until=when(until))
    return None


def _shop_result(future, shop) -> ShopPullResult:
    """The shop's row of the report, also when its task failed (``ShopPullError`` carries the
    row with its error redacted; anything else is reported by type and masked message)."""
    try:
        return future.result()
    except ShopPullError as exc:
        return exc.result
    except Exception as exc:  # noqa: BLE001 - reported as this shop's failure
        return ShopPullResult(shop_id=shop.id, platform=shop.platform, status="failed",
                              error=mask_line(f"{type(exc).__name__}: {exc}")[:2000]
                              + " (unexpected; the run's log has the traceback)")


@flow(name="pull-orders", flow_run_name=readable_run_name, task_runner=ThreadPoolTaskRunner(max_workers=_shop_concurrency()))
def pull_orders(shops: list[str] | None = None, since: datetime | None = None,
                until: datetime | None = None) -> list[dict]:
    """Pull every enabled shop (or ``shops``); ``since``/``until`` backfill a past window.

    Args:
        shops: shop ids from config/shops.yaml; empty means every enabled shop.
        since: backfill start (UTC); empty means from the shop's watermark minus lookback.
        until: backfill end (UTC); empty means now minus the safety lag.
    """
    install_log_masking()  # before anything is logged: secrets and phones never reach the server
    logger = get_run_logger()
    config = load_config()
    url = get_settings().warehouse_url
    known = {s.id for s in config.shops}
    unknown = sorted(set(shops or []) - known)
    if unknown:
        raise ValueError(t("pull_unknown_shops", shops=", ".join(unknown), known=", ".join(sorted(known))))
    refusal = backfill_refusal(since, until)
    if refusal:
        logger.error(refusal)
        return Failed(message=refusal)
    targets = [s.id for s in config.shops if s.enabled and (not shops or s.id in shops)]
    sync_shops(config, url)
    owner = flow_run.id or f"local-{uuid.uuid4()}"
    futures = [ingest_shop.submit(config, shop_id, url, since, until, owner) for shop_id in targets]
    # one shop's unexpected error fails that shop (its task shows Failed), never the others' report
    results: list[ShopPullResult] = [_shop_result(future, config.shop(shop_id))
                                     for future, shop_id in zip(futures, targets)]

    table, summary = run_report(results)
    publish_report(family="pull-orders", title=t("pull_report_title"), tables={"shops": table}, summary_md=summary)
    spike_share = config.rules.orders.quarantine_spike_share
    for r in results:
        if r.orders_seen and r.quarantined / r.orders_seen > spike_share:
            emit(EVENT_QUARANTINE_SPIKE, f"shopops.shop.{r.shop_id}",
                 t("todo_quarantined", shop=r.shop_id, n=r.quarantined, reasons=_reasons_text(r)),
                 shop_id=r.shop_id, quarantined=r.quarantined, orders=r.orders_seen)
    incomplete = [r for r in results if r.status == "incomplete"]
    for r in incomplete:   # fewer orders than the platform counts: a person must know, the run fails
        emit(EVENT_INCOMPLETE_PULL, f"shopops.shop.{r.shop_id}", t("todo_incomplete", shop=r.shop_id, error=say(r.error)),
             shop_id=r.shop_id, expected=r.orders_expected, captured=r.orders_captured,
             incomplete_windows=r.incomplete_windows)
    failed = [r for r in results if r.status == "failed"]
    logger.info(t("pull_log_done", n=len(results), ok=sum(r.status == "ok" for r in results), incomplete=len(incomplete),
                  skipped=sum(r.status == "skipped" for r in results), failed=len(failed)))
    if failed or incomplete:
        return Failed(message="; ".join(
            ([t("pull_failed", shops=", ".join(r.shop_id for r in failed))] if failed else [])
            + ([t("pull_incomplete", shops=", ".join(r.shop_id for r in incomplete))] if incomplete else [])))
    return [r.as_row() for r in results]


if __name__ == "__main__":
    pull_orders()
