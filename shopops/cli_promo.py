"""``shopops promo prepare|start|report|close NAME [--live]``: one phase of a promotion
campaign, the same flow (``promotion-campaign``) as a custom run in the Prefect UI.

As in the UI's form, a phase is a dry run unless asked otherwise (``--live``), and the name is
one of the configured campaigns: a missing or wrong name is answered with the known names
before any run starts (issue 23 #8)."""
from __future__ import annotations

from typing import Optional

import typer

from shopops.cli_help import cli_help
from shopops.i18n import count_line, label, t

promo_app = typer.Typer(help=cli_help("help_promo"), no_args_is_help=True)

NAME = typer.Argument(None, help=cli_help("help_campaign_name"), show_default=False)
DRY_RUN = typer.Option(True, "--dry-run/--live", help=cli_help("help_campaign_dry_run"))


def _campaign(name: Optional[str]) -> str:
    """``name`` when it is a configured campaign; else the known names and exit 2."""
    from config.schema import load_config
    from tasks.promotion import campaign_names, unknown_campaign_message

    config = load_config()
    known = campaign_names(config)
    if name in known:
        return name
    if name is None:
        typer.echo(t("pr_which_campaign", known=", ".join(known) or t("pr_no_campaigns"),
                     first=known[0] if known else "NAME"), err=True)
    else:
        typer.echo(unknown_campaign_message(config, name), err=True)
    raise typer.Exit(2)


def _run(phase: str, name: Optional[str], dry_run: bool) -> None:
    """Run the phase; print its counts and the report's artifact key, or the reason it stopped."""
    from config.settings import get_settings
    from shopops.prefect_api import require_prefect

    name = _campaign(name)
    require_prefect(get_settings())
    from flows.promotion import promotion_campaign

    state = promotion_campaign(phase=phase, name=name, dry_run=dry_run, return_state=True)
    # CampaignError, a wrong order of phases or anything else: explained once by shopops.cli_errors
    result = state.result(raise_on_failure=True)
    shown = {k: v for k, v in result.items() if isinstance(v, (int, float, str, bool)) and k not in ("name", "phase")}
    typer.echo(count_line({k: label("campaign_status", v) if k.startswith("status") else v for k, v in shown.items()}))
    for change in result.get("schedule_changes", []):
        typer.echo(f"  {change}")
    typer.echo(t("pr_cli_done", phase=label("campaign_phase", phase), name=name,
                 status=label("campaign_status", result["status"]), artifact=result.get("artifact", "-")))
    if dry_run:
        typer.echo(t("pr_cli_dry_run_hint", phase=phase, name=name))


@promo_app.command("prepare", help=cli_help("help_promo_prepare"))
def prepare(name: Optional[str] = NAME, dry_run: bool = DRY_RUN) -> None:
    """Price and coupon rules vs the 30-day history, reconciliation of the promoted SKUs,
    readiness by the preparation date (shortfalls to restock)."""
    _run("prepare", name, dry_run)


@promo_app.command("start", help=cli_help("help_promo_start"))
def start(name: Optional[str] = NAME, dry_run: bool = DRY_RUN) -> None:
    """Campaign mode: promoted shops pulled every minute and the live report every 15 minutes
    during the window (Prefect schedules on the team's server), buffers tightened."""
    _run("start", name, dry_run)


@promo_app.command("report", help=cli_help("help_promo_report"))
def report(name: Optional[str] = NAME, dry_run: bool = DRY_RUN) -> None:
    """Live report: orders, revenue, units, stock cover, oversell, orders near their deadline."""
    _run("report", name, dry_run)


@promo_app.command("close", help=cli_help("help_promo_close"))
def close(name: Optional[str] = NAME, dry_run: bool = DRY_RUN) -> None:
    """Normal cadence back (schedules exactly as before), buffers restored, after-action report (.xlsx)."""
    _run("close", name, dry_run)
