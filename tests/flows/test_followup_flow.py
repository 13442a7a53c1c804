"""customer-service-followup and shipping-batches on ONE warehouse state (a real SQLite file):
the lists customer service and the warehouse get must agree (issue 17, defect 3).

The warehouse holds the hand-checked 50-order day of tests/unit/test_batching.py, stock
positions as reconcile-stock writes them, and four orders that must never be advised to
"ship first": a refunding order past its deadline (RF1), a paid order with a line refund
requested and 1 h left (RF2), a deposit-only presale whose deposit was paid 50 h ago (PS1),
and a presale whose deposit was paid 5 days ago and whose balance was paid 2 h ago (PS2: its
deadline counts from the balance payment, so 46 h are left).
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from domain.batching import HoldReason
from domain.canonical import REFUND_COLUMNS, CanonicalFrames
from domain.stock import positions
from flows.followup import customer_service_followup
from flows.shipping import shipping_batches
from shopops.i18n import t
from tasks.stock import load_stock_inputs
from tests.unit.test_batching import CATALOGUE, NOW, STOCK, hours_ago, line, make_order, the_day
from warehouse import migrate, repository
from warehouse import shipping as store
from warehouse.db import make_engine

NEVER_SHIP_FIRST = {"RF1", "RF2", "PS1"}


def _extras() -> tuple[pd.DataFrame, pd.DataFrame]:
    made = [
        make_order("RF1", line("TEE-BLU-L"), status="refunding", paid_at=hours_ago(50)),
        make_order("RF2", line("TEE-BLU-L", refund_status="WAIT_SELLER_AGREE"), paid_at=hours_ago(47)),
        make_order("PS1", line("TEE-BLU-L"), status="presale_deposit_paid", is_presale=True,
                   presale_balance_paid=False, paid_at=hours_ago(50)),
        make_order("PS2", line("TEE-BLU-L"), is_presale=True, presale_balance_paid=True, paid_at=hours_ago(120),
                   modified_at=hours_ago(2)),
    ]
    orders = pd.DataFrame([o for o, _ in made])
    lines = pd.DataFrame([r for _, rows in made for r in rows])
    return orders, lines


@pytest.fixture
def one_warehouse(warehouse_env):
    """The 50-order day and the four extras stored as a pull stores them, the catalogue, the
    opening stock and the positions snapshot reconcile-stock writes."""
    url = warehouse_env.warehouse_url
    migrate.upgrade(url)
    engine = make_engine(url)
    orders, lines = the_day()
    extra_orders, extra_lines = _extras()
    orders = pd.concat([orders, extra_orders[orders.columns]], ignore_index=True)
    lines = pd.concat([lines, extra_lines[lines.columns]], ignore_index=True)
    for column in ("paid_at", "ship_by_at", "modified_at"):
        orders[column] = pd.to_datetime(orders[column], utc=True)
    orders = orders.assign(total_minor=0, modified_at=orders["modified_at"].fillna(orders["paid_at"]),
                           created_at=orders["paid_at"])
    repository.upsert_orders(engine, CanonicalFrames(orders=orders, lines=lines.assign(line_total_minor=0),
                                                     refunds=pd.DataFrame(columns=list(REFUND_COLUMNS))))
    repository.upsert_skus(engine, CATALOGUE.assign(default_warehouse=[
        "GZ" if s == "SOCKS" else "HZ" for s in CATALOGUE["sku"]]))
    repository.post_ledger(engine, pd.DataFrame([(sku, wh, NOW - timedelta(days=30), "opening", units, "opening")
                                                 for (sku, wh), units in STOCK.items()],
                                                columns=list(repository.LEDGER_COLUMNS)))
    stock = load_stock_inputs(url)
    repository.write_positions(engine, positions(stock.ledger, stock.order_lines, stock.purchase_orders))
    yield warehouse_env, engine
    engine.dispose()


async def _forget_artifacts(flow_run_ids: list) -> None:
    """The session's Prefect server is shared: other flow tests read the newest report of a
    family, so the reports of this test's runs are removed after it."""
    async with get_client() as client:
        for artifact in await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=flow_run_ids))):
            await client.delete_artifact(artifact.id)


def _report_sheet(settings, family: str, sheet: str) -> pd.DataFrame:
    """A sheet of the run's report (not of a batch's papers: those carry the batch id)."""
    reports = sorted(p for p in (settings.report_folder / family).glob(f"{family}-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].xlsx"))
    assert len(reports) == 1, reports
    return pd.read_excel(reports[0], sheet_name=sheet)


def test_followup_and_shipping_agree_on_one_warehouse(one_warehouse):
    settings, engine = one_warehouse
    states = [shipping_batches(now=NOW, max_orders_per_batch=10, return_state=True),
              customer_service_followup(now=NOW, return_state=True)]
    asyncio.run(_forget_artifacts([state.state_details.flow_run_id for state in states]))
    shipped, followed = (state.result() for state in states)

    batched = set(store.batched_order_keys(engine)["order_id"])
    holds = store.open_holds(engine)
    held_for_stock = {o for o, reasons in zip(holds["order_id"], holds["reasons"])
                      if HoldReason.OUT_OF_STOCK in reasons}
    told = _report_sheet(settings, "customer-service-followup", "out_of_stock")
    out_of_stock = set(told[t("fu_order_id")].astype(str)) if len(told) else set()

    # out of stock: exactly the orders the shipping run held for stock, none of them in a batch
    # (config/ as shipped runs no promotion on the day: G2 needs no sticker and ships)
    assert held_for_stock == {"L1", "L5"}
    assert out_of_stock == held_for_stock
    assert not out_of_stock & batched
    assert followed["out_of_stock"] == len(held_for_stock)

    # near or past the deadline: one definition, one count; never a refunding or deposit-only order
    shipping_deadline = _report_sheet(settings, "shipping-batches", "deadline")
    cs_deadline = _report_sheet(settings, "customer-service-followup", "deadline")
    shipping_ids = set(shipping_deadline[t("ship_order_id")].astype(str))
    cs_ids = set(cs_deadline[t("fu_order_id")].astype(str))
    assert followed["deadline"] == shipped["near_deadline"] + shipped["past_deadline"]
    assert cs_ids == shipping_ids == {"L4", "L2"}
    assert not (cs_ids | shipping_ids) & (NEVER_SHIP_FIRST | {"PS2"})
    assert shipped["past_deadline"] == 0   # "ship them first" is advised for no order
    assert "PS2" in batched                # its balance is paid: it ships like any other order
