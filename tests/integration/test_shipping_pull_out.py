"""Pulling several orders out of stored batches at once (domain-rules.md §4: "an order
cancelled or refunded after batching is pulled out of its batch and reported"), on a real
SQLite file and on PostgreSQL (the ``database_url`` fixture runs each test on both).

Issue 17 defect 1: with two or more orders to pull out, ``warehouse.shipping.pull_out`` ran an
``IN`` inside an ``executemany`` and every ``shipping-batches`` run failed from then on.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from domain.batching import BatchingRules
from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, ORDER_KEY, CanonicalFrames, empty_frame
from domain.canonical import REFUND_COLUMNS
from tasks.shipping import pull_out_changed_orders
from warehouse import migrate, repository
from warehouse import shipping as store
from warehouse.db import make_engine

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
SHOP = "tmall-flagship"
RULES = BatchingRules(ship_deadline_hours={"default": 48}, near_deadline_hours=6, max_orders_per_batch=200,
                      merge_buffer_minutes=30)
#: batch → its orders, each with (sku, quantity) allocated from HZ01
BATCHES = {
    "HZ01-SF-single-aaaa": {"O1": ("MUG", 1), "O2": ("MUG", 1), "O3": ("CAP", 1), "O4": ("CAP", 1)},
    "HZ01-SF-multi-bbbb": {"O5": ("TEE", 2), "O6": ("TEE", 3)},
    "HZ01-SF-multi-cccc": {"O7": ("TEE", 2)},
}


def frames(statuses: dict[str, str], modified: datetime) -> CanonicalFrames:
    """The batched orders as the marketplace now reports them."""
    orders, lines = [], []
    for members in BATCHES.values():
        for order_id, (sku, quantity) in members.items():
            row = dict.fromkeys(ORDER_COLUMNS)
            row.update(platform="taobao", shop_id=SHOP, order_id=order_id, status=statuses.get(order_id, "paid"),
                       currency="CNY", total_minor=1000 * quantity, post_fee_minor=0, discount_minor=0,
                       created_at=T0, paid_at=T0, modified_at=modified, line_count=1, buyer_key=f"b-{order_id}")
            orders.append(row)
            line = dict.fromkeys(LINE_COLUMNS)
            line.update(platform="taobao", shop_id=SHOP, order_id=order_id, line_no=1, line_id=f"{order_id}-1",
                        sku=sku, quantity=quantity, unit_price_minor=1000, line_total_minor=1000 * quantity,
                        currency="CNY", is_gift=False)
            lines.append(line)
    return CanonicalFrames(orders=pd.DataFrame(orders, columns=list(ORDER_COLUMNS)),
                           lines=pd.DataFrame(lines, columns=list(LINE_COLUMNS)),
                           refunds=empty_frame(REFUND_COLUMNS))


def stored_batches(engine) -> None:
    batches = pd.DataFrame([{"batch_id": b, "warehouse": "HZ01", "carrier": "SF", "kind": b.split("-")[2],
                             "status": "created", "order_count": len(m),
                             "unit_count": sum(q for _, q in m.values()), "created_at": T0, "flow_run_id": None}
                            for b, m in BATCHES.items()], columns=list(store.BATCH_COLUMNS))
    members = pd.DataFrame([{"batch_id": b, "platform": "taobao", "shop_id": SHOP, "order_id": o,
                             "merge_key": f"M-{o}", "status": "in_batch", "tracking_no": f"SF{i:012d}",
                             "pulled_out_reason": None}
                            for i, (b, m) in enumerate((b, m) for b, m in BATCHES.items()) for o in m],
                           columns=list(store.BATCH_ORDER_COLUMNS))
    lines = pd.DataFrame([{"batch_id": b, "platform": "taobao", "shop_id": SHOP, "order_id": o, "line_no": 1,
                           "sku": sku, "title": sku, "variant": None, "is_gift": False, "quantity": q,
                           "warehouse": "HZ01"}
                          for b, m in BATCHES.items() for o, (sku, q) in m.items()]
                         # O1 left without its promotion gift (out of stock): a line of 0 units
                         + [{"batch_id": "HZ01-SF-single-aaaa", "platform": "taobao", "shop_id": SHOP,
                             "order_id": "O1", "line_no": 1, "sku": "STICKER", "title": "promotion gift (赠品)",
                             "variant": None, "is_gift": True, "quantity": 0, "warehouse": "HZ01"}],
                         columns=list(store.BATCH_LINE_COLUMNS))
    assert store.write_batches(engine, batches, members, lines) == 3


def test_several_orders_leave_one_batch_and_several_batches_in_one_run(database_url):
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        repository.upsert_orders(engine, frames({}, T0))
        stored_batches(engine)
        # later pulls: three orders of the first batch, one of the second, the only one of the third
        changed = {"O1": "cancelled", "O2": "refunded", "O3": "shipped", "O6": "refunding", "O7": "cancelled"}
        repository.upsert_orders(engine, frames(changed, T0 + timedelta(hours=1)))

        result = pull_out_changed_orders(database_url, RULES)

        pulled = result.pulled.set_index("order_id")
        assert sorted(pulled.index) == sorted(changed)
        assert pulled.loc["O1", "reason"] == "cancelled after batching"
        assert pulled.loc["O3", "reason"] == "shipped outside this batch (marketplace back office?)"
        released = result.released.groupby("sku")["quantity"].sum().to_dict()
        assert released == {"MUG": 2, "CAP": 1, "TEE": 3 + 2}          # O1's missing gift released nothing
        members, _ = store.read_batch_contents(engine, list(BATCHES))
        status = members.set_index("order_id")["status"].to_dict()
        assert status == {"O1": "pulled_out", "O2": "pulled_out", "O3": "pulled_out", "O4": "in_batch",
                          "O5": "in_batch", "O6": "pulled_out", "O7": "pulled_out"}
        counts = store.read_batches(engine).set_index("batch_id")[["status", "order_count", "unit_count"]]
        assert counts.loc["HZ01-SF-single-aaaa"].tolist() == ["created", 1, 1]
        assert counts.loc["HZ01-SF-multi-bbbb"].tolist() == ["created", 1, 2]
        assert counts.loc["HZ01-SF-multi-cccc"].tolist() == ["cancelled", 0, 0]   # its only order left

        again = pull_out_changed_orders(database_url, RULES)   # the next run: nothing left to pull out
        assert again.pulled.empty and again.released.empty
        assert set(result.released[list(ORDER_KEY)].itertuples(index=False, name=None)) == {
            ("taobao", SHOP, o) for o in changed}
    finally:
        engine.dispose()
