"""``shopops batch …``: shipping batches from a terminal (发货波次).

``run`` is the shipping-batches flow; ``picked``, ``packed`` and ``handover`` move a batch one
step with the same code as the batch-lifecycle flow, without starting Prefect (a warehouse
person gets the answer in a second); ``list`` shows the batches; ``release-hold`` records that
a person dealt with a held order (e.g. read its remark).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

import typer

from config.schema import load_config
from config.settings import get_settings
from shopops.cli_help import cli_help
from shopops.as_of import AS_OF_HELP, as_of_option
from shopops.i18n import count_line, label, say, t, when

batch_app = typer.Typer(help=cli_help("help_batch"),
                        no_args_is_help=True)


@batch_app.command("run", help=cli_help("help_batch_run"))
def batch_run(max_orders: Optional[int] = typer.Option(None, "--max-orders", min=1,
                                                       help=cli_help("help_batch_run_max_orders")),
              as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DAY", callback=as_of_option,
                                                  help=cli_help(AS_OF_HELP))) -> None:
    """Run shipping-batches now (the same flow as the 09:00 / 14:00 / 17:30 deployment), or
    recompute a past day's plan (nothing written)."""
    from shopops.prefect_api import require_prefect

    require_prefect(get_settings())
    from flows.shipping import shipping_batches

    state = shipping_batches(max_orders_per_batch=max_orders, as_of=as_of, return_state=True)
    counts = state.result(raise_on_failure=False)
    if isinstance(counts, Exception):
        raise counts  # the flow's error, explained once by shopops.cli_errors.ShopopsGroup
    if isinstance(counts, dict):
        typer.echo(count_line(counts))
    if not state.is_completed():
        typer.echo(state.message or t("cli_flow_failed", flow="shipping-batches"), err=True)
        raise typer.Exit(1)


@batch_app.command("list", help=cli_help("help_batch_list"))
def batch_list(all_: bool = typer.Option(False, "--all", help=cli_help("help_batch_list_all")),
               limit: int = typer.Option(50, help=cli_help("help_opt_limit"))) -> None:
    """Batches still in the warehouse (created, picked, packed), newest first."""
    from warehouse import shipping as store

    frame = store.read_batches(_engine(), None if all_ else store.LIVE_BATCH_STATUSES)
    for row in frame.head(limit).itertuples(index=False):
        typer.echo(t("cli_batch_row", batch=f"{row.batch_id:<44}", status=label("batch_status", row.status),
                     orders=f"{row.order_count:>4}", units=f"{row.unit_count:>5}", created=when(row.created_at)))
    typer.echo(t("cli_batches", n=len(frame)) + (t("cli_first_shown", n=limit) if len(frame) > limit else ""))


def _move(batch_id: str, action: str) -> None:
    from domain.batching import BatchError
    from tasks.shipping import move_batch

    try:
        result = move_batch(load_config(), get_settings().warehouse_url, batch_id, action, datetime.now(timezone.utc))
    except BatchError as exc:
        typer.echo(say(exc.args[0]), err=True)
        raise typer.Exit(1) from None
    if result.pulled is not None:
        for row in result.pulled.pulled.itertuples(index=False):
            typer.echo(t("cli_pulled_out", order=f"{row.shop_id}/{row.order_id}", reason=say(row.reason)))
    typer.echo(t("ship_cli_moved", batch_id=batch_id, status=label("batch_status", result.status)))
    if result.status == "handed_over":
        typer.echo(t("ship_moved", batch_id=batch_id, status=label("batch_status", result.status),
                     pulled_out=len(result.pulled.pulled) if result.pulled else 0, ledger_rows=result.ledger_posted,
                     confirmed=result.confirmed, write_back_failed=len(result.write_back_errors)))
    if result.write_back_errors:
        typer.echo(t("ship_todo_write_back", batch_id=batch_id), err=True)
        for error in result.write_back_errors:
            typer.echo(f"  - {error}", err=True)
        raise typer.Exit(1)


@batch_app.command("picked", help=cli_help("help_batch_picked"))
def batch_picked(batch_id: str = typer.Argument(..., help=cli_help("help_opt_batch_id"))) -> None:
    """Picking of the batch is done."""
    _move(batch_id, "picked")


@batch_app.command("packed", help=cli_help("help_batch_packed"))
def batch_packed(batch_id: str = typer.Argument(..., help=cli_help("help_opt_batch_id"))) -> None:
    """The batch's parcels are packed and labelled."""
    _move(batch_id, "packed")


@batch_app.command("handover", help=cli_help("help_batch_handover"))
def batch_handover(batch_id: str = typer.Argument(..., help=cli_help("help_opt_batch_id"))) -> None:
    """The carrier collected the parcels: outbound to the stock ledger, tracking numbers to the
    marketplaces, orders shipped. Again on a handed-over batch: retries refused write-backs."""
    _move(batch_id, "handover")


@batch_app.command("release-hold", help=cli_help("help_batch_release_hold"))
def batch_release_hold(order_id: str = typer.Argument(..., help=cli_help("help_batch_release_hold_order")),
                       shop: str = typer.Option(..., "--shop", help=cli_help("help_batch_release_hold_shop")),
                       by: str = typer.Option(..., "--by", help=cli_help("help_batch_release_hold_by"))) -> None:
    """A person dealt with a held order (read its remark, fixed the address …): the next run
    considers it again; a remark it holds is then taken as read."""
    from warehouse import shipping as store

    try:
        platform = load_config().shop(shop).platform
    except KeyError as exc:
        raise typer.BadParameter(str(exc).strip("'\""), param_hint="--shop") from None
    released = store.release_hold(_engine(), (platform, shop, order_id), by=by, now=datetime.now(timezone.utc))
    if not released:
        typer.echo(t("cli_no_open_hold", order=f"{shop}/{order_id}"), err=True)
        raise typer.Exit(1)
    typer.echo(t("ship_cli_released", n=released, order=f"{shop}/{order_id}"))


def _engine():
    from warehouse.db import make_engine

    return make_engine(get_settings().warehouse_url)
