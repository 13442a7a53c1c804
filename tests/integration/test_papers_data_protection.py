"""The shipping papers (.xlsx and .csv) of a stored batch, written by ``write_batch_documents``
from a real warehouse (SQLite file and PostgreSQL): what a buyer typed stays inert text and
masked (issue 19 #11, #12), and an empty variant prints as nothing (#18)."""
from __future__ import annotations

import csv

import openpyxl
import pytest

from config.settings import get_settings
from tasks.shipping import write_batch_documents
from tests.integration.test_shipping_pull_out import BATCHES, T0, frames
from warehouse import migrate, repository
from warehouse import shipping as store
from warehouse.db import make_engine

#: buyer remarks as typed, per order of the first two batches
REMARKS = {
    "O1": '=HYPERLINK("http://x","y")', "O2": "+1", "O3": "-2+3", "O4": "@SUM(A1)",
    "O5": "改发 文三路100号3幢201室, 电话 0571-88881234 / 13812345678, mail bob.norman@example.com",
}


def stored_batches(engine) -> None:
    """The batches of test_shipping_pull_out, one line with a variant and the others without
    (a batch's lines then read back with missing variants as NaN)."""
    import pandas as pd

    batches = pd.DataFrame([{"batch_id": b, "warehouse": "HZ01", "carrier": "SF", "kind": b.split("-")[2],
                             "status": "created", "order_count": len(m),
                             "unit_count": sum(q for _, q in m.values()), "created_at": T0, "flow_run_id": None}
                            for b, m in BATCHES.items()], columns=list(store.BATCH_COLUMNS))
    members = pd.DataFrame([{"batch_id": b, "platform": "taobao", "shop_id": "tmall-flagship", "order_id": o,
                             "merge_key": f"M-{o}", "status": "in_batch", "tracking_no": f"SF{i:012d}",
                             "pulled_out_reason": None}
                            for i, (b, m) in enumerate(BATCHES.items()) for o in m],
                           columns=list(store.BATCH_ORDER_COLUMNS))
    lines = pd.DataFrame([{"batch_id": b, "platform": "taobao", "shop_id": "tmall-flagship", "order_id": o,
                           "line_no": 1, "sku": sku, "title": sku, "variant": "颜色:黑色" if o == "O5" else None,
                           "is_gift": False, "quantity": q, "warehouse": "HZ01"}
                          for b, m in BATCHES.items() for o, (sku, q) in m.items()]
                         + [{"batch_id": "HZ01-SF-single-aaaa", "platform": "taobao", "shop_id": "tmall-flagship",
                             "order_id": "O1", "line_no": 1, "sku": "STICKER", "title": "promotion gift (赠品)",
                             "variant": None, "is_gift": True, "quantity": 0, "warehouse": "HZ01"}],
                         columns=list(store.BATCH_LINE_COLUMNS))
    assert store.write_batches(engine, batches, members, lines) == 3


@pytest.fixture
def papers(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    get_settings.cache_clear()
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    try:
        stored = frames({}, T0)
        # the remarks go in as a connector would hand them over (not yet masked): the papers
        # must be safe whatever the warehouse holds
        orders = stored.orders.assign(buyer_remark=stored.orders["order_id"].map(REMARKS))
        repository.upsert_orders(engine, stored._replace(orders=orders) if hasattr(stored, "_replace")
                                 else type(stored)(orders=orders, lines=stored.lines, refunds=stored.refunds))
        stored_batches(engine)
        written = write_batch_documents(database_url, list(BATCHES)[:2])
    finally:
        engine.dispose()
    yield written.set_index(["batch_id", "document"])
    get_settings.cache_clear()


def _slips(papers):
    return [row for batch_id in list(BATCHES)[:2] for row in [papers.loc[(batch_id, "packing-slips")]]]


def test_buyer_remarks_are_text_in_the_xlsx_and_escaped_in_the_csv(papers):
    cells, rows = {}, {}
    for row in _slips(papers):
        sheet = openpyxl.load_workbook(row["xlsx"]).active
        header = [c.value for c in sheet[1]]
        for line in sheet.iter_rows(min_row=2):
            cells[line[header.index("order")].value] = line[header.index("buyer remark")]
        with open(row["csv"], newline="", encoding="utf-8-sig") as handle:
            for record in csv.DictReader(handle):
                rows[record["order"]] = record["buyer remark"]
    for order in ("O1", "O2", "O3", "O4"):
        cell = cells[order]
        assert cell.data_type == "s", (order, cell.data_type)           # a string, never a formula
        assert cell.value == REMARKS[order] and cell.quotePrefix, order  # shown as typed, never evaluated
        assert rows[order] == "'" + REMARKS[order], order               # OWASP: a leading quote in the .csv
    assert not any(c.data_type == "f" for c in cells.values())


def test_contact_data_typed_in_a_remark_is_masked_on_the_slip(papers):
    texts = []
    for row in _slips(papers):
        sheet = openpyxl.load_workbook(row["xlsx"]).active
        texts += [str(c.value) for line in sheet.iter_rows() for c in line if c.value is not None]
        texts.append(row["csv"].read_text(encoding="utf-8-sig"))
    everything = "\n".join(texts)
    for clear in ("100号", "88881234", "13812345678", "bob.norman@"):
        assert clear not in everything, clear
    assert "文三路****" in everything and "138****5678" in everything and "b****@example.com" in everything


def test_an_item_without_a_variant_prints_no_nan(papers):
    texts = {key: row["csv"].read_text(encoding="utf-8-sig") for key, row in papers.iterrows()}
    assert any("(颜色:黑色)" in text for text in texts.values())      # a variant is printed
    for key, text in texts.items():
        assert "nan" not in text.lower(), (key, text)
