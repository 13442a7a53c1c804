"""``shopops promo prepare|start|report|close NAME [--dry-run]``: one phase of a promotion
campaign, the same flow (``promotion-campaign``) as a custom run in the Prefect UI."""
from __future__ import annotations

import typer

from shopops.i18n import count_line, label, t

promo_app = typer.Typer(help="Promotion campaigns (双11, 618, 双12): prepare, start, report, close.",
                        no_args_is_help=True)

NAME = typer.Argument(..., help="Campaign name, as in config/promotions/<name>.yaml (e.g. double11-2026).")
DRY_RUN = typer.Option(False, "--dry-run", help="Compute and report only: change no state, schedule, buffer or alert.")


def _run(phase: str, name: str, dry_run: bool) -> None:
    """Run the phase; print its counts and the report's artifact key, or the reason it stopped."""
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


@promo_app.command("prepare")
def prepare(name: str = NAME, dry_run: bool = DRY_RUN) -> None:
    """Price and coupon rules vs the 30-day history, reconciliation of the promoted SKUs,
    readiness by the preparation date (shortfalls to restock)."""
    _run("prepare", name, dry_run)


@promo_app.command("start")
def start(name: str = NAME, dry_run: bool = DRY_RUN) -> None:
    """Campaign mode: promoted shops pulled every minute and the live report every 15 minutes
    during the window (Prefect schedules; PREFECT_API_URL must point at the server), buffers tightened."""
    _run("start", name, dry_run)


@promo_app.command("report")
def report(name: str = NAME, dry_run: bool = DRY_RUN) -> None:
    """Live report: orders, revenue, units, stock cover, oversell, orders near their deadline."""
    _run("report", name, dry_run)


@promo_app.command("close")
def close(name: str = NAME, dry_run: bool = DRY_RUN) -> None:
    """Normal cadence back (schedules exactly as before), buffers restored, after-action report (.xlsx)."""
    _run("close", name, dry_run)
