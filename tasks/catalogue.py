"""The SKU catalogue (supplier, lead time, case pack, MOQ, unit cost, bin location) from a
file operations staff keep (CSV or .xlsx) or from the sandbox's generated catalogue."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from warehouse import repository

#: columns of the catalogue file; ``sku`` and ``name`` are required, the rest optional
CATALOGUE_COLUMNS = ("sku", "name", "variant", "category", "supplier", "lead_time_days", "case_pack", "moq",
                     "unit_cost_minor", "currency", "bin_location", "default_warehouse")
_REQUIRED = ("sku", "name")
_NON_NEGATIVE = ("lead_time_days", "unit_cost_minor")
_POSITIVE = ("case_pack", "moq")


class CatalogueError(ValueError):
    """A catalogue file problem, naming the file, the row and the column."""


def read_catalogue(path: Path) -> pd.DataFrame:
    """Read and check a catalogue file; every problem is listed with its row (as shown in Excel)."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        frame = pd.read_excel(path, dtype={"sku": str})
    elif path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype={"sku": str})
    else:
        raise CatalogueError(f"{path}: unsupported file type '{path.suffix}'; use .csv or .xlsx")
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise CatalogueError(f"{path}: missing column(s) {', '.join(missing)}; the header row must name "
                             f"{', '.join(CATALOGUE_COLUMNS)} (only sku and name are required)")
    problems = []
    for column in _REQUIRED:
        for index in frame.index[frame[column].isna() | (frame[column].astype(str).str.strip() == "")]:
            problems.append(f"{path}: row {index + 2}, column {column}: empty")
    for column in (*_NON_NEGATIVE, *_POSITIVE):
        if column not in frame.columns:
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = frame[column].notna() & (numbers.isna() | (numbers < (1 if column in _POSITIVE else 0)))
        for index in frame.index[bad]:
            problems.append(f"{path}: row {index + 2}, column {column}: '{frame.at[index, column]}' must be a number "
                            f"{'>= 1' if column in _POSITIVE else '>= 0'}")
    duplicated = frame["sku"][frame["sku"].duplicated()].unique()
    problems += [f"{path}: sku '{sku}' appears more than once" for sku in duplicated]
    if problems:
        raise CatalogueError("\n".join(problems))
    return frame


def store_catalogue(engine, frame: pd.DataFrame) -> int:
    """Upsert the catalogue columns of ``frame`` (extra columns are ignored)."""
    return repository.upsert_skus(engine, frame[[c for c in CATALOGUE_COLUMNS if c in frame.columns]])
