"""``--as-of DAY`` (issue 23 #10) from the CLI, on a real SQLite warehouse: restock, the shipping
run and the customer-service follow-up computed for a past day as if it were that day — the
day's close in Asia/Shanghai is "now", nothing after it counts, and nothing is sent or stored.

The past day P is ten days before today (the CLI refuses today and later). Every number is
worked out in the comments.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from domain.canonical import REFUND_COLUMNS, CanonicalFrames
from shopops.cli import app
from tests.unit.test_batching import frames_of, line, make_order
from warehouse import repository
from warehouse import shipping as store
from warehouse.models import PurchaseOrder, PurchaseOrderLine

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()
P = TODAY - timedelta(days=10)


def at(day: date, hour: float) -> datetime:
    """``hour`` o'clock of ``day`` in Shanghai, in UTC."""
    return (datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(hours=hour)).astimezone(timezone.utc)


@pytest.fixture
def engine(empty_warehouse):
    return empty_warehouse


def store_orders(engine, *made):
    orders, lines = frames_of(*made)
    orders = orders.assign(total_minor=0, modified_at=orders["paid_at"], created_at=orders["paid_at"])
    repository.upsert_orders(engine, CanonicalFrames(orders=orders, lines=lines.assign(line_total_minor=0),
                                                     refunds=pd.DataFrame(columns=list(REFUND_COLUMNS))))


def ledger(*rows):
    """rows: (sku, moved_at, kind, quantity, reference)"""
    return pd.DataFrame([(sku, "HZ", moved, kind, qty, ref) for sku, moved, kind, qty, ref in rows],
                        columns=list(repository.LEDGER_COLUMNS))


def sold(order_id, day, units, **fields):
    return make_order(order_id, line("ASOF", units), paid_at=at(day, 12), status="completed", **fields)


def test_stock_restock_as_of_a_past_day_counts_nothing_after_it(warehouse_env, engine):
    repository.upsert_skus(engine, pd.DataFrame([{"sku": "ASOF", "name": "as-of tee", "supplier": "hz-apparel",
                                                  "default_warehouse": "HZ"}]))
    # up to P: 2 a day for 28 days, and on P one more order of 3 that was still waiting at P's
    # close (shipped the day after): day P sold 5, which the robust estimate clips back to 2
    history = [sold(f"H{n}", P - timedelta(days=n), 2) for n in range(28)]
    late = make_order("SHIP-LATE", line("ASOF", 3), paid_at=at(P, 12.5), status="shipped",
                      shipped_at=at(P + timedelta(days=1), 10), tracking_no="SF1")
    # after P: a run of 50 a day, an order still waiting now, a receipt, a purchase order
    after = [sold(f"A{n}", P + timedelta(days=n), 50) for n in range(1, 6)]
    waiting_now = make_order("NEW-PAID", line("ASOF", 40), paid_at=at(P + timedelta(days=6), 9))
    store_orders(engine, *history, late, *after, waiting_now)
    repository.post_ledger(engine, ledger(("ASOF", at(P - timedelta(days=40), 9), "opening", 18, "opening"),
                                          ("ASOF", at(P + timedelta(days=1), 10), "shipment", -3, "order:SHIP-LATE"),
                                          ("ASOF", at(P + timedelta(days=2), 10), "receipt", 300, "po:PO-LATE")))
    with engine.begin() as conn:
        conn.execute(sa.insert(PurchaseOrder).values(po_no="PO-LATE", supplier="hz-apparel", warehouse="HZ",
                                                     status="open", ordered_at=at(P + timedelta(days=2), 9),
                                                     expected_at=at(TODAY + timedelta(days=10), 9)))
        conn.execute(sa.insert(PurchaseOrderLine).values(po_no="PO-LATE", sku="ASOF", qty_ordered=500,
                                                         qty_received=0))

    result = CliRunner().invoke(app, ["stock", "restock", "--as-of", P.isoformat()])

    # as of P's close: on hand 18 (the receipt and the shipment came later), SHIP-LATE's 3
    # reserved → available 15; PO-LATE not yet placed → nothing in transit; NEW-PAID not yet paid.
    # d 2, σ 0, L 10 (hz-apparel) → cover 7.5 < 10 → critical; S = 2 × (10 + 7) = 34,
    # 34 − 15 = 19 → MOQ 50
    assert result.exit_code == 0, result.output
    assert "critical 1" in result.output and "sent 0" in result.output and "notifications 0" in result.output
    book = openpyxl.load_workbook(warehouse_env.report_folder / "restock-alerts" / f"restock-alerts-asof-{P}.xlsx")
    sheet = book[book.sheetnames[0]]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]]))
    assert (row["SKU"], row["level"], row["suggested qty"]) == ("ASOF", "critical", 50)
    assert (row["daily demand d"], row["σ"], row["available"], row["in transit"]) == (2, 0, 15, 0)
    assert "sent" not in header and "sent / held back because" not in header
    assert row["d and σ from"] == ("mean of 28 days, the highest 10% of selling days (at least 1) clipped to the "
                                   "next highest · σ standard deviation")
    assert f"Restock alerts {P} (recomputed as of that day)" in sheet.oddHeader.center.text
    # a past day tells nobody and moves no cooldown; today's report file is untouched
    assert repository.read_alerts(engine).empty and repository.last_sent_alerts(engine).empty
    assert not (warehouse_env.report_folder / "restock-alerts" / f"restock-alerts-{TODAY}.xlsx").exists()


def shipping_day(engine):
    """Orders around P (MUG, 50 in stock at HZ):
    O1 paid on P, still waiting; O2 paid two days before P (deadline P 12:00), shipped the day
    after P; O3 and O5 paid after P, waiting now; O4 paid the day before P, shipped on P."""
    repository.upsert_skus(engine, pd.DataFrame([{"sku": "MUG", "name": "Mug", "default_warehouse": "HZ",
                                                  "bin_location": "B-02-01"}]))
    repository.post_ledger(engine, ledger(("MUG", at(P - timedelta(days=30), 9), "opening", 50, "opening")))
    store_orders(engine,
                 make_order("O1", line("MUG"), paid_at=at(P, 10)),
                 make_order("O2", line("MUG"), paid_at=at(P - timedelta(days=2), 12), status="shipped",
                            shipped_at=at(P + timedelta(days=1), 10), tracking_no="SF2"),
                 make_order("O3", line("MUG"), paid_at=at(P + timedelta(days=1), 10)),
                 make_order("O4", line("MUG"), paid_at=at(P - timedelta(days=1), 10), status="shipped",
                            shipped_at=at(P, 9), tracking_no="SF4"),
                 make_order("O5", line("MUG"), paid_at=at(P + timedelta(days=2), 10)))


def test_batch_run_as_of_a_past_day_plans_what_was_waiting_then_and_writes_nothing(warehouse_env, engine):
    shipping_day(engine)

    result = CliRunner().invoke(app, ["batch", "run", "--as-of", P.isoformat()])

    # at P's close (24:00): O1 (14 h after payment, 34 h left) and O2 (shipped only later; 12 h
    # past its 48 h deadline) were waiting; O3 and O5 were not paid yet, O4 had left
    assert result.exit_code == 0, result.output
    for term in ("batches 1", "orders 2", "considered 2", "near deadline 0", "past deadline 1", "new batches 0"):
        assert term in result.output, result.output
    book = openpyxl.load_workbook(warehouse_env.report_folder / "shipping-batches" / f"shipping-batches-asof-{P}.xlsx")
    deadline = [r for r in book[book.sheetnames[4]].iter_rows(min_row=2, values_only=True) if r[0]]
    assert [r[2] for r in deadline] == ["O2"]
    assert store.read_batches(engine).empty and store.open_holds(engine).empty     # nothing written
    assert not list((warehouse_env.report_folder / "shipping-batches").glob("*pick-list*"))


def test_followup_as_of_a_past_day_lists_that_day_as_it_stood(warehouse_env, engine):
    shipping_day(engine)

    result = CliRunner().invoke(app, ["followup", "--as-of", P.isoformat()])

    # paid on P and not shipped by its close: O1; past the deadline then: O2 (shipped later)
    assert result.exit_code == 0, result.output
    assert "paid yesterday, not shipped 1" in result.output and "near or past deadline 1" in result.output, result.output
    path = warehouse_env.report_folder / "customer-service-followup" / f"customer-service-followup-asof-{P}.xlsx"
    book = openpyxl.load_workbook(path)
    ids = {name: [r[1] for r in book[name].iter_rows(min_row=2, values_only=True) if r[1]]
           for name in book.sheetnames}
    assert list(ids.values())[0] == ["O1"] and list(ids.values())[2] == ["O2"]
    assert f"(orders paid {P}) (recomputed as of that day)" in book[book.sheetnames[0]].oddHeader.center.text


@pytest.mark.parametrize("command", [["stock", "restock"], ["batch", "run"], ["followup"]])
def test_as_of_refuses_a_day_not_yet_over_and_a_malformed_date(warehouse_env, command):
    runner = CliRunner()
    tomorrow = TODAY + timedelta(days=2)    # later than today whenever the test runs (today itself: tests/unit)
    future = runner.invoke(app, [*command, "--as-of", tomorrow.isoformat()])
    assert future.exit_code == 2
    assert f"--as-of {tomorrow} is not a past day (today is " in future.output
    assert "for today run the command without --as-of" in future.output
    malformed = runner.invoke(app, [*command, "--as-of", "2026-02-30"])
    assert malformed.exit_code == 2
    assert "--as-of '2026-02-30' is not a date; give the day as YYYY-MM-DD" in malformed.output
