"""PDD and Douyin deposit presales (定金预售) from the sandbox into the warehouse (issue 18 #5, #6,
conformance: "presale steps").

The sandbox generates presale orders on PDD and Douyin too (``scenario.presale_share``) and renders
them as the platforms document them: PDD ``trade_type`` 1 with ``step_order_info``
(``step_trade_status`` 1 deposit paid / 2 balance paid, ``advanced_paid_fee``, ``step_paid_fee``),
Douyin ``trade_type`` 2 with a two-phase ``order_phase_list`` and ``main_status`` 103 while only the
deposit is paid. Pulled through the real connectors into a real warehouse, every presale order
lands with the ground truth's status, total, payment time and presale flags: a deposit-only order
is held from shipping, one whose balance is paid is ``paid`` and ships.
"""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors import default_settings
from domain.batching import deposit_only
from domain.money import major_to_minor
from helpers.ingest_support import assert_equals_truth, sandbox_warehouse
from helpers.sandbox_connector import sandbox_connector
from sandbox import generate, wire
from sandbox.scenario import load_scenario
from sandbox.server import SandboxServer
from tasks.ingest import pull_shop

SHOPS = ["pdd-main", "douyin-main"]
COMPARED = ["status", "total_minor", "paid_at", "is_presale", "presale_balance_paid"]


@pytest.fixture(scope="module")
def world():
    """The smoke day with only the PDD and Douyin shops, half of their orders presales (~50 orders)."""
    smoke = load_scenario("smoke")
    return generate(smoke.model_copy(update={"shops": [s for s in smoke.shops if s.id in SHOPS],
                                             "presale_share": 0.5, "orders_per_day": 60}))


@pytest.fixture(scope="module")
def server(world):
    with SandboxServer(world) as running:
        yield running


def presale_truth(world, shop_id: str) -> pd.DataFrame:
    """The ground truth's presale orders a pull ending at ``world.end`` stores (those modified
    before the platform's safety lag)."""
    orders = world.ground_truth(shop_id, world.end).orders
    end = world.end - default_settings(world.shop(shop_id).platform, "").safety_lag
    orders = orders[orders["modified_at"] <= end]
    return orders[orders["is_presale"]].set_index("order_id")[COMPARED].sort_index()


def stored_presales(engine, shop_id: str) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text("select order_id, status, total_minor, paid_at, is_presale, presale_balance_paid "
                                    "from orders where shop_id = :shop and is_presale"), conn, params={"shop": shop_id})
    frame["paid_at"] = pd.to_datetime(frame["paid_at"])
    if frame["paid_at"].dt.tz is None:   # SQLite gives naive UTC back
        frame["paid_at"] = frame["paid_at"].dt.tz_localize("UTC")
    frame = frame.astype({"total_minor": "int64", "is_presale": bool, "presale_balance_paid": bool})
    return frame.set_index("order_id")[COMPARED].sort_index()


def test_pdd_and_douyin_presales_land_with_the_ground_truths_status_and_amounts(world, server, database_url,
                                                                              tmp_path, monkeypatch):
    config, engine = sandbox_warehouse(world, server.url, database_url, tmp_path / "config", monkeypatch)
    for shop_id in SHOPS:
        result = pull_shop(config, shop_id, database_url=database_url, clock=lambda: world.end,
                           since=world.scenario.start - timedelta(hours=1))
        assert result.status == "ok", result.error
    assert_equals_truth(engine, world, world.end, SHOPS)

    for shop_id in SHOPS:
        truth = presale_truth(world, shop_id)
        deposit_paid = truth[truth["status"] == "presale_deposit_paid"]
        balance_paid = truth[(truth["status"] == "paid") & truth["presale_balance_paid"]]
        assert len(deposit_paid) and len(balance_paid), \
            f"{shop_id}: the world needs presales with only the deposit paid and with the balance paid too " \
            f"(found {len(truth)} presale orders)"
        stored = stored_presales(engine, shop_id)
        pd.testing.assert_frame_equal(stored, truth, check_dtype=False, obj=f"{shop_id} presale orders")
        held = deposit_only(stored.reset_index()).to_numpy()
        assert held.tolist() == (stored["status"] == "presale_deposit_paid").tolist(), \
            f"{shop_id}: a deposit-only presale must be held from shipping, a balance-paid one not"
    engine.dispose()


def _pulled(world, server, shop_id: str) -> dict[str, dict]:
    """Each order's newest record as the connector reads it from the sandbox."""
    with sandbox_connector(world, server, shop_id) as connector:
        records = [r for page in connector.pull_orders(world.scenario.start, world.end) for r in page.records]
    key = "order_sn" if shop_id == "pdd-main" else "order_id"
    return {str(r[key]): r for r in records}


def test_pdd_step_order_info_carries_the_deposit_and_what_is_paid(world, server):
    """``step_order_info`` as PDD documents it (定金订单信息, null on other orders): money in yuan
    strings, the deposit paid, what is paid so far (deposit, then all of ``pay_amount``)."""
    truth = world.ground_truth("pdd-main", world.end).orders.set_index("order_id")
    records = _pulled(world, server, "pdd-main")
    assert sum(bool(r["step_order_info"]) for r in records.values()) >= 2, "the world has PDD presales"
    for order_id, record in records.items():
        row = truth.loc[order_id]
        if not row["is_presale"]:
            assert record["trade_type"] == 0 and record["step_order_info"] is None
            continue
        step = record["step_order_info"]
        deposit = wire.presale_deposit(row["total_minor"])
        assert record["trade_type"] == 1 and major_to_minor(record["pay_amount"]) == row["total_minor"]
        assert step["step_trade_status"] == (2 if row["presale_balance_paid"] else 1), order_id
        assert major_to_minor(step["advanced_paid_fee"]) == deposit
        assert major_to_minor(step["step_paid_fee"]) == (row["total_minor"] if row["presale_balance_paid"] else deposit)


def test_douyin_order_phase_list_carries_deposit_and_balance_phases(world, server):
    """Douyin ``trade_type`` 2, ``order_phase_list`` of two phases (deposit, balance with the
    postage) adding up to ``pay_amount``, each paid (``pay_success``, ``phase_pay_time``) as the
    truth says, and ``main_status`` 103 (部分支付) with ``order_status`` 1 while the balance is due."""
    truth = world.ground_truth("douyin-main", world.end).orders.set_index("order_id")
    records = _pulled(world, server, "douyin-main")
    seen = 0
    for order_id, record in records.items():
        row = truth.loc[order_id]
        if not row["is_presale"]:
            assert record["trade_type"] == 0 and record["order_phase_list"] == []
            continue
        deposit_phase, balance_phase = record["order_phase_list"]
        assert record["trade_type"] == 2 and record["pay_amount"] == row["total_minor"]
        assert (deposit_phase["current_phase"], balance_phase["current_phase"]) == (1, 2)
        assert deposit_phase["phase_payable_price"] == wire.presale_deposit(row["total_minor"])
        assert deposit_phase["phase_payable_price"] + balance_phase["phase_payable_price"] == row["total_minor"]
        assert balance_phase["phase_post_amount"] == row["post_fee_minor"]
        deposit_paid = row["status"] != "pending_payment"
        assert deposit_phase["pay_success"] is deposit_paid
        assert balance_phase["pay_success"] is bool(row["presale_balance_paid"])
        assert (balance_phase["phase_pay_time"] > 0) is bool(row["presale_balance_paid"])
        if row["status"] == "presale_deposit_paid":
            assert (record["main_status"], record["order_status"]) == (103, 1), order_id
            seen += 1
    assert seen, "the world has Douyin presales with only the deposit paid"
