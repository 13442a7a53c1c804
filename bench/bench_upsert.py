"""Benchmark of ``warehouse.repository.upsert_orders`` against a plain bulk insert, same run.

For each dialect, ``--repeats`` times on a fresh, migrated warehouse:

(a) baseline: the same orders and lines inserted into the empty ``orders``/``order_lines``
    tables with the driver's plain bulk path (SQLite ``executemany`` INSERT, PostgreSQL
    ``COPY``), converted from the DataFrames by the same code the upsert uses — so the
    ratio shows what staging, the newest-wins guard and the counts cost;
(b) ``upsert_orders`` of the batch into the empty warehouse (every order new);
(c) ``upsert_orders`` again with half of the orders one minute newer (update path: those
    replace their row and lines, the other half is recognised as unchanged).

Prints a line per step, then rewrites the ``upsert`` section of docs/BENCHMARKS.md.

    .venv/bin/python bench/bench_upsert.py --rows 200000 --dialects sqlite,postgresql

PostgreSQL: ``SHOPOPS_BENCH_POSTGRES_URL`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
each repeat works in a scratch schema that is dropped afterwards.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, CanonicalFrames  # noqa: E402
from warehouse import migrate, repository  # noqa: E402
from warehouse.db import make_engine  # noqa: E402
from bench._common import peak_rss_mb  # noqa: E402
from warehouse.models import Order, OrderLine  # noqa: E402

DOCS = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- upsert:start -->", "<!-- upsert:end -->"
POSTGRES_URL = os.environ.get("SHOPOPS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STEPS = ("baseline insert", "upsert, all new", "upsert, half newer")


def synthetic_orders(rows: int, seed: int = 20261111) -> CanonicalFrames:
    """``rows`` canonical Taobao-like orders (one line, every fourth order two), built with numpy."""
    rng = np.random.default_rng(seed)
    numbers = np.arange(rows)
    order_ids = pd.Series(numbers + 4_000_000_000_000_000_000, dtype="int64").astype(str)  # > 2**53, as Taobao tids
    paid = pd.Timestamp("2026-11-11", tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s")
    totals = rng.integers(1_000, 50_000, rows)
    orders = pd.DataFrame({
        "platform": "taobao", "shop_id": "tmall-flagship", "order_id": order_ids, "status": "paid",
        "platform_status": "WAIT_SELLER_SEND_GOODS", "currency": "CNY", "total_minor": totals,
        "post_fee_minor": 0, "discount_minor": 0, "tax_minor": 0, "created_at": paid, "paid_at": paid,
        "modified_at": paid + pd.Timedelta(seconds=5),
        "shipped_at": pd.Series(pd.NaT, index=numbers, dtype="datetime64[us, UTC]"),
        "ship_by_at": paid + pd.Timedelta(hours=48),
        "is_presale": False, "presale_balance_paid": None, "buyer_key": "b" + pd.Series(numbers % 50_000).astype(str),
        "buyer_nick_masked": "t***8", "receiver_name_masked": "王*", "receiver_phone_masked": "138****5678",
        "province": "浙江省", "city": "杭州市", "district": "余杭区", "address_masked": "文一西路***号",
        "address_hash": "a" + pd.Series(numbers % 50_000).astype(str), "buyer_remark": None, "seller_remark": None,
        "carrier": None, "tracking_no": None, "line_count": np.where(numbers % 4 == 0, 2, 1),
    })[list(ORDER_COLUMNS)]

    line_orders = orders.loc[orders.index.repeat(orders["line_count"])]
    line_no = line_orders.groupby("order_id", sort=False).cumcount() + 1
    line_totals = (line_orders["total_minor"] // line_orders["line_count"]).to_numpy()
    skus = "SKU-" + pd.Series(rng.integers(0, 500, len(line_orders))).astype(str)
    lines = pd.DataFrame({
        "platform": "taobao", "shop_id": "tmall-flagship", "order_id": line_orders["order_id"].to_numpy(),
        "line_no": line_no.to_numpy(), "line_id": (line_orders["order_id"] + line_no.astype(str)).to_numpy(),
        "sku": skus.to_numpy(), "marketplace_item_id": "6500001", "marketplace_sku_id": "4800002",
        "title": "纯棉T恤", "variant": "白色/L", "quantity": 1, "unit_price_minor": line_totals,
        "line_total_minor": line_totals, "discount_minor": 0, "currency": "CNY", "is_gift": False,
        "refund_status": "NO_REFUND",
    })[list(LINE_COLUMNS)]
    return CanonicalFrames(orders=orders, lines=lines)


def half_newer(frames: CanonicalFrames) -> CanonicalFrames:
    """The same batch with every other order modified one minute later."""
    orders = frames.orders.copy()
    newer = orders.index % 2 == 0
    orders.loc[newer, "modified_at"] = orders.loc[newer, "modified_at"] + pd.Timedelta(minutes=1)
    return CanonicalFrames(orders=orders, lines=frames.lines, refunds=frames.refunds)


def baseline_insert(engine: sa.Engine, frames: CanonicalFrames) -> None:
    """Plain bulk insert of the orders and lines: no staging, no conflict handling."""
    orders = frames.orders.assign(raw_page_id=None, ingested_at=datetime.now(timezone.utc))
    order_columns = (*repository.ORDER_STAGE_COLUMNS, "ingested_at")
    with engine.begin() as conn:
        dialect = conn.dialect.name
        driver_connection = conn.connection.driver_connection
        for table, columns, frame in ((Order.__table__, order_columns, orders),
                                      (OrderLine.__table__, LINE_COLUMNS, frames.lines)):
            rows = repository._rows(frame, table, columns, dialect)
            column_list = ", ".join(columns)
            if dialect == "postgresql":
                with driver_connection.cursor() as cursor, \
                        cursor.copy(f"COPY {table.name} ({column_list}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                driver_connection.executemany(
                    f"INSERT INTO {table.name} ({column_list}) VALUES ({', '.join('?' * len(columns))})", rows)


@contextmanager
def fresh_warehouse(dialect: str, scratch: Path) -> Iterator[sa.Engine]:
    """A migrated, empty warehouse: a new SQLite file, or a new PostgreSQL schema dropped after."""
    if dialect == "sqlite":
        url = f"sqlite:///{scratch / f'bench-{uuid.uuid4().hex[:8]}.sqlite'}"
        migrate.upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url_text = url.render_as_string(hide_password=False)
    engine = None
    try:
        migrate.upgrade(url_text)
        engine = make_engine(url_text)
        yield engine
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    outcome = action()
    return time.perf_counter() - started, outcome


@dataclass
class Measured:
    dialect: str
    step: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def progress(dialect: str, run: str, step: str, seconds: float, rows: int) -> None:
    print(f"  {dialect:<10} {run} {step:<20} {seconds:7.2f} s  {rows / seconds:>9,.0f} orders/s", flush=True)


def run_dialect(dialect: str, frames: CanonicalFrames, newer: CanonicalFrames, repeats: int,
                scratch: Path) -> list[Measured]:
    """The three steps, ``repeats`` times each; every upsert's counts are checked, not just timed."""
    rows = len(frames.orders)
    measured = {step: Measured(dialect, step, []) for step in STEPS}
    for repeat in range(1, repeats + 1):
        with fresh_warehouse(dialect, scratch) as engine:
            seconds, _ = timed(lambda: baseline_insert(engine, frames))
            measured[STEPS[0]].seconds.append(seconds)
            progress(dialect, f"run {repeat}/{repeats}", STEPS[0], seconds, rows)
        with fresh_warehouse(dialect, scratch) as engine:
            for step, batch, expected in ((STEPS[1], frames, repository.UpsertResult(new=rows)),
                                          (STEPS[2], newer, repository.UpsertResult(updated=(rows + 1) // 2,
                                                                                    unchanged=rows // 2))):
                seconds, result = timed(lambda: repository.upsert_orders(engine, batch))
                if result != expected:
                    raise AssertionError(f"{dialect} {step}: expected {expected}, got {result}")
                measured[step].seconds.append(seconds)
                progress(dialect, f"run {repeat}/{repeats}", step, seconds, rows)
    return list(measured.values())


def server_versions(dialects: list[str]) -> dict[str, str]:
    versions = {"sqlite": sqlite3.sqlite_version}
    if "postgresql" in dialects:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            versions["postgresql"] = conn.scalar(sa.text("SHOW server_version"))
        engine.dispose()
    return versions


def markdown(results: list[Measured], rows: int, lines: int, repeats: int, dialects: list[str], command: str) -> str:
    versions = server_versions(dialects)
    machine = (f"{os.cpu_count()} CPU cores (shared with other work), Python {platform.python_version()}, "
               f"SQLite {versions['sqlite']}")
    if "postgresql" in versions:
        machine += f", PostgreSQL {versions['postgresql']} (local, default settings)"
    baseline = {m.dialect: m.median for m in results if m.step == STEPS[0]}
    table = ["| dialect | step | median s | min–max s | orders/s | rows/s (orders + lines) | time vs baseline |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for m in results:
        table.append(f"| {m.dialect} | {m.step} | {m.median:.2f} | {min(m.seconds):.2f}–{max(m.seconds):.2f} | "
                     f"{rows / m.median:,.0f} | {(rows + lines) / m.median:,.0f} | "
                     f"{m.median / baseline[m.dialect]:.2f}× |")
    return "\n".join([
        START,
        "## Order upsert (`warehouse.repository.upsert_orders`)",
        "",
        f"{rows:,} synthetic orders with {lines:,} lines, median of {repeats} runs (min–max), each on a fresh "
        "migrated warehouse. *Baseline*: the same rows inserted into the empty `orders` and `order_lines` "
        "tables with the plain bulk path (SQLite `executemany` INSERT, PostgreSQL `COPY`), converted from "
        "the DataFrames by the same code. *Upsert, all new*: into the empty warehouse. *Upsert, half newer*: "
        "the batch again with every other order one minute newer (half replaced with their lines, half "
        "unchanged). Times include converting the DataFrames and committing.",
        "",
        *table,
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine}. Peak RSS of the benchmark "
        f"process, which holds the batch and runs every step: {peak_rss_mb():,.0f} MB.",
        "",
        f"Reproduce: `{command}`",
        END,
    ])


def rewrite_docs(section: str) -> None:
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="orders in the batch (default 200000)")
    parser.add_argument("--dialects", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=3, help="runs per step; the median is reported")
    parser.add_argument("--quick", action="store_true", help="smoke test: 2,000 rows, one run, docs left alone")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeats = 2_000, 1
    dialects = [d.strip() for d in args.dialects.split(",") if d.strip()]
    unknown = set(dialects) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown dialect(s) {sorted(unknown)}; choose from sqlite, postgresql")

    print(f"generating {args.rows:,} orders …", flush=True)
    frames = synthetic_orders(args.rows)
    newer = half_newer(frames)
    results: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="shopops-bench-") as scratch:
        for dialect in dialects:
            print(f"{dialect}:", flush=True)
            results += run_dialect(dialect, frames, newer, args.repeats, Path(scratch))

    command = (f".venv/bin/python bench/bench_upsert.py --rows {args.rows} --dialects {','.join(dialects)}"
               + (f" --repeats {args.repeats}" if args.repeats != 3 else ""))
    section = markdown(results, args.rows, len(frames.lines), args.repeats, dialects, command)
    print("\n".join(line for line in section.splitlines() if line.startswith("|")))
    if not args.quick:
        rewrite_docs(section)
        print(f"wrote {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
