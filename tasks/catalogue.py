"""The SKU catalogue (supplier, lead time, case pack, MOQ, unit cost, bin location) from a
file operations staff keep (CSV or .xlsx, read by ``domain.input_files``: English or Chinese
headings, ``¥1,200.00``, GBK …) or from the sandbox's generated catalogue.

A blank cell is not a database error: case pack and MOQ get the supplier's (suppliers.yaml),
else rules.yaml ``restock.default_case_pack`` / ``default_moq``; the currency of a unit cost is
the first of ``orders.known_currencies``; a blank lead time stays blank (restock then takes the
supplier's, else ``restock.default_lead_time_days``). A file with any refused row stores nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from config.schema import AppConfig, load_config
from domain.input_files import Column, Reason, count, money, positive_count, read_records, text
from shopops.i18n import reason
from warehouse import repository
from warehouse.db import make_engine

#: columns of the ``skus`` table a catalogue frame may carry
CATALOGUE_COLUMNS = ("sku", "name", "variant", "category", "supplier", "lead_time_days", "case_pack", "moq",
                     "unit_cost_minor", "currency", "bin_location", "default_warehouse")

#: the catalogue file: SKU and name are required, every other cell may be blank
CATALOGUE_FILE_COLUMNS = [
    Column("sku", "商品编码", text, aliases=("SKU", "货号")),
    Column("name", "商品名称", text, aliases=("名称", "品名")),
    Column("variant", "颜色/尺码", text, optional=True, aliases=("colour/size", "规格", "颜色尺码")),
    Column("category", "类目", text, optional=True, aliases=("分类",)),
    Column("supplier", "供应商", text, optional=True, aliases=("供应商编码",)),
    Column("lead_time_days", "交期(天)", count, optional=True, aliases=("交期", "lead_time")),
    Column("case_pack", "箱规", positive_count, optional=True, aliases=("装箱数",)),
    Column("moq", "起订量", positive_count, optional=True, aliases=("MOQ", "最小起订量")),
    Column("unit_cost", "成本价(元)", money, optional=True, aliases=("成本价", "进价", "unit_cost_yuan")),
    Column("currency", "币种", text, optional=True),
    Column("bin_location", "库位", text, optional=True, aliases=("bin",)),
    Column("default_warehouse", "默认仓库", text, optional=True),
]


def read_catalogue(path: Path | str, config: AppConfig | None = None) -> pd.DataFrame:
    """Read and check a catalogue file into the ``skus`` columns, blanks filled (see above);
    ``InputFileError`` listing every refused row."""
    config = config or load_config()
    rules = config.rules
    suppliers = {s.id: s for s in config.suppliers}
    rows, source = read_records(path, CATALOGUE_FILE_COLUMNS)
    source.refuse_duplicates({n: (r["sku"],) for n, r in rows.items()}, ("sku",))
    records = []
    for row_no, r in rows.items():
        supplier = suppliers.get(r["supplier"]) if r["supplier"] else None
        if r["supplier"] and supplier is None:
            source.problem(row_no, reason("in_unknown_supplier", supplier=r["supplier"],
                                          known=", ".join(sorted(suppliers)) or reason("in_none_yet")), "supplier")
        currency = (r["currency"] or "").upper() or None
        if currency and currency not in rules.orders.known_currencies:
            source.problem(row_no, reason("in_unknown_currency", currency=r["currency"]), "currency")
        records.append({
            "sku": r["sku"], "name": r["name"], "variant": r["variant"], "category": r["category"],
            "supplier": r["supplier"], "lead_time_days": r["lead_time_days"],
            "case_pack": r["case_pack"] or (supplier.case_pack if supplier else rules.restock.default_case_pack),
            "moq": r["moq"] or (supplier.moq if supplier else rules.restock.default_moq),
            "unit_cost_minor": r["unit_cost"],
            "currency": currency or (rules.orders.known_currencies[0] if r["unit_cost"] is not None else None),
            "bin_location": r["bin_location"], "default_warehouse": r["default_warehouse"]})
    if not rows and not source.problems:
        source.problem(None, Reason("in_no_rows"))
    source.raise_problems(reason("in_cat_problems", file=source.label, n=len(source.problems)))
    return pd.DataFrame(records, columns=list(CATALOGUE_COLUMNS), dtype=object)


@dataclass(frozen=True)
class CatalogueImport:
    added: int
    updated: int


def import_catalogue(database_url: str, path: Path | str, config: AppConfig | None = None) -> CatalogueImport:
    """The catalogue file into ``skus`` in one transaction (every row, or none when one is refused)."""
    frame = read_catalogue(path, config)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            stored = set(conn.scalars(sa.select(repository.Sku.__table__.c.sku)))
            store_catalogue(conn, frame)
    finally:
        engine.dispose()
    updated = int(frame["sku"].isin(stored).sum())
    return CatalogueImport(added=len(frame) - updated, updated=updated)


def store_catalogue(engine, frame: pd.DataFrame) -> int:
    """Upsert the catalogue columns of ``frame`` (extra columns are ignored)."""
    return repository.upsert_skus(engine, frame[[c for c in CATALOGUE_COLUMNS if c in frame.columns]])
