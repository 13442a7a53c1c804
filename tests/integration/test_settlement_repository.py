"""The settlement section of the warehouse repository, on SQLite and PostgreSQL: monthly sales
per shop (placed, same-month refunds, late refunds, cost of goods) and the versions of a
settlement (numbering, status changes, final/superseded, correction requests)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa

from warehouse import repository
from warehouse.models import Refund, Sku
from warehouse.repository import SettlementFinalError, SettlementStateError

from helpers.settlement_orders import canonical

ZONE = "Asia/Shanghai"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def build_month(engine) -> None:
    """tmall, October 2026 (Asia/Shanghai):
    - T1 placed 2026-10-01 00:30 +08 (= 09-30 16:30 UTC: October in Shanghai), 2 × A, 300.00
    - T2 placed 10-15, 1 × B + 1 × C (C has no unit cost), 200.00; refunded 50.00 on 10-20
    - T3 placed 09-20 (September), refunded 80.00 on 10-05: a late refund of October
    - T4 cancelled in October, T5 pending payment: not placed revenue; T4's refund ignored
    - T6 placed 10-31 20:00 +08 (= 10-31 12:00 UTC) but its refund 10.00 is rejected
    - T7 placed 2026-11-01 00:10 +08 (= 10-31 16:10 UTC): November in Shanghai
    - T8 a USD order in October (another currency, its own row)
    - refund R9 on 10-10 for an order not in the warehouse: late
    taobao-c: T10 placed 10-02, 1 × A, 120.00, refunded 120.00 on 11-02 (a late refund of November)
    """
    with engine.begin() as conn:
        conn.execute(sa.insert(Sku.__table__), [dict(sku="A", name="a", unit_cost_minor=6000, currency="CNY"),
                                                dict(sku="B", name="b", unit_cost_minor=7000, currency="CNY"),
                                                dict(sku="C", name="c", unit_cost_minor=None, currency=None)])
    orders = [
        dict(shop="tmall", id="T1", created=utc(2026, 9, 30, 16, 30), total=30000, lines=[("A", 2, 30000)]),
        dict(shop="tmall", id="T2", created=utc(2026, 10, 15, 3), total=20000, lines=[("B", 1, 12000), ("C", 1, 8000)]),
        dict(shop="tmall", id="T3", created=utc(2026, 9, 20, 3), total=9000, lines=[("A", 1, 9000)]),
        dict(shop="tmall", id="T4", created=utc(2026, 10, 3, 3), total=5000, status="cancelled",
             lines=[("A", 1, 5000)]),
        dict(shop="tmall", id="T5", created=utc(2026, 10, 4, 3), total=5000, status="pending_payment",
             lines=[("A", 1, 5000)]),
        dict(shop="tmall", id="T6", created=utc(2026, 10, 31, 12), total=1000, lines=[("B", 1, 1000)]),
        dict(shop="tmall", id="T7", created=utc(2026, 10, 31, 16, 10), total=7000, lines=[("A", 1, 7000)]),
        dict(shop="tmall", id="T8", created=utc(2026, 10, 6, 3), total=999, currency="USD", lines=[("A", 1, 999)]),
        dict(shop="taobao-c", id="T10", created=utc(2026, 10, 2, 3), total=12000, lines=[("A", 1, 12000)]),
    ]
    refunds = [
        dict(shop="tmall", id="R2", order="T2", amount=5000, at=utc(2026, 10, 20, 3)),
        dict(shop="tmall", id="R3", order="T3", amount=8000, at=utc(2026, 10, 5, 3)),
        dict(shop="tmall", id="R4", order="T4", amount=5000, at=utc(2026, 10, 6, 3)),
        dict(shop="tmall", id="R6", order="T6", amount=1000, at=utc(2026, 10, 31, 13), status="rejected"),
        dict(shop="taobao-c", id="R10", order="T10", amount=12000, at=utc(2026, 11, 2, 3)),
    ]
    repository.upsert_orders(engine, canonical(orders, refunds))
    with engine.begin() as conn:  # a refund of an order older than the warehouse's history
        conn.execute(sa.insert(Refund.__table__).values(
            platform="taobao", shop_id="tmall", refund_id="R9", order_id="T-old", amount_minor=1500, currency="CNY",
            status="refunded", created_at=utc(2026, 10, 10, 3), modified_at=utc(2026, 10, 10, 3)))


def test_monthly_sales_split_placed_refunds_late_refunds_and_cost(engine):
    build_month(engine)
    sales = repository.monthly_sales(engine, ["2026-10", "2026-11"], ZONE)
    rows = {(r.month, r.shop_id, r.currency): r for r in sales.itertuples()}
    tmall = rows[("2026-10", "tmall", "CNY")]
    # placed: T1 300 + T2 200 + T6 10 (T3 September, T4/T5 not sales, T7 November)
    assert (tmall.orders, tmall.placed_minor) == (3, 51000)
    # refunds in October: R2 of an October order; R3 (September order) + R9 (unknown order) late;
    # R4 of a cancelled order and R6 rejected do not count
    assert (tmall.refunded_minor, tmall.late_refunded_minor) == (5000, 9500)
    # cost: T1 2 × 60 + T2 1 × 70 (+ C without cost) + T6 1 × 70 = 260.00; one unit without cost
    assert (tmall.cost_of_goods_minor, tmall.units_without_cost) == (26000, 1)
    assert rows[("2026-10", "tmall", "USD")].placed_minor == 999
    assert rows[("2026-10", "taobao-c", "CNY")].refunded_minor == 0
    november_c = rows[("2026-11", "taobao-c", "CNY")]
    assert (november_c.placed_minor, november_c.late_refunded_minor) == (0, 12000)
    assert rows[("2026-11", "tmall", "CNY")].placed_minor == 7000
    assert list(sales.columns) == list(repository.SETTLEMENT_SALES_COLUMNS)


def test_monthly_sales_of_an_empty_month_is_an_empty_frame(engine):
    sales = repository.monthly_sales(engine, ["2026-10"], ZONE)
    assert sales.empty and list(sales.columns) == list(repository.SETTLEMENT_SALES_COLUMNS)


def test_kpi_orders_of_the_month(engine):
    build_month(engine)
    orders = repository.settlement_kpi_orders(engine, "2026-10", ZONE)
    assert set(orders["order_id"]) == {"T1", "T2", "T6", "T8", "T10"}
    refunded = dict(zip(orders["order_id"], orders["refunded"]))
    assert refunded["T2"] and refunded["T10"] and not refunded["T1"] and not refunded["T6"]
    # every order's buyer is b1, who bought T3 at tmall in September: new only at taobao-c
    assert orders.loc[orders["new_buyer"], "order_id"].tolist() == ["T10"]


def test_kpi_orders_count_orders_held_for_lack_of_stock_as_oversold(engine):
    from warehouse.models import OrderHold

    build_month(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(OrderHold.__table__), [
            dict(platform="taobao", shop_id="tmall", order_id="T2", reasons=["out_of_stock: B short 1"]),
            dict(platform="taobao", shop_id="tmall", order_id="T6", reasons=["remark"])])
    orders = repository.settlement_kpi_orders(engine, "2026-10", ZONE)
    assert orders.loc[orders["oversold"], "order_id"].tolist() == ["T2"]


def line(person: str, coefficient: str | None, commission: int, components: dict | None = None) -> dict:
    return dict(person_id=person, role="operations", revenue_minor=100000, coefficient=None if coefficient is None
                else Decimal(coefficient), commission_minor=commission, annual_bonus_minor=None,
                components={"target": {"score": "1"}} if components is None else components, flags=[])


def test_versions_final_superseded_and_correction(engine):
    first, created = repository.write_settlement(
        engine, month="2026-10", preset="seed_commission", inputs_sha256="a" * 64,
        lines=[line("O1", "0.95987878787878", 137935), line("O2", None, 0, {})], status="awaiting_approval",
        flow_run_id="run-1", inputs={"month": "2026-10", "tables": {}}, kpis={"store_kpis": [{"shop_id": "tmall"}]})
    assert (first.version, first.status, first.flow_run_id, created) == (1, "awaiting_approval", "run-1", True)
    assert repository.settlement_documents(engine, first.id) == ({"month": "2026-10", "tables": {}},
                                                                 {"store_kpis": [{"shop_id": "tmall"}]})
    # the same inputs again: the same version, nothing written (one effect per inputs)
    again, created = repository.write_settlement(engine, month="2026-10", preset="seed_commission",
                                                 inputs_sha256="a" * 64, lines=[], status="awaiting_approval")
    assert (again, created) == (first, False)
    stored = repository.read_settlement_lines(engine, first.id).set_index("person_id")
    assert stored.loc["O1", "commission_minor"] == 137935
    assert Decimal(str(stored.loc["O1", "coefficient"])) == Decimal("0.95987879")  # 8 places kept
    assert stored.loc["O2", "components"] == {}

    approved = repository.finalise_settlement(engine, first.id, approved_by="王芳", note="ok")
    assert (approved.status, approved.approved_by, approved.note) == ("final", "王芳", "ok")
    assert approved.approved_at is not None and approved.approved_at.tzinfo is not None
    assert repository.finalise_settlement(engine, first.id, approved_by="someone else").approved_by == "王芳"

    # another preset numbers its own versions
    other, _ = repository.write_settlement(engine, month="2026-10", preset="plan_performance_pay",
                                           inputs_sha256="c" * 64, lines=[])
    assert other.version == 1

    # approved is final: other inputs for the month are refused, with what to do instead …
    with pytest.raises(SettlementFinalError) as refused:
        repository.write_settlement(engine, month="2026-10", preset="seed_commission", inputs_sha256="b" * 64,
                                    lines=[line("O1", "1", 140000)])
    assert "version 1 is final (approved" in str(refused.value) and "by 王芳" in str(refused.value)
    assert "cannot be changed" in str(refused.value) and "--correct-final" in str(refused.value)
    with pytest.raises(SettlementFinalError, match="cannot be changed"):
        repository.request_settlement_correction(engine, first.id, note="wrong after all")
    with pytest.raises(SettlementFinalError, match="cannot be changed"):
        repository.set_settlement_status(engine, first.id, "awaiting_approval")
    assert repository.read_settlement_lines(engine, first.id)["commission_minor"].tolist() == [137935, 0]
    # … unless the correction is explicit: a new version, the final one untouched until that is approved
    second, created = repository.write_settlement(engine, month="2026-10", preset="seed_commission",
                                                  inputs_sha256="b" * 64, lines=[line("O1", "1", 140000)],
                                                  correct_final=True)
    assert created and repository.get_settlement(engine, first.id).status == "final"
    assert (second.version, second.status) == (2, "draft")
    disputed = repository.request_settlement_correction(engine, second.id, note="tmall expenses wrong", by="王芳")
    assert disputed.status == "correction_requested" and "tmall expenses wrong" in disputed.note
    asked_again = repository.set_settlement_status(engine, second.id, "awaiting_approval", flow_run_id="run-2")
    assert (asked_again.status, asked_again.flow_run_id) == ("awaiting_approval", "run-2")
    repository.finalise_settlement(engine, second.id, approved_by="王芳")

    versions = repository.settlement_versions(engine, "2026-10", "seed_commission")
    assert [(v.version, v.status) for v in versions] == [(2, "final"), (1, "superseded")]
    assert repository.latest_settlement(engine, "2026-10", "seed_commission").version == 2
    assert len(repository.settlement_versions(engine, "2026-10")) == 3
    with pytest.raises(SettlementStateError, match="superseded"):
        repository.finalise_settlement(engine, first.id, approved_by="x")
    with pytest.raises(SettlementStateError, match="final"):
        repository.set_settlement_status(engine, second.id, "draft")
    assert repository.settlement_version(engine, "2026-10", "seed_commission", 1).id == first.id
    assert repository.settlement_version(engine, "2026-10", "seed_commission").version == 2
    with pytest.raises(SettlementStateError, match="has no version 7 \\(there are 1, 2\\)"):
        repository.settlement_version(engine, "2026-10", "seed_commission", 7)
    with pytest.raises(SettlementStateError, match="note"):
        repository.request_settlement_correction(engine, other.id, note=" ")

    coefficients = repository.final_coefficients(engine, "seed_commission", ["2026-09", "2026-10"])
    assert coefficients.to_dict("records") == [dict(month="2026-10", person_id="O1", coefficient=Decimal(1))]


def test_final_coefficients_leave_out_people_not_scored(engine):
    version, _ = repository.write_settlement(engine, month="2026-09", preset="seed_commission",
                                             inputs_sha256="d" * 64, lines=[line("O1", "0.5", 100), line("O2", None, 0, {})])
    assert repository.final_coefficients(engine, "seed_commission", ["2026-09"]).empty  # not final yet
    repository.finalise_settlement(engine, version.id, approved_by="m")
    frame = repository.final_coefficients(engine, "seed_commission", ["2026-09"])
    assert frame["person_id"].tolist() == ["O1"] and frame["coefficient"].tolist() == [Decimal("0.5")]
