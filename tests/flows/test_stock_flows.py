"""reconcile-stock and restock-alerts as Prefect flows (test harness server) on a warehouse
built by hand, with listings read over real HTTP from the sandbox marketplace.

The numbers are worked out in the comments; nothing is mocked. The one spy wraps
``emit`` to count the critical-restock events while still emitting them to the server.
"""
from __future__ import annotations

import asyncio
import shutil
from datetime import datetime, timedelta, timezone

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from config.settings import CONFIG_DIR, get_settings
from domain.canonical import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, CanonicalFrames
from sandbox import generate, wire
from sandbox.server import SandboxServer
from warehouse import migrate, repository
from warehouse.db import make_engine
from warehouse.models import PurchaseOrder, PurchaseOrderLine

NOW = datetime.now(timezone.utc).replace(microsecond=0)
WAREHOUSE = "HZ01"
A, B, C = "DJ-BLK-L", "DJ-BLK-M", "TS-WHT-M"


@pytest.fixture(scope="module")
def world():
    return generate("smoke")


@pytest.fixture
def stock_env(world, warehouse_env, tmp_path, monkeypatch):
    """A copied config/ pointing at a running sandbox; credentials for tmall-flagship and jd-pop
    only (pdd-main has none: its read fails and must be reported, not fatal); an empty warehouse."""
    with SandboxServer(world) as server:
        target = tmp_path / "config"
        shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        shops = yaml.safe_load((target / "shops.yaml").read_text(encoding="utf-8"))
        for shop in shops["shops"]:
            suffix = f"/{shop['id']}" if shop["platform"] == "shopify" else ""
            shop["base_url"] = f"{server.url}/{shop['platform']}{suffix}"
            shop["connector_options"] = {"throttle_rate_per_s": 500.0, "throttle_burst": 500}
        (target / "shops.yaml").write_text(yaml.safe_dump(shops, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("SHOPOPS_CONFIG_DIR", str(target))
        for shop_id in ("tmall-flagship", "jd-pop"):
            secret = world.credentials[shop_id]
            monkeypatch.setenv("SHOPOPS_CRED_" + shop_id.upper().replace("-", "_"),
                               '{"app_key": "%s", "app_secret": "%s", "access_token": "%s"}'
                               % (secret.app_key, secret.app_secret, secret.access_token))
        monkeypatch.delenv("SHOPOPS_CRED_PDD_MAIN", raising=False)
        get_settings.cache_clear()
        settings = get_settings()
        migrate.upgrade(settings.warehouse_url)
        engine = make_engine(settings.warehouse_url)
        yield settings, engine, server
        engine.dispose()
        get_settings.cache_clear()


def moves(*rows):
    """rows: (sku, days ago, kind, quantity, reference)"""
    return pd.DataFrame([(sku, WAREHOUSE, NOW - timedelta(days=ago), kind, qty, ref) for sku, ago, kind, qty, ref in rows],
                        columns=list(repository.LEDGER_COLUMNS))


def orders(*specs):
    """specs: (order_id, shop_id, status, paid_at, [(sku, quantity, line_total_minor)])"""
    heads, lines = [], []
    for order_id, shop_id, status, paid_at, items in specs:
        head = dict.fromkeys(ORDER_COLUMNS)
        head.update(platform="taobao", shop_id=shop_id, order_id=order_id, status=status, currency="CNY",
                    total_minor=sum(i[2] for i in items), post_fee_minor=0, discount_minor=0, created_at=paid_at,
                    paid_at=paid_at, modified_at=paid_at, line_count=len(items))
        heads.append(head)
        for n, (sku, qty, total) in enumerate(items, start=1):
            line = dict.fromkeys(LINE_COLUMNS)
            line.update(platform="taobao", shop_id=shop_id, order_id=order_id, line_no=n, line_id=f"{order_id}-{n}",
                        sku=sku, quantity=qty, line_total_minor=total, unit_price_minor=total // qty,
                        currency="CNY", is_gift=False)
            lines.append(line)
    return CanonicalFrames(orders=pd.DataFrame(heads, columns=list(ORDER_COLUMNS)),
                           lines=pd.DataFrame(lines, columns=list(LINE_COLUMNS)),
                           refunds=pd.DataFrame(columns=list(REFUND_COLUMNS)))


def add_po(engine, po_no, sku, qty, days_ahead):
    with engine.begin() as conn:
        conn.execute(sa.insert(PurchaseOrder).values(po_no=po_no, supplier="hz-apparel", warehouse=WAREHOUSE,
                                                     status="open", ordered_at=NOW - timedelta(days=1),
                                                     expected_at=NOW + timedelta(days=days_ahead)))
        conn.execute(sa.insert(PurchaseOrderLine).values(po_no=po_no, sku=sku, qty_ordered=qty, qty_received=0))


def listing_ids(world, platform, sku):
    row = world.catalogue.set_index("sku").loc[sku]
    return str(wire.item_id(platform, int(row["item_no"]))), str(wire.sku_id(platform, int(row["sku_no"])))


async def _artifact(key: str):
    async with get_client() as client:
        return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))


def test_reconcile_stock_records_the_unposted_movements_and_listing_drift(world, stock_env, tmp_path):
    from flows.stock import reconcile_stock

    settings, engine, server = stock_env
    repository.upsert_skus(engine, pd.DataFrame([{"sku": s, "name": s, "supplier": "hz-apparel",
                                                  "default_warehouse": WAREHOUSE} for s in (A, B, C)]))
    repository.post_ledger(engine, moves(
        (A, 10, "opening", 100, "opening"), (A, 5, "shipment", -10, "order:x1"), (A, 3, "receipt", 30, "po:P0:A"),
        # A: 100 − 10 + 30 = 120 on hand
        (B, 10, "opening", 50, "opening"), (B, 4, "shipment", -5, "order:x2"),     # B: 45
        (C, 10, "opening", 20, "opening")))                                          # C: 20
    repository.upsert_orders(engine, orders(
        ("o-paid", "tmall-flagship", "paid", NOW - timedelta(hours=5), [(A, 4, 4000)]),     # A reserved 4 → available 116
        ("o-shipped", "tmall-flagship", "shipped", NOW - timedelta(days=2), [(B, 3, 3000)])))  # already left: no reservation
    add_po(engine, "PO1", C, 40, 5)                                                  # C: 40 in transit

    def listing(shop, platform, sku, share, buffer):
        item, variant = listing_ids(world, platform, sku)
        return {"shop_id": shop, "marketplace_item_id": item, "marketplace_sku_id": variant, "sku": sku,
                "allocation_share": share, "buffer": buffer}

    repository.upsert_listings(engine, pd.DataFrame([
        listing("tmall-flagship", "taobao", A, 0.30, 2),   # plan floor(116 × 0.30) − 2 = 32; shows 32: agrees
        listing("jd-pop", "jd", A, 0.20, 2),               # plan floor(116 × 0.20) − 2 = 21; shows 60: oversell +39
        listing("tmall-flagship", "taobao", B, 0.30, 2),   # plan floor(45 × 0.30) − 2 = 11; shows 5: undersold −6
        listing("pdd-main", "pdd", B, 0.15, 2),            # no credentials: not read, not judged
    ]))
    for shop, sku, qty in (("tmall-flagship", A, 32), ("jd-pop", A, 60), ("tmall-flagship", B, 5)):
        server.state.stock[(shop, sku)] = qty

    # the count, an hour ago: A 5 short (a shipment nobody posted), B 3 over (a receipt nobody posted), C right
    count_file = tmp_path / "wms-count.csv"
    counted_at = (NOW - timedelta(hours=1)).astimezone(timezone(timedelta(hours=8))).isoformat()
    count_file.write_text("sku,warehouse,counted_qty,counted_at\n"
                          f"{A},{WAREHOUSE},115,{counted_at}\n{B},{WAREHOUSE},48,{counted_at}\n"
                          f"{C},{WAREHOUSE},20,{counted_at}\n", encoding="utf-8")

    counts = reconcile_stock(count_file=str(count_file))

    assert (counts["count_vs_ledger"], counts["oversell_risk"], counts["undersell"]) == (2, 1, 1)
    assert counts["new_records"] == 4 and counts["shops_failed"] == 1
    stored = repository.read_discrepancies(engine)
    by_key = {(r.sku, r.shop_id if isinstance(r.shop_id, str) else None): r for r in stored.itertuples()}
    assert set(by_key) == {(A, None), (B, None), (A, "jd-pop"), (B, "tmall-flagship")}
    shipment, receipt = by_key[(A, None)], by_key[(B, None)]
    # the three numbers: warehouse count, ledger, what the listings show (A: 32 + 60; B: 5, pdd never read)
    assert (shipment.warehouse, shipment.warehouse_count, shipment.ledger_qty, shipment.listing_qty,
            shipment.difference) == (WAREHOUSE, 115, 120, 92, -5)
    assert shipment.suggested_cause.startswith("count_vs_ledger (unrecorded_shipment): counted 115, the ledger has 120")
    assert (receipt.warehouse_count, receipt.ledger_qty, receipt.listing_qty, receipt.difference) == (48, 45, 5, 3)
    assert "unrecorded_receipt" in receipt.suggested_cause
    oversell = by_key[(A, "jd-pop")]
    assert (oversell.warehouse_count, oversell.ledger_qty, oversell.listing_qty, oversell.difference) == (115, 120, 60, 39)
    assert "never pushed by us" in oversell.suggested_cause
    assert by_key[(B, "tmall-flagship")].difference == -6

    # the reads were stored on the listings; the positions snapshot is the ledger's (count not imported)
    listings = repository.read_listings(engine).set_index(["shop_id", "sku"])
    assert listings.loc[("jd-pop", A), "last_read_qty"] == 60 and pd.isna(listings.loc[("pdd-main", B), "last_read_qty"])
    snapshot = repository.read_positions(engine).set_index("sku")
    assert snapshot.loc[A, ["on_hand", "reserved", "available"]].tolist() == [120, 4, 116]
    assert snapshot.loc[C, "in_transit"] == 40
    # nothing was pushed: the sandbox shows what it showed, no push was logged
    assert server.state.stock[("jd-pop", A)] == 60
    assert repository.table_counts(engine)["stock_pushes"] == 0          # push switch off (rules.yaml default)

    summary = asyncio.run(_artifact("reconcile-stock"))[0].data
    assert "pdd-main" in summary and "SHOPOPS_CRED_PDD_MAIN" in summary     # the failed shop, and what to do
    assert "Nothing was pushed" in summary
    book = openpyxl.load_workbook(next((settings.report_folder / "reconcile-stock").glob("*.xlsx")))
    assert book.sheetnames == ["discrepancies", "shops", "push_plan", "positions"]
    header = [c.value for c in book["discrepancies"][1]]
    assert {"warehouse count", "ledger", "listing shows", "suggested cause"} <= set(header)
    shops = {row[0]: row for row in book["shops"].iter_rows(min_row=2, values_only=True)}
    assert shops["jd-pop"][3:5] == (1, 39) and shops["tmall-flagship"][5:7] == (1, 6)
    assert shops["pdd-main"][2] == "failed"

    # an hourly rerun over the same count files nothing twice
    again = reconcile_stock(count_file=str(count_file))
    assert (again["new_records"], again["already_open"]) == (0, 4)
    assert len(repository.read_discrepancies(engine)) == 4

    # with the push switch on, the plan's pushes are logged as dry runs — still nothing written
    rules_file = settings.config_dir / "rules.yaml"
    rules = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    rules["stock"]["push_enabled"] = True
    rules_file.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    switched = reconcile_stock(count_file=str(count_file))
    assert switched["dry_run_pushes"] == 3
    with engine.connect() as conn:
        pushes = {(r.shop_id, r.sku): (r.before_qty, r.planned_qty, r.after_qty, bool(r.dry_run)) for r in conn.execute(
            sa.text("select shop_id, sku, before_qty, planned_qty, after_qty, dry_run from stock_pushes"))}
    assert pushes == {("jd-pop", A): (60, 21, 60, True),            # would set 21, still shows 60
                      ("tmall-flagship", B): (5, 11, 5, True),
                      ("pdd-main", B): (None, 4, None, True)}       # never read: floor(45 × 0.15) − 2 = 4
    assert server.state.stock[("jd-pop", A)] == 60 and server.state.stats_json()["jd"].get("stock_writes", 0) == 0
    assert repository.read_listings(engine)["last_pushed_qty"].isna().all()


def test_a_bad_count_file_names_file_row_and_column(stock_env, tmp_path):
    from flows.stock import reconcile_stock

    bad = tmp_path / "bad-count.csv"
    bad.write_text(f"sku,warehouse,counted_qty\n{A},{WAREHOUSE},12\n{B},{WAREHOUSE},twelve\n", encoding="utf-8")
    state = reconcile_stock(count_file=str(bad), read_listings=False, return_state=True)
    assert state.is_failed()
    assert "bad-count.csv: row 3, column counted_qty: 'twelve' must be a whole number >= 0" in state.message


def test_restock_alerts_levels_cooldown_and_worse_level(stock_env, monkeypatch):
    import flows.stock
    from flows.stock import restock_alerts

    settings, engine, _ = stock_env
    now = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)     # 09:00 in Shanghai: history Oct 26 … Nov 22
    days = [(now + timedelta(hours=8)).date() - timedelta(days=n) for n in range(1, 29)]
    repository.upsert_skus(engine, pd.DataFrame([
        # supplier terms from suppliers.yaml: hz-apparel L 10, case 10, MOQ 50; gz-shoes L 14, case 6, MOQ 30
        {"sku": "CRIT", "name": "crit", "supplier": "hz-apparel", "default_warehouse": WAREHOUSE},
        {"sku": "WARN", "name": "warn", "supplier": "gz-shoes", "default_warehouse": WAREHOUSE},
        {"sku": "FINE", "name": "fine", "supplier": "hz-apparel", "lead_time_days": 5, "default_warehouse": WAREHOUSE},
    ]))
    specs = []
    for day in days:
        paid = datetime(day.year, day.month, day.day, 4, 0, tzinfo=timezone.utc)    # 12:00 Shanghai that day
        # WARN sells 16 on Double 11 (uplift 8 in config/promotions/double11-2026.yaml): 16 / 8 = 2, a normal day
        warn = 16 if day.isoformat() == "2026-11-11" else 2
        specs.append((f"o-{day}", "tmall-flagship", "completed", paid,
                      [("CRIT", 2, 2000), ("WARN", warn, 1000 * warn), ("FINE", 1, 500)]))
    repository.upsert_orders(engine, orders(*specs))
    repository.post_ledger(engine, moves(("CRIT", 40, "opening", 15, "opening"), ("WARN", 40, "opening", 20, "opening"),
                                         ("FINE", 40, "opening", 50, "opening")))
    add_po(engine, "PO-W", "WARN", 8, 3)
    # CRIT: d 2, σ 0, L 10 → ROP 20, S 2 × 17 = 34; position 15, cover 7.5 < 10 → critical;
    #       34 − 15 = 19 → MOQ 50 → 50 (5 cases of 10)
    # WARN: d 2 (Double 11 brought back by its uplift), L 14 → ROP 28, S 42; position 20 + 8 = 28,
    #       cover 14 is not < 14 but 28 <= ROP → warning; 42 − 28 = 14 → MOQ 30 → 30 (5 cases of 6).
    #       Without the uplift d would be 2.5 and WARN critical.
    # FINE: d 1, L 5 (its own) → ROP 5; 50 units cover 50 days: nothing to say

    events = []
    real_emit = flows.stock.emit
    monkeypatch.setattr(flows.stock, "emit", lambda *a, **k: (events.append((a, k)), real_emit(*a, **k)))

    first = restock_alerts(now=now)
    assert (first["critical"], first["warning"], first["overstock"], first["sent"], first["held_back"]) == (1, 1, 0, 2, 0)
    assert [(a[0], a[1]) for a, _ in events] == [("shopops.restock.critical", "shopops.sku.CRIT")]
    assert events[0][1]["suggested_qty"] == 50
    alerts = repository.read_alerts(engine)
    terms = {row.sku: row.details for row in alerts.itertuples()}
    assert {sku: d["suggested_qty"] for sku, d in terms.items()} == {"CRIT": 50, "WARN": 30}
    assert (terms["WARN"]["daily_demand"], terms["WARN"]["reorder_point"], terms["WARN"]["lead_time_days"]) == (2, 28, 14)
    assert terms["WARN"]["lead_time_source"] == "supplier" and terms["WARN"]["case_pack"] == 6

    # an hour later: same levels within the 24 h cooldown → stored as held back, nothing sent
    second = restock_alerts(now=now + timedelta(hours=1))
    assert (second["sent"], second["held_back"], second["events"]) == (0, 2, 0) and len(events) == 1
    held = repository.read_alerts(engine).iloc[2:]
    assert held["suppressed"].astype(bool).all() and held["sent_at"].isna().all()
    assert all("within the cooldown" in d["send_reason"] for d in held["details"])

    # WARN gets worse: 10 more units leave → position 18, cover 9 < 14 → critical, sent again; CRIT still held
    repository.post_ledger(engine, moves(("WARN", 0, "shipment", -10, "order:late")))
    third = restock_alerts(now=now + timedelta(hours=2))
    assert (third["critical"], third["sent"], third["held_back"]) == (2, 1, 1)
    assert [a[1] for a, _ in events] == ["shopops.sku.CRIT", "shopops.sku.WARN"]
    cooldowns = repository.last_sent_alerts(engine).set_index("sku")
    assert cooldowns.loc["WARN", "level"] == "critical"
    assert cooldowns.loc["CRIT", "last_sent_at"] == pd.Timestamp(now)    # not moved by the held-back runs
    latest = repository.read_alerts(engine).iloc[-2:].set_index("sku")
    assert latest.loc["WARN", "details"]["send_reason"] == "worse than the last alert: warning → critical"

    summaries = [a.data for a in asyncio.run(_artifact("restock-alerts"))]      # one version per run
    assert any("2 critical, 0 warning, 0 overstock; 1 sent, 1 held back" in s for s in summaries), summaries
    book = openpyxl.load_workbook(sorted((settings.report_folder / "restock-alerts").glob("*.xlsx"))[-1])
    header = [c.value for c in book["suggestions"][1]]
    for term in ("daily demand d", "σ", "lead time L", "safety stock SS", "reorder point ROP", "order-up-to S",
                 "case pack", "MOQ", "suggested qty", "sent / held back because"):
        assert term in header


def test_cli_import_count_then_reconcile_and_restock(stock_env, tmp_path):
    from typer.testing import CliRunner

    from shopops.cli import app

    settings, engine, _ = stock_env
    repository.upsert_skus(engine, pd.DataFrame([{"sku": A, "name": A, "supplier": "hz-apparel",
                                                  "default_warehouse": WAREHOUSE}]))
    repository.post_ledger(engine, moves((A, 10, "opening", 100, "opening")))
    count_file = tmp_path / "stocktake.csv"
    count_file.write_text(f"sku,warehouse,counted_qty\n{A},{WAREHOUSE},97\n", encoding="utf-8")
    runner = CliRunner()

    first = runner.invoke(app, ["stock", "import-count", str(count_file)])
    again = runner.invoke(app, ["stock", "import-count", str(count_file)])

    assert first.exit_code == 0, first.output
    assert "1 counted rows imported" in first.output and "1 ledger rows posted" in first.output
    assert "0 ledger rows posted" in again.output                      # the same count: nothing new
    assert repository.read_positions(engine).empty                     # importing writes no snapshot by itself

    # the count is compared with the ledger *before* it (domain.stock.reconcile), so accepting it
    # does not hide the 3 missing units: the record stays for a person; on hand is now the count
    reconciled = runner.invoke(app, ["stock", "reconcile", "--count-file", str(count_file), "--no-read-listings"])
    assert reconciled.exit_code == 0, reconciled.output
    assert "count_vs_ledger 1" in reconciled.output
    record = repository.read_discrepancies(engine).iloc[0]
    assert (record["warehouse_count"], record["ledger_qty"], record["difference"]) == (97, 100, -3)
    assert repository.read_positions(engine)["on_hand"].tolist() == [97]

    bad = tmp_path / "bad.csv"
    bad.write_text("sku,counted_qty\nX,1\n", encoding="utf-8")
    refused = runner.invoke(app, ["stock", "import-count", str(bad)])
    assert refused.exit_code == 2 and "bad.csv: missing column(s) warehouse" in refused.output

    restocked = runner.invoke(app, ["restock"])
    assert restocked.exit_code == 0, restocked.output
    assert "critical 0" in restocked.output and "overstock 1" in restocked.output   # 97 units, no sales: 滞销
