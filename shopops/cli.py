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
from shopops.i18n import t

app = typer.Typer(help="shopops — the online-operations pipeline (订单、库存、补货、发货、结算、促销).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Warehouse schema migrations.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration in config/.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Orders held back by validation (隔离订单).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(quarantine_app, name="quarantine")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.callback()
def _start(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand == "config":
        return  # `config check` reports problems itself
    try:
        load_config()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@config_app.command("check")
def config_check(config_dir: Optional[Path] = typer.Option(None, help="Folder to check (default: config/).")) -> None:
    """Validate shops.yaml, suppliers.yaml, rules.yaml and promotions/*.yaml."""
    try:
        config = load_config(config_dir)
    except ConfigError as exc:
        typer.echo(t("config_bad", n=len(exc.problems)), err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        typer.echo(t("config_fix"), err=True)
        raise typer.Exit(2) from None
    typer.echo(t("config_ok", shops=len(config.shops), suppliers=len(config.suppliers),
                 promotions=len(config.promotions)))


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Option("head", help="Target revision.")) -> None:
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


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Option("-1", help="Target revision: -1 (one step) or base (empty).")) -> None:
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


@db_app.command("current")
def db_current() -> None:
    """Print the warehouse's schema revision."""
    from warehouse import migrate

    url = get_settings().warehouse_url
    try:
        typer.echo(migrate.current(url) or "base")
    except Exception as exc:  # noqa: BLE001
        typer.echo(t("db_unreachable", url=_safe_url(url), error=str(exc).splitlines()[0]), err=True)
        raise typer.Exit(1) from None


@app.command()
def demo(stop: bool = typer.Option(False, "--stop", help="Stop a demo running from another terminal.")) -> None:
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


@app.command()
def ingest(shop: list[str] = typer.Option([], "--shop", help="Shop id (repeatable); default: every enabled shop."),
           since: Optional[str] = typer.Option(None, help="Backfill from this time (ISO 8601; UTC if no offset)."),
           until: Optional[str] = typer.Option(None, help="Backfill up to this time.")) -> None:
    """Pull orders now: the same flow as the scheduled pull-orders deployment."""
    from flows.orders import pull_orders

    state = pull_orders(shops=shop or None, since=_parse_time(since, "--since"), until=_parse_time(until, "--until"),
                        return_state=True)
    rows = state.result(raise_on_failure=False)
    if isinstance(rows, list):
        for row in rows:
            typer.echo(f"{row['shop_id']:<16} {row['status']:<8} new {row['orders_new']:>7}  updated "
                       f"{row['orders_updated']:>7}  quarantined {row['quarantined']:>5}")
    if not state.is_completed():
        typer.echo(state.message or "the pull failed; see the run's report", err=True)
        raise typer.Exit(1)


@quarantine_app.command("list")
def quarantine_list(shop: Optional[str] = typer.Option(None, "--shop", help="Only this shop."),
                    limit: int = typer.Option(50, help="At most this many rows.")) -> None:
    """Open quarantined orders with their reasons, oldest first."""
    from warehouse import repository

    rows = repository.open_quarantine(_engine(), shop)
    for row in rows[:limit]:
        typer.echo(f"#{row['id']:<6} {row['shop_id']:<16} {row['order_id'] or '(no id)':<22} "
                   + " | ".join(row["reasons"]))
    typer.echo(f"{len(rows)} open" + (f" (first {limit} shown)" if len(rows) > limit else ""))


@quarantine_app.command("recheck")
def quarantine_recheck(shop: Optional[str] = typer.Option(None, "--shop", help="Only this shop.")) -> None:
    """Validate open quarantined orders again; release (and store) the ones that now pass."""
    from tasks.quarantine import recheck_quarantine
    from tasks.secrets import pii_hash_key

    result = recheck_quarantine(load_config(), get_settings().warehouse_url, pii_hash_key(), shop)
    typer.echo(f"checked {result.checked}: released {result.released}, still open {result.still_open}")


def _engine():
    from warehouse.db import make_engine

    return make_engine(get_settings().warehouse_url)


notify_app = typer.Typer(help="Notifications to the team's webhook.", no_args_is_help=True)
app.add_typer(notify_app, name="notify")


@notify_app.command("setup")
def notify_setup(url: Optional[str] = typer.Option(None, help="Webhook URL (default: SHOPOPS_WEBHOOK_URL).")) -> None:
    """Register the webhook and the automations (failed/crashed runs, quarantine spikes,
    critical restock) on the Prefect server at PREFECT_API_URL."""
    from shopops.notifications import configure_notifications

    url = url or get_settings().webhook_url
    if not url:
        typer.echo("No webhook URL: pass --url or set SHOPOPS_WEBHOOK_URL.", err=True)
        raise typer.Exit(2)
    for name in configure_notifications(url):
        typer.echo(f"automation: {name}")


stock_app = typer.Typer(help="Stock: warehouse counts, reconciliation (盘点、账实相符).", no_args_is_help=True)
app.add_typer(stock_app, name="stock")


@stock_app.command("import-count")
def stock_import_count(file: Path = typer.Argument(..., help="Count file (.csv/.xlsx): sku, warehouse, counted_qty "
                                                           "[, counted_at].")) -> None:
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


@stock_app.command("reconcile")
def stock_reconcile(count_file: Optional[Path] = typer.Option(None, "--count-file", help="Warehouse count to compare "
                                                              "with the ledger (.csv/.xlsx)."),
                    read_listings: bool = typer.Option(True, "--read-listings/--no-read-listings",
                                                       help="Read listing stock from the marketplaces first.")) -> None:
    """Run reconcile-stock now (the same flow as the hourly deployment); nothing is pushed."""
    from flows.stock import reconcile_stock

    _report_counts(reconcile_stock(count_file=str(count_file) if count_file else None,
                                   read_listings=read_listings, return_state=True), "reconcile-stock")


@app.command()
def restock() -> None:
    """Run restock-alerts now (the same flow as the daily deployment)."""
    from flows.stock import restock_alerts

    _report_counts(restock_alerts(return_state=True), "restock-alerts")


def _report_counts(state, flow_name: str) -> None:
    """Print a flow run's counts; exit 1 with its message when it did not complete."""
    counts = state.result(raise_on_failure=False)
    if isinstance(counts, dict):
        typer.echo("  ".join(f"{k} {v}" for k, v in counts.items()))
    if not state.is_completed():
        typer.echo(state.message or f"{flow_name} failed; see the run's log", err=True)
        raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print the shopops version."""
    from shopops import __version__

    typer.echo(__version__)


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())


# --- monthly settlement ---------------------------------------------------------------------

@app.command()
def settle(month: Optional[str] = typer.Option(None, help="Month YYYY-MM (default: the previous month, Asia/Shanghai)."),
           preset: Optional[str] = typer.Option(None, help="Preset of config/rules.yaml (default: default_preset)."),
           dry_run: bool = typer.Option(False, "--dry-run",
                                        help="Compute, store a draft and publish the statement; ask nobody to approve."),
           inputs_dir: Optional[Path] = typer.Option(None, "--inputs-dir",
                                                     help="Folder with the five input files (default: data/settlement/<month>/).")) -> None:
    """Settle a month (the monthly-settlement flow). Without --dry-run the run then waits for the
    decision in the Prefect UI (PREFECT_API_URL must point at the running server)."""
    import re

    from domain.settlement import SettlementError
    from domain.settlement_inputs import SettlementInputError
    from flows.settlement import monthly_settlement

    if month is not None and not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", month):
        raise typer.BadParameter(f"'{month}' is not a month; use YYYY-MM, e.g. 2026-10", param_hint="--month")
    state = monthly_settlement(month=month, preset=preset, dry_run=dry_run,
                               inputs_dir=str(inputs_dir) if inputs_dir else None, return_state=True)
    try:
        result = state.result(raise_on_failure=True)
    except (SettlementInputError, SettlementError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except Exception:  # noqa: BLE001 - the run's own message says what happened and what to do
        typer.echo(state.message or "the settlement failed; see the run in the Prefect UI", err=True)
        raise typer.Exit(1) from None
    typer.echo(t("st_cli_result", month=result["month"], preset=result["preset"], version=result["version"],
                 status=t(f"st_status_{result['status']}")))
    typer.echo(result["xlsx"])
