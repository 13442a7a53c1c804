"""Shipping batches end to end against the sandbox marketplace over real HTTP, on SQLite and
PostgreSQL: ingest → batch → picked → packed → handover (ledger, tracking numbers written back
through each platform's connector) → the next ingestion sees those orders shipped; a refund
planted after batching pulls its order out and frees its stock. Nothing is mocked.

The steps of a shipping-batches run are called as the flow calls them (its Prefect wrapper
is tested in tests/flows/test_shipping_flow.py).
"""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import requests
import sqlalchemy as sa
from typer.testing import CliRunner

from config.schema import load_config
from config.settings import get_settings
from domain.batching import BatchError
from domain.canonical import ORDER_KEY
from domain.stock import RESERVING_STATUSES, positions
from sandbox import generate
from sandbox.server import SandboxServer
from shopops.cli import app
from tasks.catalogue import store_catalogue
from tasks.ingest import pull_shop
from tasks.shipping import (batching_rules, load_shipping_inputs, move_batch, plan_batches, pull_out_changed_orders,
                            store_plan, write_batch_documents)
from tests.helpers.ingest_support import HASH_KEY, SHOPS, credential_env, write_config
from warehouse import migrate, repository
from warehouse import shipping as store
from warehouse.db import make_engine

WAREHOUSE = "HZ01"
OPENING_UNITS = 40


@pytest.fixture
def world():
    """A fresh smoke world per test: hand-overs and planted refunds change its history."""
    return generate("smoke")


@pytest.fixture
def server(world):
    with SandboxServer(world) as running:
        yield running


@pytest.fixture
def config(world, server, tmp_path, monkeypatch):
    for name, value in credential_env(world.credentials).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SHOPOPS_PII_HASH_KEY", HASH_KEY)
    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path / "data"))
    target = write_config(tmp_path / "config", server.url)
    monkeypatch.setenv("SHOPOPS_CONFIG_DIR", str(target))
    get_settings.cache_clear()
    yield load_config(target)
    get_settings.cache_clear()


@pytest.fixture
def warehouse(database_url, world, config, monkeypatch):
    """Migrated warehouse with the sandbox's catalogue and an opening stock of every SKU."""
    monkeypatch.setenv("SHOPOPS_DATABASE_URL", database_url)
    get_settings.cache_clear()
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    store_catalogue(engine, world.catalogue)
    repository.post_ledger(engine, pd.DataFrame({
        "sku": world.catalogue["sku"], "warehouse": WAREHOUSE, "moved_at": pd.Timestamp(world.scenario.start),
        "kind": "opening", "quantity": OPENING_UNITS, "reference": "opening"}))
    yield database_url, engine
    engine.dispose()


def pull_all(config, url, clock_at, since=None):
    results = {shop: pull_shop(config, shop, database_url=url, since=since, clock=lambda: clock_at) for shop in SHOPS}
    assert {r.status for r in results.values()} == {"ok"}, {s: r.error for s, r in results.items() if r.error}
    return results


def shipping_run(config, url, now):
    """The steps of the shipping-batches flow, in its order, without Prefect."""
    rules = batching_rules(config, now)
    pulled = pull_out_changed_orders(url, rules)
    plan = plan_batches(load_shipping_inputs(url), rules, config, now)
    stored = store_plan(url, plan, None, now)
    documents = write_batch_documents(url, sorted({b.batch_id for b in plan.batches} | set(pulled.batch_ids)))
    return pulled, plan, stored, documents


def stored_orders(engine, keys: pd.DataFrame) -> pd.DataFrame:
    return store.orders_by_key(engine, keys).set_index(list(ORDER_KEY))


def on_hand(engine) -> pd.Series:
    ledger = repository.read_ledger(engine)
    return ledger.groupby("sku")["quantity"].sum()


def test_handover_writes_tracking_back_and_the_next_pull_sees_the_orders_shipped(config, world, server, warehouse):
    url, engine = warehouse
    end = world.end
    server.set_clock(end)
    pull_all(config, url, end, since=world.scenario.start - timedelta(hours=1))

    pulled, plan, stored, documents = shipping_run(config, url, end)
    assert pulled.pulled.empty and plan.batches, "the smoke world has paid orders waiting at its end"
    assert stored["batches_new"] == len(plan.batches)
    assert stored["holds_new"] == len(plan.held) > 0
    held = store.open_holds(engine)
    assert all(len(r) == len(d) > 0 for r, d in zip(held["reasons"], held["details"]))   # every reason, in words
    assert len(documents) == 3 * len(plan.batches) and all(p.exists() for p in documents["csv"])

    again = shipping_run(config, url, end)[1]           # a rerun batches nothing twice
    # the orders left are the held ones and those paid within merge_buffer_minutes of the end,
    # which wait for a companion (§4 merge)
    assert again.batches == [] and again.candidates == len(plan.held) + len(plan.waiting)

    batch = max(plan.batches, key=lambda b: (b.orders["shop_id"].nunique(), b.order_count))   # most platforms
    ids = batch.batch_id
    with pytest.raises(BatchError, match=f"batch {ids} is 'created', so it cannot become 'packed'.*"
                                         f"run `shopops batch picked {ids}`"):
        move_batch(config, url, ids, "packed", end)
    assert move_batch(config, url, ids, "picked", end).status == "picked"
    assert move_batch(config, url, ids, "packed", end).status == "packed"

    before = on_hand(engine)
    # handed over at the world's end, before any shipment the generated history has in store
    # for these orders (the first pull read up to end − safety lag: this is news to it)
    shipped_at = end
    result = move_batch(config, url, ids, "handover", shipped_at)
    assert (result.status, result.write_back_errors, result.confirmed) == ("handed_over", [], batch.order_count)

    # the ledger goes down by exactly the shipped units, SKU by SKU
    shipped_units = batch.lines_in_batch().groupby("sku")["quantity"].sum()
    moved = (on_hand(engine) - before).fillna(0)
    assert (moved[moved != 0] == -shipped_units.reindex(moved[moved != 0].index)).all()
    assert set(moved[moved != 0].index) == set(shipped_units.index) and moved.sum() == -batch.unit_count

    members, _ = store.read_batch_contents(engine, [ids])
    assert set(members["status"]) == {"shipped"} and members["tracking_no"].str.match(r"^[A-Z]+\d{12}$").all()
    written = requests.get(f"{server.url}/_sandbox/writes", timeout=10).json()["shipments"]
    assert {(w["shop_id"], w["order_id"], w["tracking_no"]) for w in written} == set(
        zip(members["shop_id"], members["order_id"], members["tracking_no"]))

    # the next ingestion reads them back from the marketplaces: shipped, at the hand-over time
    later = shipped_at + timedelta(minutes=10)
    server.set_clock(later)
    results = pull_all(config, url, later)
    assert sum(r.orders_updated for r in results.values()) >= batch.order_count
    orders = stored_orders(engine, members).join(members.set_index(list(ORDER_KEY))[["tracking_no"]], rsuffix="_ours")
    assert (orders["status"] == "shipped").all()
    assert (pd.to_datetime(orders["modified_at"], utc=True) == pd.Timestamp(shipped_at).floor("s")).all(), \
        orders["modified_at"].to_string()
    with_tracking = orders[orders.index.get_level_values("platform") != "amazon"]   # getOrders carries none
    assert (with_tracking["tracking_no"] == with_tracking["tracking_no_ours"]).all()

    with pytest.raises(BatchError, match="is 'handed_over', so it cannot become 'picked': it is finished"):
        move_batch(config, url, ids, "picked", later)
    repeat = move_batch(config, url, ids, "handover", later)           # nothing pending: nothing posted again
    assert (repeat.confirmed, repeat.ledger_posted, repeat.write_back_errors) == (0, 0, [])
    assert on_hand(engine).sum() == before.sum() - batch.unit_count
    server.set_clock(end)


def test_a_refund_after_batching_pulls_the_order_out_and_frees_its_stock(config, world, server, warehouse):
    url, engine = warehouse
    end = world.end
    server.set_clock(end)
    pull_all(config, url, end, since=world.scenario.start - timedelta(hours=1))
    plan = shipping_run(config, url, end)[1]
    # an order of a platform whose order list shows refunds, alone in its parcel
    members = pd.concat([b.orders.assign(batch_id=b.batch_id) for b in plan.batches])
    members = members[~members["platform"].isin(["amazon"]) & ~members["merge_key"].duplicated(keep=False)]
    victim = members.iloc[0]
    key = tuple(victim[list(ORDER_KEY)])
    batch = next(b for b in plan.batches if b.batch_id == victim["batch_id"])
    units = batch.lines[batch.lines["order_id"] == key[2]].groupby("sku")["quantity"].sum()
    move_batch(config, url, batch.batch_id, "picked", end)

    def available() -> pd.Series:
        inputs = load_shipping_inputs(url)
        reserving = repository.open_order_lines(engine, RESERVING_STATUSES, fallback_warehouse="*")
        return positions(inputs.ledger, reserving, inputs.purchase_orders).groupby("sku")["available"].sum()

    def reserved_by_others() -> pd.Series:
        """Units the other paid orders reserve: the clock moves, so they change too."""
        lines = repository.open_orders(engine, RESERVING_STATUSES).lines
        return lines[lines["order_id"] != key[2]].groupby("sku")["quantity"].sum()

    before, others_before = available(), reserved_by_others()
    refund_at = end
    reply = requests.post(f"{server.url}/_sandbox/refund", json={"shop_id": key[1], "order_id": key[2]}, timeout=10)
    assert reply.status_code == 200, reply.text
    later = refund_at + timedelta(minutes=5)
    server.set_clock(later)
    pull_all(config, url, later)
    assert stored_orders(engine, pd.DataFrame([key], columns=list(ORDER_KEY)))["status"].item() == "refunding"

    pulled, replan, _, documents = shipping_run(config, url, later)
    assert pulled.pulled[list(ORDER_KEY)].apply(tuple, axis=1).tolist() == [key]
    assert pulled.pulled["reason"].item() == "refund requested after batching"
    assert pulled.released.groupby("sku")["quantity"].sum().to_dict() == units.to_dict()
    stored, _ = store.read_batch_contents(engine, [batch.batch_id])
    row = stored.set_index(list(ORDER_KEY)).loc[key]
    assert (row["status"], row["pulled_out_reason"]) == ("pulled_out", "refund requested after batching")
    counts = store.read_batches(engine, batch_ids=[batch.batch_id]).iloc[0]
    assert (counts["order_count"], counts["unit_count"]) == (batch.order_count - 1, batch.unit_count - units.sum())
    # its stock is free again: available rises by exactly its units (net of what other orders did)
    others = (reserved_by_others() - others_before).reindex(units.index).fillna(0)
    assert (available().reindex(units.index) - before.reindex(units.index) + others).to_dict() == units.to_dict()
    # its papers were written again without it
    slips = documents[(documents["batch_id"] == batch.batch_id) & (documents["document"] == "packing-slips")]
    text = slips["csv"].iloc[0].read_text(encoding="utf-8-sig")
    assert key[2] not in text and (batch.order_count == 1 or text.count("\n") == batch.order_count)
    assert replan.batches == []          # a refunding order is held, not batched again
    server.set_clock(end)


def test_the_cli_moves_a_batch_and_names_the_next_step(config, world, server, warehouse, english):
    url, engine = warehouse
    server.set_clock(world.end)
    pull_all(config, url, world.end, since=world.scenario.start - timedelta(hours=1))
    batch = shipping_run(config, url, world.end)[1].batches[0]
    runner = CliRunner()
    wrong = runner.invoke(app, ["batch", "handover", batch.batch_id])
    assert wrong.exit_code == 1
    assert f"run `shopops batch picked {batch.batch_id}`" in wrong.output
    done = runner.invoke(app, ["batch", "picked", batch.batch_id])
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["batch", "list"])
    assert batch.batch_id in listed.output and "picked" in listed.output
    missing = runner.invoke(app, ["batch", "picked", "NO-SUCH-BATCH"])
    assert missing.exit_code == 1 and "there is no batch NO-SUCH-BATCH" in missing.output
    with engine.connect() as conn:
        status = conn.scalar(sa.text("select status from shipping_batches where batch_id = :b"), {"b": batch.batch_id})
    assert status == "picked"
