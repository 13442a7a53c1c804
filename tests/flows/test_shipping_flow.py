"""shipping-batches and batch-lifecycle as Prefect flows (test harness server) on a SQLite
warehouse holding the hand-checked 50-order day of tests/unit/test_batching.py.

The day's shops are not in shops.yaml, so a hand-over cannot write its tracking numbers back:
that run must fail saying so, while the parcels' outbound is still posted (they have left).
The write-back itself is tested against the sandbox in tests/integration/test_shipping_sandbox.py.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from domain.canonical import REFUND_COLUMNS, CanonicalFrames
from flows.shipping import batch_lifecycle, shipping_batches
from tests.unit.test_batching import CATALOGUE, NOW, STOCK, frames_of, line, make_order, the_day
from warehouse import migrate, repository
from warehouse import shipping as store
from warehouse.db import make_engine


@pytest.fixture
def day_warehouse(warehouse_env):
    """The 50-order day stored as a pull would store it, the catalogue with bins, the stock."""
    url = warehouse_env.warehouse_url
    migrate.upgrade(url)
    engine = make_engine(url)
    orders, lines = the_day()
    orders = orders.assign(total_minor=0, modified_at=orders["paid_at"], created_at=orders["paid_at"])
    lines = lines.assign(line_total_minor=0)
    repository.upsert_orders(engine, CanonicalFrames(orders=orders, lines=lines,
                                                     refunds=pd.DataFrame(columns=list(REFUND_COLUMNS))))
    repository.upsert_skus(engine, CATALOGUE.assign(default_warehouse=[
        "GZ" if s == "SOCKS" else "HZ" for s in CATALOGUE["sku"]]))
    repository.post_ledger(engine, pd.DataFrame([(sku, wh, NOW - timedelta(days=30), "opening", units, "opening")
                                                 for (sku, wh), units in STOCK.items()],
                                                columns=list(repository.LEDGER_COLUMNS)))
    yield warehouse_env, engine
    engine.dispose()


async def _artifacts(key: str):
    """The artifacts of ``key`` on the session's server, newest first: other tests of the session
    (an ``--as-of`` run of test_as_of.py) publish the same report family."""
    async with get_client() as client:
        return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                           sort=ArtifactSort.CREATED_DESC)


def test_shipping_batches_flow_batches_reports_and_is_rerun_safe(day_warehouse):
    settings, engine = day_warehouse
    counts = shipping_batches(now=NOW, max_orders_per_batch=10)
    # With config/ as shipped (no promotion running on the day, so no sticker gift): held are the
    # ten audit holds (H01–H10), READ1 (nobody has read its remark yet) and L1, L5 short of
    # lamps; G2 ships its tee. 35 orders, 38 units, in 8 batches: HZ/SF single 10 + 10 + 6
    # (G1 is single without its sticker), HZ/SF multi (PO1, and G3, which names no carrier and
    # takes Douyin's default SF), HZ/ZTO single and multi (M1+M2+M3), GZ/ZTO single and multi.
    assert (counts["batches"], counts["orders"], counts["units"], counts["held"]) == (8, 35, 38, 13)
    assert (counts["pulled_out"], counts["batches_new"], counts["holds_new"]) == (0, 8, 13)
    assert (counts["near_deadline"], counts["past_deadline"]) == (2, 0)      # L4 and L2

    holds = store.open_holds(engine).set_index("order_id")
    assert holds.loc["H10", "reasons"] == ["remark_needs_person", "address_incomplete", "presale_balance_unpaid",
                                           "refund_in_progress", "unknown_sku"]
    assert holds.loc["L1", "details"][0].startswith("cannot ship it whole: SKU LAMP")

    papers = sorted(p.name for p in (settings.report_folder / "shipping-batches").iterdir())
    assert sum(name.endswith("-pick-list.xlsx") for name in papers) == 8
    assert sum(name.endswith("-manifest.csv") for name in papers) == 8
    summary = asyncio.run(_artifacts("shipping-batches"))[0].data
    assert "**35** orders" in summary and "-pick-list.xlsx" in summary and "file://" in summary
    held_by_reason = asyncio.run(_artifacts("shipping-batches-held-by-reason"))[0].data
    assert "out of stock" in str(held_by_reason)

    # a person reads READ1's remark and releases its hold: the next run ships it, nothing twice
    assert store.release_hold(engine, ("taobao", "taobao-shop", "READ1"), by="客服小王", now=NOW) == 1
    again = shipping_batches(now=NOW + timedelta(minutes=5), max_orders_per_batch=10)
    assert (again["batches"], again["orders"], again["held"], again["holds_new"], again["holds_kept"]) == (1, 1, 12, 0, 12)
    assert len(store.read_batches(engine)) == 9


def test_batch_lifecycle_flow_moves_a_batch_and_names_a_wrong_step(day_warehouse):
    settings, engine = day_warehouse
    shipping_batches(now=NOW)
    batch = store.read_batches(engine).sort_values("batch_id").iloc[0]
    wrong = batch_lifecycle(batch_id=batch["batch_id"], action="packed", return_state=True)
    assert wrong.is_failed()
    with pytest.raises(Exception, match=f"is 'created', so it cannot become 'packed'.*shopops batch picked"):
        wrong.result()
    assert batch_lifecycle(batch_id=batch["batch_id"], action="picked")["status"] == "picked"
    assert batch_lifecycle(batch_id=batch["batch_id"], action="packed")["status"] == "packed"

    handover = batch_lifecycle(batch_id=batch["batch_id"], action="handover", return_state=True)
    assert handover.is_failed()       # the day's shops have no connector: the write-back must be retried
    with pytest.raises(Exception, match=f"shopops batch handover {batch['batch_id']}"):
        handover.result()
    stored = store.read_batches(engine, batch_ids=[batch["batch_id"]]).iloc[0]
    assert stored["status"] == "handed_over"
    ledger = repository.read_ledger(engine)
    outbound = ledger[ledger["reference"] == f"batch:{batch['batch_id']}"]
    assert outbound["quantity"].sum() == -stored["unit_count"] and (outbound["kind"] == "shipment").all()
    members, _ = store.read_batch_contents(engine, [batch["batch_id"]])
    assert set(members["status"]) == {"in_batch"}           # write-back pending, not pulled out
    shipped = store.orders_by_key(engine, members)
    assert set(shipped["status"]) == {"shipped"} and shipped["tracking_no"].notna().all()


def test_the_report_asks_a_person_about_missing_gifts_and_says_who_waits_for_a_companion(warehouse_env):
    """Issue 17 #8 and #6 in the run's report: a Douyin order whose own gift line (CAP) is out
    of stock ships its mug and the report's needs-a-person section and missing-gifts table say
    so; an order paid 10 minutes before the run waits for a companion and the summary says so."""
    url = warehouse_env.warehouse_url
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        orders, lines = frames_of(
            make_order("DG1", line("MUG"), line("CAP", is_gift=True), platform="douyin"),
            make_order("FR1", line("MUG"), paid_at=NOW - timedelta(minutes=10)))
        orders = orders.assign(total_minor=0, modified_at=orders["paid_at"], created_at=orders["paid_at"])
        repository.upsert_orders(engine, CanonicalFrames(orders=orders, lines=lines.assign(line_total_minor=0),
                                                         refunds=pd.DataFrame(columns=list(REFUND_COLUMNS))))
        repository.upsert_skus(engine, CATALOGUE.assign(default_warehouse="HZ"))
        repository.post_ledger(engine, pd.DataFrame([("MUG", "HZ", NOW - timedelta(days=30), "opening", 5, "opening")],
                                                    columns=list(repository.LEDGER_COLUMNS)))
        counts = shipping_batches(now=NOW)
        assert (counts["orders"], counts["held"], counts["missing_gifts"], counts["waiting_merge"]) == (1, 0, 1, 1)
        def newest(key):   # the session's one Prefect server keeps earlier tests' artifacts too
            return max(asyncio.run(_artifacts(key)), key=lambda a: a.created).data

        summary = newest("shipping-batches")
        assert "1 order(s) ship without a gift that is out of stock" in summary
        assert "1 order(s) paid less than 30 min ago wait for a companion" in summary
        missing = newest("shipping-batches-missing-gifts")
        assert "DG1" in str(missing) and "CAP" in str(missing)
        slips = next((warehouse_env.report_folder / "shipping-batches").glob("*-packing-slips.csv"))
        assert "gift out of stock, not in the parcel: CAP" in slips.read_text(encoding="utf-8-sig")
    finally:
        engine.dispose()


def test_a_run_that_crashed_after_storing_its_batches_gets_its_papers_from_the_next_run(day_warehouse):
    """Issue 19 #3: batches stored, then the process died before their papers were written (here:
    the plan stored by the same task the flow uses, and no papers). The next run writes every
    missing paper of a live batch, and only those: a batch whose papers exist keeps its files."""
    from tasks.shipping import (DOCUMENTS, batching_rules, document_path, load_shipping_inputs, plan_batches,
                                store_plan)
    from config.schema import load_config

    settings, engine = day_warehouse
    url = settings.warehouse_url
    config = load_config()
    rules = batching_rules(config, NOW, 10)
    plan = plan_batches(load_shipping_inputs(url), rules, config, NOW)
    store_plan(url, plan, "crashed-run", NOW)                     # … and the process died here
    stored = [b.batch_id for b in plan.batches]
    assert stored and not any(document_path(b, name).exists() for b in stored for name in DOCUMENTS)

    counts = shipping_batches(now=NOW + timedelta(minutes=1), max_orders_per_batch=10)
    assert counts["batches"] == 0                                 # nothing new to batch …
    for batch_id in stored:                                       # … but every paper is there now
        for name in DOCUMENTS:
            assert document_path(batch_id, name).exists(), (batch_id, name)
            assert document_path(batch_id, name).with_suffix(".csv").exists(), (batch_id, name)
    written = {p: p.stat().st_mtime_ns for p in (settings.report_folder / "shipping-batches").glob("*-manifest.xlsx")}
    shipping_batches(now=NOW + timedelta(minutes=2), max_orders_per_batch=10)
    assert {p: p.stat().st_mtime_ns for p in written} == written   # nothing missing: nothing rewritten
