"""Ready .xlsx templates of every file the product reads (issue 23 #9): ``shopops templates``.

One workbook per input, named as its loader looks for it (the settlement's inputs folder takes
``roster.xlsx`` … as they are), with the loader's own columns (``domain.input_files.Column``)
headed in ``SHOPOPS_LOCALE``, one example row a loader accepts as it is, and the reports' sheet
dressing (bold filled header, widths, frozen header, filter, print setup: ``tasks.reporting``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from config.schema import AppConfig
from config.settings import get_settings
from domain.input_files import Column
from domain.settlement_inputs import (CHANNEL_COLUMNS, CS_COLUMNS, EXPENSE_COLUMNS, ROSTER_COLUMNS,
                                      SHOP_STATS_COLUMNS, TARGET_COLUMNS)
from shopops.i18n import t
from tasks.catalogue import CATALOGUE_FILE_COLUMNS
from tasks.purchasing import PO_FILE_COLUMNS, RECEIPT_FILE_COLUMNS
from tasks.reporting import dress_sheet, sheet_title
from tasks.stock import COUNT_FILE_COLUMNS

#: the example rows' warehouse, SKU and person (every example agrees with the others, so the
#: templates load as a set: the PO's SKU is the catalogue's, the receipt's PO is the PO …)
EXAMPLE_WAREHOUSE, EXAMPLE_SKU, EXAMPLE_PERSON, EXAMPLE_PO = "HZ01", "SKU-0001", "C1001", "PO-2026-0001"


@dataclass(frozen=True)
class Template:
    name: str                       # file stem, as the loader looks for it
    columns: list[Column]
    example: dict[str, object]      # column name → example value (as a person types it)
    command: str                    # how the filled file is loaded


def templates(config: AppConfig, locale: str) -> list[Template]:
    zh = locale.startswith("zh")
    shop = config.shops[0].id if config.shops else "tmall-flagship"
    supplier = config.suppliers[0].id if config.suppliers else "SUP-01"
    month = "2026-11"
    settle = f"shopops settle {month} --inputs-dir DIR"
    return [
        Template("roster", ROSTER_COLUMNS, {"person_id": EXAMPLE_PERSON, "name": "陈静",
                                            "role": "客服" if zh else "customer_service", "shops": shop,
                                            "joined": "2026/01/01"}, settle),
        Template("targets", TARGET_COLUMNS, {"month": month, "scope": "个人" if zh else "person", "id": EXAMPLE_PERSON,
                                             "target": "¥50,000.00"}, settle),
        Template("expenses", EXPENSE_COLUMNS, {"month": month, "shop": shop, "category": "marketing",
                                               "amount": "¥12,000.00"}, settle),
        Template("cs_stats", CS_COLUMNS, {"month": month, "person": EXAMPLE_PERSON, "conversations": 1200,
                                          "avg_response_seconds": 25, "conversion_rate": "35.2%",
                                          "attributed_sales": "¥86,000.00", "attributed_cost": "¥43,000.00"}, settle),
        Template("shop_channels", CHANNEL_COLUMNS, {"shop": shop, "channel": "自营" if zh else "own"}, settle),
        Template("shop_stats", SHOP_STATS_COLUMNS, {"month": month, "shop": shop, "visitors": 52000, "dsr": 4.8},
                 settle),
        Template("catalogue", CATALOGUE_FILE_COLUMNS, {
            "sku": EXAMPLE_SKU, "name": "保温杯 500ml", "variant": "白色/500ml", "category": "杯具", "supplier": supplier,
            "lead_time_days": 15, "case_pack": 24, "moq": 48, "unit_cost": "¥18.50", "currency": "CNY",
            "bin_location": "A-01-03", "default_warehouse": EXAMPLE_WAREHOUSE}, "shopops catalogue import FILE"),
        Template("purchase_orders", PO_FILE_COLUMNS, {
            "po_no": EXAMPLE_PO, "supplier": supplier, "warehouse": EXAMPLE_WAREHOUSE, "ordered_on": "2026/11/20",
            "expected_on": "2026/12/05", "sku": EXAMPLE_SKU, "qty": 480, "unit_cost": "¥18.50"},
            "shopops po import FILE"),
        Template("po_receipts", RECEIPT_FILE_COLUMNS, {"po_no": EXAMPLE_PO, "sku": EXAMPLE_SKU, "qty": 240,
                                                       "received_on": "2026/11/28", "receipt_no": "RK-0001"},
                 "shopops po receive FILE"),
        Template("count", COUNT_FILE_COLUMNS, {"sku": EXAMPLE_SKU, "warehouse": EXAMPLE_WAREHOUSE, "counted_qty": 120,
                                               "counted_at": "2026-11-23T08:00:00+08:00"},
                 "shopops stock import-count FILE"),
    ]


def write_templates(folder: Path, config: AppConfig, locale: str | None = None) -> list[Path]:
    """One .xlsx per input in ``folder`` (made when missing); an existing template is replaced."""
    locale = locale or get_settings().locale
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for template in templates(config, locale):
        frame = pd.DataFrame([[template.example.get(c.name) for c in template.columns]],
                             columns=[c.heading(locale) for c in template.columns])
        title = t(f"tpl_{template.name}", locale)
        path = folder / f"{template.name}.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            sheet = sheet_title(title)
            frame.to_excel(writer, sheet_name=sheet, index=False)
            dress_sheet(writer.sheets[sheet], frame, (), f"{title} — {t('tpl_loaded_by', locale, command=template.command)}")
            writer.book.properties.title = title
        written.append(path)
    return written
