"""The ``shopops`` command. Each verb is a few lines that call the layer below.

Every command except ``config check`` first loads the configuration, so a bad file stops
the program at start with the file, key and problem named.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from config.schema import ConfigError, load_config
from config.settings import get_settings
from shopops.as_of import AS_OF_HELP, as_of_option
from shopops.cli_batch import batch_app
from shopops.cli_errors import ShopopsGroup
from shopops.cli_promo import promo_app
from shopops.i18n import count_line, label, say, t, translator, when
from shopops.prefect_api import require_prefect
from shopops.cli_help import cli_help

#: ``ShopopsGroup`` turns any error that leaves a command into one message and an exit code
app = typer.Typer(cls=ShopopsGroup, help=cli_help("help_app"),
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help=cli_help("help_db"), no_args_is_help=True)
config_app = typer.Typer(help=cli_help("help_config"), no_args_is_help=True)
quarantine_app = typer.Typer(help=cli_help("help_quarantine"), no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(promo_app, name="promo")
app.add_typer(batch_app, name="batch")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.callback()
def _start(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand == "config":
        return  # `config check` reports problems itself
    load_config()  # a ConfigError (or a bad SHOPOPS_* setting) is explained by ShopopsGroup


@config_app.command("check", help=cli_help("help_config_check"))
def config_check(config_dir: Optional[Path] = typer.Option(None, help=cli_help("help_config_check_dir"))) -> None:
    """Validate shops.yaml, suppliers.yaml, rules.yaml and promotions/*.yaml."""
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)   # the same words as every other command (SHOPOPS_LOCALE)
        raise typer.Exit(2) from None
    typer.echo(t("config_ok", shops=len(config.shops), suppliers=len(config.suppliers),
                 promotions=len(config.promotions)))


@db_app.command("upgrade", help=cli_help("help_db_upgrade"))
def db_upgrade(revision: str = typer.Option("head", help=cli_help("help_db_upgrade_revision"))) -> None:
    """Create or migrate the warehouse schema (SQLite file by default; SHOPOPS_DATABASE_URL)."""
    from warehouse import migrate

    url = get_settings().warehouse_url
    try:
        migrate.upgrade(url, revision)
        current = migrate.current(url)
    except Exception as exc:  # noqa: BLE001 - shown to the operator with what to do
        typer.echo(t("db_unreachable", url=_safe_url(url), error=str(exc).splitlines()[0]), err=True)
        raise typer.Exit(1) from None
    typer.echo(t("db_upgraded", url=_safe_url(url), rev=current))


@db_app.command("downgrade", help=cli_help("help_db_downgrade"))
def db_downgrade(revision: str = typer.Option("-1", help=cli_help("help_db_downgrade_revision"))) -> None:
    """Undo migrations (``--revision base`` removes every table)."""
    from warehouse import migrate

    url = get_settings().warehouse_url
    try:
        migrate.downgrade(url, revision)
        current = migrate.current(url)
    except Exception as exc:  # noqa: BLE001
        typer.echo(t("db_unreachable", url=_safe_url(url), error=str(exc).splitlines()[0]), err=True)
        raise typer.Exit(1) from None
    typer.echo(t("db_downgraded", url=_safe_url(url), rev=current or "base"))


@db_app.command("current", help=cli_help("help_db_current"))
def db_current() -> None:
    """Print the warehouse's schema revision."""
    from warehouse import migrate

    url = get_settings().warehouse_url
    try:
        typer.echo(migrate.current(url) or "base")
    except Exception as exc:  # noqa: BLE001
        typer.echo(t("db_unreachable", url=_safe_url(url), error=str(exc).splitlines()[0]), err=True)
        raise typer.Exit(1) from None


@db_app.command("backup", help=cli_help("help_db_backup"))
def db_backup(file: Optional[Path] = typer.Argument(None, help=cli_help("help_db_backup_file"))) -> None:
    """Back the warehouse up while it runs (SQLite online backup; PostgreSQL pg_dump)."""
    from datetime import datetime, timezone

    from sqlalchemy.engine import make_url

    from warehouse.backup import BackupError, backup

    settings = get_settings()
    url = settings.warehouse_url
    if file is None:
        suffix = "sqlite" if make_url(url).get_backend_name() == "sqlite" else "dump"
        file = settings.data_dir / "backups" / f"warehouse-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.{suffix}"
    try:
        written = backup(url, file)
    except BackupError as exc:
        typer.echo(t("db_backup_failed", url=_safe_url(url), error=str(exc)), err=True)
        raise typer.Exit(1) from None
    typer.echo(t("db_backed_up", url=_safe_url(url), file=written, size=f"{written.stat().st_size / 1e6:.1f}"))


@db_app.command("restore", help=cli_help("help_db_restore"))
def db_restore(file: Path = typer.Argument(..., help=cli_help("help_db_restore_file")),
               yes: bool = typer.Option(False, "--yes", help=cli_help("help_db_restore_yes"))) -> None:
    """Replace the warehouse with a backup (stop the demo or the workers first)."""
    from warehouse.backup import BackupError, restore

    url = get_settings().warehouse_url
    if not yes and not typer.confirm(t("db_restore_confirm", url=_safe_url(url), file=file)):
        raise typer.Exit(1)
    try:
        restore(url, file)
    except BackupError as exc:
        typer.echo(t("db_restore_failed", url=_safe_url(url), error=str(exc)), err=True)
        raise typer.Exit(1) from None
    typer.echo(t("db_restored", url=_safe_url(url), file=file))


@app.command(help=cli_help("help_demo"))
def demo(stop: bool = typer.Option(False, "--stop", help=cli_help("help_demo_stop"))) -> None:
    """Start the local stack: warehouse, Prefect server + UI, deployments, worker, first runs."""
    from shopops.demo import run_demo, stop_running_demo

    settings = get_settings()
    code = stop_running_demo(settings) if stop else run_demo(settings, say=lambda m: typer.echo(m))
    raise typer.Exit(code)


def _parse_time(value: Optional[str], option: str) -> Optional["datetime"]:
    from datetime import datetime, timezone

    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a time; use ISO 8601, e.g. 2026-11-11T00:00:00+08:00",
                                 param_hint=option) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class _DefaultCommandGroup(typer.core.TyperGroup):
    """A group whose first word, when it is not one of its subcommands (or there is none), goes to
    ``default_command``: the group's own verb stays the short form of its main command."""

    default_command = ""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


class _IngestGroup(_DefaultCommandGroup):
    """``ingest --shop X`` is ``ingest pull --shop X``; ``ingest audit …`` and ``ingest rewind …``
    stay subcommands."""

    default_command = "pull"


ingest_app = typer.Typer(cls=_IngestGroup, help=cli_help("help_ingest"))
app.add_typer(ingest_app, name="ingest")


@ingest_app.command("pull", help=cli_help("help_ingest_pull"))
def ingest(shop: list[str] = typer.Option([], "--shop", help=cli_help("help_ingest_pull_shop")),
           since: Optional[str] = typer.Option(None, help=cli_help("help_ingest_pull_since")),
           until: Optional[str] = typer.Option(None, help=cli_help("help_ingest_pull_until"))) -> None:
    """Pull orders now: the same flow as the scheduled pull-orders deployment."""
    from flows.orders import backfill_refusal, pull_orders

    since_at, until_at = _parse_time(since, "--since"), _parse_time(until, "--until")
    refusal = backfill_refusal(since_at, until_at)
    if refusal:
        typer.echo(refusal, err=True)
        raise typer.Exit(2)
    require_prefect(get_settings())
    state = pull_orders(shops=shop or None, since=since_at, until=until_at, return_state=True)
    rows = state.result(raise_on_failure=False)
    if isinstance(rows, Exception):
        raise rows  # explained once by ShopopsGroup
    if isinstance(rows, list):
        for row in rows:
            typer.echo(t("cli_pull_row", shop=f"{row['shop_id']:<16}", status=label("pull_status", row["status"]),
                         new=f"{row['orders_new']:>7}", updated=f"{row['orders_updated']:>7}",
                         quarantined=f"{row['quarantined']:>5}"))
            if row["status"] == "skipped":   # a skipped shop always says why (who holds it, until when)
                typer.echo(f"  {t('todo_skipped_why', shop=row['shop_id'], why=say(row['error']))}")
    if not state.is_completed():
        typer.echo(state.message or t("cli_flow_failed", flow="pull-orders"), err=True)
        raise typer.Exit(1)


@ingest_app.command("audit", help=cli_help("help_ingest_audit"))
def ingest_audit(shop: str = typer.Option(..., "--shop", help=cli_help("help_opt_shop_id")),
                 days: int = typer.Option(7, "--days", min=1, help=cli_help("help_ingest_audit_days")),
                 until: Optional[str] = typer.Option(None, "--until",
                                                     help=cli_help("help_ingest_audit_until"))) -> None:
    """The platform's own order count per day against the warehouse's (orders by last modification)."""
    from tasks.ingest_audit import audit_shop

    config = load_config()
    until_at = _parse_time(until, "--until")
    rows = audit_shop(config, shop, get_settings().warehouse_url, days,
                      clock=(lambda: until_at) if until_at is not None else None)
    zone = config.shop(shop).timezone
    typer.echo(t("au_title", shop=shop))
    headers = [t("au_col_day", zone=zone), t("au_col_platform"), t("au_col_warehouse"), t("au_col_difference")]
    typer.echo("  ".join(f"{h:>16}" for h in headers))
    for row in rows:
        platform = t("au_no_count") if row.platform is None else str(row.platform)
        difference = "" if row.difference is None else f"{row.difference:+d}"
        typer.echo("  ".join(f"{v:>16}" for v in (row.day, platform, str(row.warehouse), difference)))
    typer.echo(t("au_counts_by_modified"))
    differing = [r for r in rows if r.difference]
    if differing:
        typer.echo(t("au_mismatch", n=len(differing), shop=shop), err=True)
        raise typer.Exit(1)
    typer.echo(t("au_all_match"))


@ingest_app.command("rewind", help=cli_help("help_ingest_rewind"))
def ingest_rewind(shop: str = typer.Option(..., "--shop", help=cli_help("help_opt_shop_id")),
                  to: str = typer.Option(..., "--to", help=cli_help("help_ingest_rewind_to")),
                  by: str = typer.Option(..., "--by", help=cli_help("help_ingest_rewind_by")),
                  reason: str = typer.Option(..., "--reason", help=cli_help("help_ingest_rewind_reason"))) -> None:
    """Move a shop's watermark back so the next pull reads again from there; who and why are recorded."""
    from tasks.ingest_audit import rewind_shop
    from warehouse.repository import RewindRefused

    to_at = _parse_time(to, "--to")
    config = load_config()
    config.shop(shop)   # an unknown shop is refused with the known ones
    try:
        before = rewind_shop(config, shop, get_settings().warehouse_url, to_at, by=by, reason=reason)
    except RewindRefused as exc:
        typer.echo(t("rw_refused", why=str(exc)), err=True)
        raise typer.Exit(1) from None
    typer.echo(t("rw_done", shop=shop, before=when(before) or "—", to=when(to_at), by=by,
                 reason=reason))


@quarantine_app.command("list", help=cli_help("help_quarantine_list"))
def quarantine_list(shop: Optional[str] = typer.Option(None, "--shop", help=cli_help("help_opt_shop_only")),
                    limit: int = typer.Option(50, help=cli_help("help_opt_limit"))) -> None:
    """Open quarantined orders with their reasons, oldest first."""
    from tasks.quarantine import reason_in_words
    from warehouse import repository

    rows = repository.open_quarantine(_engine(), shop)
    for row in rows[:limit]:
        typer.echo(f"#{row['id']:<6} {row['shop_id']:<16} {row['order_id'] or t('cli_no_id'):<22} "
                   + " | ".join(reason_in_words(r) for r in row["reasons"]))
    typer.echo(t("cli_quarantine_open", n=len(rows)) + (t("cli_first_shown", n=limit) if len(rows) > limit else ""))


@quarantine_app.command("recheck", help=cli_help("help_quarantine_recheck"))
def quarantine_recheck(shop: Optional[str] = typer.Option(None, "--shop", help=cli_help("help_opt_shop_only"))) -> None:
    """Validate open quarantined orders again; release (and store) the ones that now pass."""
    from tasks.quarantine import recheck_quarantine
    from tasks.secrets import pii_hash_key

    result = recheck_quarantine(load_config(), get_settings().warehouse_url, pii_hash_key(), shop)
    typer.echo(t("cli_recheck_done", checked=result.checked, released=result.released, still_open=result.still_open))


def _engine():
    from warehouse.db import make_engine

    return make_engine(get_settings().warehouse_url)


notify_app = typer.Typer(help=cli_help("help_notify"), no_args_is_help=True)
app.add_typer(notify_app, name="notify")


@notify_app.command("setup", help=cli_help("help_notify_setup"))
def notify_setup(url: Optional[str] = typer.Option(None, help=cli_help("help_notify_setup_url"))) -> None:
    """Register the webhook and the automations (failed/crashed runs, quarantine spikes,
    critical restock) on the team's Prefect server (SHOPOPS_PREFECT_API_URL / PREFECT_API_URL)."""
    from shopops.notifications import configure_notifications

    url = url or get_settings().webhook_url
    if not url:
        typer.echo(t("cli_no_webhook"), err=True)
        raise typer.Exit(2)
    require_prefect(get_settings())
    for name in configure_notifications(url, get_settings().webhook_format):
        typer.echo(t("cli_automation", name=name))


stock_app = typer.Typer(help=cli_help("help_stock"),
                        no_args_is_help=True)
app.add_typer(stock_app, name="stock")


@stock_app.command("import-count", help=cli_help("help_stock_import_count"))
def stock_import_count(file: Path = typer.Argument(..., help=cli_help("help_stock_import_count_file"))
                       ) -> None:
    """Accept a warehouse count: a stocktake per warehouse and a ledger row per SKU that sets
    its on-hand from the count's moment. Importing the same file again changes nothing."""
    from tasks.stock import CountFileError, import_count, read_count_file

    try:
        count = read_count_file(file)
    except CountFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    done = import_count(get_settings().warehouse_url, count)
    typer.echo(t("stk_import_done", file=count.source, lines=done.lines,
                 ids=", ".join(f"{w}#{i}" for w, i in done.stocktake_ids.items()), posted=done.ledger_posted))


def _refused_file(exc) -> None:
    """A hand-kept file refused whole (``domain.input_files.InputFileError``): every problem with
    its file, row and column (the heading as the file writes it) and why, in ``SHOPOPS_LOCALE``,
    that nothing was stored, what to do; exit 2."""
    translate = translator()
    files = sorted({p.file for p in exc.problems})
    typer.echo(t("in_refused", file=", ".join(files), n=len(exc.problems)), err=True)
    for problem in exc.problems:
        typer.echo(f"  - {problem.render(translate)}", err=True)
    typer.echo(t("in_fix_and_retry"), err=True)
    raise typer.Exit(2)


catalogue_app = typer.Typer(help=cli_help("help_catalogue"),
                            no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")


@catalogue_app.command("import", help=cli_help("help_catalogue_import"))
def catalogue_import(file: Path = typer.Argument(..., help=cli_help("help_catalogue_import_file"))
                     ) -> None:
    """Add or update SKUs from the catalogue file, all rows or none; blank cells get the
    supplier's or rules.yaml's defaults."""
    from domain.input_files import InputFileError
    from tasks.catalogue import import_catalogue

    try:
        done = import_catalogue(get_settings().warehouse_url, file, load_config())
    except InputFileError as exc:
        _refused_file(exc)
    typer.echo(t("cat_import_done", file=file.name, added=done.added, updated=done.updated))


po_app = typer.Typer(help=cli_help("help_po"),
                     no_args_is_help=True)
app.add_typer(po_app, name="po")


@po_app.command("import", help=cli_help("help_po_import"))
def po_import(file: Path = typer.Argument(..., help=cli_help("help_po_import_file"))) -> None:
    """Store new purchase orders (open): what they still owe is in transit for restock."""
    from domain.input_files import InputFileError
    from tasks.purchasing import import_purchase_orders

    try:
        done = import_purchase_orders(get_settings().warehouse_url, file, load_config())
    except InputFileError as exc:
        _refused_file(exc)
    typer.echo(t("po_import_done", file=file.name, orders=done.orders_added, lines=done.lines_added,
                 unchanged=done.orders_unchanged))


@po_app.command("receive", help=cli_help("help_po_receive"))
def po_receive(file: Path = typer.Argument(..., help=cli_help("help_po_receive_file"))
               ) -> None:
    """Post deliveries: stock on hand goes up, the PO's open quantity down; an over-receipt or an
    unknown PO or SKU refuses the whole file."""
    from domain.input_files import InputFileError
    from tasks.purchasing import receive_purchase_orders

    try:
        done = receive_purchase_orders(get_settings().warehouse_url, file, load_config())
    except InputFileError as exc:
        _refused_file(exc)
    typer.echo(t("po_receive_done", file=file.name, lines=done.lines, units=done.units,
                 done=", ".join(done.orders_completed) or "—"))
    if done.already_posted:
        typer.echo(t("po_receive_already", n=done.already_posted))


@app.command("templates", help=cli_help("help_templates"))
def templates_command(folder: Optional[Path] = typer.Argument(None, help=cli_help("help_templates_folder"))) -> None:
    """Write a ready .xlsx template of every file the product reads (roster, targets, expenses,
    CS stats, shop channels and stats, catalogue, purchase orders, receipts, count)."""
    from tasks.templates import write_templates

    settings = get_settings()
    folder = folder or settings.data_dir / "templates"
    written = write_templates(folder, load_config(), settings.locale)
    typer.echo(t("tpl_written", n=len(written), folder=folder, language=settings.locale))
    for path in written:
        typer.echo(f"  {path.name}")


@stock_app.command("reconcile", help=cli_help("help_stock_reconcile"))
def stock_reconcile(count_file: Optional[Path] = typer.Option(None, "--count-file",
                                                              help=cli_help("help_stock_reconcile_count_file")),
                    read_listings: bool = typer.Option(True, "--read-listings/--no-read-listings",
                                                       help=cli_help("help_stock_reconcile_read_listings"))) -> None:
    """Run reconcile-stock now (the same flow as the hourly deployment; it pushes only as
    rules.yaml stock.push_enabled / push_dry_run say)."""
    require_prefect(get_settings())
    from flows.stock import reconcile_stock

    _report_counts(reconcile_stock(count_file=str(count_file) if count_file else None,
                                   read_listings=read_listings, return_state=True), "reconcile-stock")


@stock_app.command("sync", help=cli_help("help_stock_sync"))
def stock_sync(live: bool = typer.Option(False, "--live", help=cli_help("help_stock_sync_live")),
               overwrite_edited: bool = typer.Option(False, "--overwrite-edited",
                                                     help=cli_help("help_stock_sync_overwrite_edited"))) -> None:
    """Read every listing, then push the plan floor(available × share) − buffer: a dry run by
    default; --live pushes through each marketplace's API and reads every listing back."""
    require_prefect(get_settings())
    from flows.stock import reconcile_stock

    _report_counts(reconcile_stock(sync="live" if live else "dry_run", overwrite_edited=overwrite_edited,
                                   return_state=True), "reconcile-stock")


@stock_app.command("discrepancies", help=cli_help("help_stock_discrepancies"))
def stock_discrepancies(limit: int = typer.Option(50, help=cli_help("help_opt_limit"))) -> None:
    """Open stock discrepancies (oldest first): id, kind, SKU, warehouse, shop, the numbers and the advice."""
    from warehouse import repository
    from warehouse.db import make_engine

    engine = make_engine(get_settings().warehouse_url)
    try:
        frame = repository.read_discrepancies(engine)
    finally:
        engine.dispose()
    for row in frame.head(limit).itertuples(index=False):
        typer.echo(f"#{row.id:<6} {label('discrepancy_kind', row.kind):<10} {row.sku:<14} {row.warehouse:<6} {row.shop_id or '-':<16} "
                   f"{t('stk_difference')} {row.difference:>6}  {row.suggested_cause or ''}")
    typer.echo(t("stk_open_count", n=len(frame)))


@stock_app.command("resolve", help=cli_help("help_stock_resolve"))
def stock_resolve(ids: Optional[list[int]] = typer.Argument(None, help=cli_help("help_stock_resolve_ids")),
                  sku: Optional[list[str]] = typer.Option(None, "--sku", help=cli_help("help_stock_resolve_sku")),
                  by: str = typer.Option(..., "--by", help=cli_help("help_stock_resolve_by")),
                  note: str = typer.Option(..., "--note", help=cli_help("help_stock_resolve_note"))) -> None:
    """Close open discrepancies a person dealt with (the record stays, with who, when and why)."""
    from warehouse import repository
    from warehouse.db import make_engine

    engine = make_engine(get_settings().warehouse_url)
    try:
        done = repository.resolve_discrepancies(engine, by=by, note=note, ids=ids, skus=sku)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(t("stk_resolved", n=done))


@stock_app.command("restock", help=cli_help("help_stock_restock"))
def stock_restock(as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DAY", callback=as_of_option,
                                                      help=cli_help(AS_OF_HELP))) -> None:
    """Run restock-alerts now (the same flow as the daily deployment), or for a past day; the run
    shows in the team's Prefect UI."""
    require_prefect(get_settings())
    from flows.stock import restock_alerts

    _report_counts(restock_alerts(as_of=as_of, return_state=True), "restock-alerts")


app.command("restock", hidden=True, help=cli_help("help_restock_alias"))(stock_restock)


@app.command("followup", help=cli_help("help_followup"))
def followup(as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DAY", callback=as_of_option,
                                                 help=cli_help(AS_OF_HELP))) -> None:
    """Run customer-service-followup now (the same flow as the 09:00 deployment), or for a past day."""
    require_prefect(get_settings())
    from flows.followup import customer_service_followup

    _report_counts(customer_service_followup(as_of=as_of, return_state=True), "customer-service-followup")


def _report_counts(state, flow_name: str) -> None:
    """Print a flow run's counts; exit 1 with its message when it did not complete."""
    counts = state.result(raise_on_failure=False)
    if isinstance(counts, Exception):
        raise counts  # the flow's error, explained once by ShopopsGroup
    if isinstance(counts, dict):
        typer.echo(count_line(counts))
    if not state.is_completed():
        typer.echo(state.message or t("cli_flow_failed", flow=flow_name), err=True)
        raise typer.Exit(1)
    if isinstance(counts, dict) and counts.get("share_errors"):
        typer.echo(t("stk_share_errors") + " " + t("stk_see_report"), err=True)
        raise typer.Exit(1)


@app.command("leak-scan", help=cli_help("help_leak_scan"))
def leak_scan(paths: Optional[list[Path]] = typer.Argument(None, help=cli_help("help_leak_scan_paths")),
              prefect_api_url: Optional[str] = typer.Option(None, "--prefect-api-url",
                                                            help=cli_help("help_leak_scan_prefect_api_url")),
              no_prefect: bool = typer.Option(False, "--no-prefect", help=cli_help("help_leak_scan_no_prefect")),
              database_url: Optional[str] = typer.Option(None, "--database-url",
                                                         help=cli_help("help_leak_scan_database_url")),
              secrets_file: Optional[Path] = typer.Option(None, "--secrets-file",
                                                          help=cli_help("help_leak_scan_secrets_file")),
              buyers_file: Optional[Path] = typer.Option(None, "--buyers-file",
                                                         help=cli_help("help_leak_scan_buyers_file"))) -> None:
    """Look for app secrets, the PII hash key, the webhook token, buyer names, nicks and e-mails,
    clear phones and street addresses in the data folder, Prefect's stored logs/artifacts/runs
    and the warehouse (shopops/leakscan.py); exit 1 when anything is found."""
    from shopops.leakscan import read_buyers_file, read_secrets_file, scan, staff_names

    settings = get_settings()
    secrets: dict[str, str] = {}
    secrets_file = secrets_file or (settings.data_dir / "sandbox" / "credentials.json")
    if secrets_file.exists():
        secrets.update(read_secrets_file(secrets_file))
    named, buyers_file = buyers_file is not None, buyers_file or (settings.data_dir / "sandbox" / "buyers.txt")
    buyers = read_buyers_file(buyers_file) if named or buyers_file.exists() else []
    if not paths:
        paths = [p for p in (settings.data_dir / "logs", settings.report_folder) if p.exists()]
    api = None
    if not no_prefect:
        from prefect.settings import PREFECT_API_URL

        from shopops import prefect_api

        api = prefect_api_url or PREFECT_API_URL.value()
        if not api:
            typer.echo(t("leak_prefect_skipped", why="PREFECT_API_URL is not set; pass --prefect-api-url"), err=True)
        elif (error := prefect_api.unreachable_reason(api)) is not None:
            source = "option" if prefect_api_url else (prefect_api.chosen or (api, "env"))[1]
            why = str(prefect_api.PrefectUnreachable(api, source, error)).rstrip(".。")
            typer.echo(t("leak_prefect_skipped", why=why), err=True)
            api = None
    secrets.update(_known_secrets(with_prefect_blocks=bool(api)))
    places = [str(p) for p in paths] + ([api] if api else []) + [_safe_url(database_url or settings.warehouse_url)]
    typer.echo(t("leak_scanning", places=", ".join(places), secrets=len(secrets), buyers=len(buyers)))
    report = scan(paths, prefect_api_url=api, database_url=database_url or settings.warehouse_url,
                  secrets=secrets, buyers=buyers, webhook_url=settings.webhook_url, skip=[secrets_file, buyers_file],
                  staff=staff_names(settings.data_dir))
    typer.echo(report.summary())
    if not report.clean:
        typer.echo(t("leak_found_exit"), err=True)
        raise typer.Exit(1)


def _known_secrets(with_prefect_blocks: bool) -> dict[str, str]:
    """The secrets this deployment can read: each shop's credentials and the PII hash key
    (environment, and Prefect Secret blocks when a Prefect API is scanned too); what is not
    set is simply not looked for."""
    import os

    from tasks.secrets import _env_name, pii_hash_key, shop_credentials

    found: dict[str, str] = {}
    for shop in load_config().shops:
        if not with_prefect_blocks and _env_name(shop.id) not in os.environ:
            continue
        try:
            credentials = shop_credentials(shop)
        except Exception:  # noqa: BLE001 - no credentials for this shop here: nothing to look for
            continue
        for number, value in enumerate(credentials.secrets(), start=1):
            found[f"{shop.id} secret {number}"] = value
    if with_prefect_blocks or os.environ.get("SHOPOPS_PII_HASH_KEY"):
        try:
            found["PII hash key"] = pii_hash_key()
        except Exception:  # noqa: BLE001
            pass
    return found


@app.command(help=cli_help("help_version"))
def version() -> None:
    """Print the shopops version."""
    from shopops import __version__

    typer.echo(__version__)


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())


# --- monthly settlement ---------------------------------------------------------------------

class _SettleGroup(_DefaultCommandGroup):
    """``settle`` whose first word is a month (or nothing) rather than a subcommand runs the
    settlement: ``settle 2026-10 --dry-run`` is ``settle run 2026-10 --dry-run``, while
    ``settle show …`` and ``settle diff …`` stay subcommands. (A group callback with an
    optional MONTH argument would take ``show`` for the month.)"""

    default_command = "run"


settle_app = typer.Typer(cls=_SettleGroup, help=cli_help("help_settle"))
app.add_typer(settle_app, name="settle")
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


def _month(value: Optional[str]) -> Optional[str]:
    import re

    if value is not None and not re.match(_MONTH, value):
        raise typer.BadParameter(f"'{value}' is not a month; use YYYY-MM, e.g. 2026-10", param_hint="MONTH")
    return value


def _preset(preset: Optional[str]) -> str:
    """The preset asked for (default: default_preset); an unknown one is refused with the known
    ones (it is not "no settlement yet")."""
    settlement = load_config().rules.settlement
    if preset is not None and preset not in settlement.presets:
        typer.echo(t("st_unknown_preset", preset=preset, known=", ".join(sorted(settlement.presets))), err=True)
        raise typer.Exit(2)
    return preset or settlement.default_preset


@settle_app.command("run", help=cli_help("help_settle_run"))
def settle_run(month: Optional[str] = typer.Argument(None, callback=_month,
                                                     help=cli_help("help_settle_run_month")),
               preset: Optional[str] = typer.Option(None, help=cli_help("help_settle_run_preset")),
               dry_run: bool = typer.Option(False, "--dry-run",
                                            help=cli_help("help_settle_run_dry_run")),
               inputs_dir: Optional[Path] = typer.Option(None, "--inputs-dir",
                                                         help=cli_help("help_settle_run_inputs_dir")),
               correct_final: bool = typer.Option(False, "--correct-final",
                                                  help=cli_help("help_settle_run_correct_final")),
               allow_no_orders: bool = typer.Option(False, "--allow-no-orders",
                                                    help=cli_help("help_settle_run_allow_no_orders"))
               ) -> None:
    """Settle a month (the monthly-settlement flow); `shopops settle MONTH` is the same. Without
    --dry-run the version then awaits approval: `shopops settle approve MONTH --by NAME` or
    `shopops settle correct MONTH --by NAME --note …` decides it."""
    if preset is not None:
        _preset(preset)
    _settle_needs_prefect(month, preset, dry_run)
    from flows.settlement import monthly_settlement

    state = monthly_settlement(month=month, preset=preset, dry_run=dry_run, correct_final=correct_final,
                               inputs_dir=str(inputs_dir) if inputs_dir else None, allow_no_orders=allow_no_orders,
                               return_state=True)
    result = state.result(raise_on_failure=True)  # an error is explained once by ShopopsGroup
    for warning in result.get("unattributed") or []:
        typer.echo(f"{t('needs_person')}: {warning}", err=True)
    typer.echo(t("st_cli_result", month=result["month"], preset=result["preset"], version=result["version"],
                 status=t(f"st_status_{result['status']}")))
    if result.get("waiting_in"):
        typer.echo(t("st_asked_elsewhere", version=result["version"], run=result["waiting_in"]))
    if result.get("decide_with"):
        typer.echo(result["decide_with"])
    typer.echo(result["xlsx"])


def _settle_needs_prefect(month: Optional[str], preset: Optional[str], dry_run: bool) -> None:
    """The settlement runs on the team's Prefect server, which also asks for its approval: without
    one nothing is settled, and the month's version awaiting approval (if any) stays so — named
    with the commands that decide it without the server."""
    from shopops.prefect_api import PrefectUnreachable

    try:
        require_prefect(get_settings())
    except PrefectUnreachable as exc:
        if dry_run:
            raise
        from datetime import datetime, timezone

        from flows.settlement import previous_month
        from warehouse import repository

        config = load_config()
        month = month or previous_month(datetime.now(timezone.utc), config.rules.orders.default_timezone)
        preset = preset or config.rules.settlement.default_preset
        typer.echo(t("st_no_server_no_approval", month=month, why=str(exc)), err=True)
        engine = _engine()
        try:
            waiting = repository.latest_settlement(engine, month, preset)
        except Exception:  # noqa: BLE001 - no warehouse to look in: the message above says enough
            waiting = None
        finally:
            engine.dispose()
        if waiting is not None and waiting.status == "awaiting_approval":
            typer.echo(t("st_no_server_awaiting", month=month, version=waiting.version, preset=preset), err=True)
        raise typer.Exit(2) from None


def _decide(month: str, decision: str, reviewer: str, note: str, preset: Optional[str], version: Optional[int]) -> None:
    from tasks.settlement import decide_settlement
    from warehouse.repository import SettlementStateError

    try:
        done = decide_settlement(get_settings().warehouse_url, month, _preset(preset), decision, reviewer, note, version)
    except SettlementStateError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    decided = done.version
    if decided.status == "final":
        typer.echo(t("st_approved", month=month, version=decided.version, by=decided.approved_by))
    else:
        typer.echo(t("st_correction", month=month, version=decided.version, note=decided.note))
    if done.resumed_run:
        typer.echo(t("st_decided_resumed", run=done.resumed_run))
    if done.resume_error:
        from shopops import prefect_api

        api = prefect_api.chosen[0] if prefect_api.chosen else None
        error = (t("st_not_resumed_no_server", url=api) if api and prefect_api.unreachable_reason(api)
                 else done.resume_error)
        typer.echo(t("st_decided_not_resumed", run=decided.flow_run_id, error=error), err=True)


@settle_app.command("approve", help=cli_help("help_settle_approve"))
def settle_approve(month: str = typer.Argument(..., callback=_month, help=cli_help("help_opt_month")),
                   by: str = typer.Option(..., "--by", help=cli_help("help_settle_approve_by")),
                   note: str = typer.Option("", "--note", help=cli_help("help_settle_approve_note")),
                   preset: Optional[str] = typer.Option(None, help=cli_help("help_opt_preset")),
                   version: Optional[int] = typer.Option(None, "--version", help=cli_help("help_opt_version_newest"))
                   ) -> None:
    """Approve the settlement version awaiting approval: it becomes final. The suspended
    monthly-settlement run that asked is resumed with the same answer."""
    _decide(month, "approve", by, note, preset, version)


@settle_app.command("correct", help=cli_help("help_settle_correct"))
def settle_correct(month: str = typer.Argument(..., callback=_month, help=cli_help("help_opt_month")),
                   by: str = typer.Option(..., "--by", help=cli_help("help_settle_correct_by")),
                   note: str = typer.Option(..., "--note", help=cli_help("help_settle_correct_note")),
                   preset: Optional[str] = typer.Option(None, help=cli_help("help_opt_preset")),
                   version: Optional[int] = typer.Option(None, "--version", help=cli_help("help_opt_version_newest"))
                   ) -> None:
    """Request a correction of the settlement version awaiting approval (it is not paid); correct
    the input files and settle the month again."""
    _decide(month, "request_correction", by, note, preset, version)


@settle_app.command("show", help=cli_help("help_settle_show"))
def settle_show(month: str = typer.Argument(..., callback=_month, help=cli_help("help_opt_month")),
                version: Optional[int] = typer.Option(None, "--version", help=cli_help("help_settle_show_version")),
                preset: Optional[str] = typer.Option(None, help=cli_help("help_opt_preset"))) -> None:
    """A stored settlement version: status, inputs hash, each person's figures, the store KPIs."""
    from tasks.settlement import describe_version
    from warehouse.repository import SettlementStateError

    try:
        typer.echo(describe_version(get_settings().warehouse_url, month, _preset(preset), version))
    except SettlementStateError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@settle_app.command("diff", help=cli_help("help_settle_diff"))
def settle_diff(month: str = typer.Argument(..., callback=_month, help=cli_help("help_opt_month")),
                v1: int = typer.Argument(..., help=cli_help("help_settle_diff_v1")),
                v2: int = typer.Argument(..., help=cli_help("help_settle_diff_v2")),
                preset: Optional[str] = typer.Option(None, help=cli_help("help_opt_preset"))) -> None:
    """What changed between two versions: each input row and each person's figure that differs."""
    from tasks.settlement import diff_stored_versions
    from warehouse.repository import SettlementStateError

    try:
        changes = diff_stored_versions(get_settings().warehouse_url, month, _preset(preset), v1, v2)
    except SettlementStateError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(t("st_diff_header", month=month, v1=v1, v2=v2, n=len(changes)))
    for change in changes:
        typer.echo(f"  {change}")
