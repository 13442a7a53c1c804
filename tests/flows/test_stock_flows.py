"""reconcile-stock and restock-alerts as Prefect flows (test harness server) on a warehouse
built by hand, with listings read over real HTTP from the sandbox marketplace.

The numbers are worked out in the comments; nothing is mocked. The one spy wraps
``emit`` to count the critical-restock events while still emitting them to the server.
"""
from __future__ import annotations

import asyncio
import json
from contextlib import contextmanager
import shutil
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
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
BUYER_PHONE = "138****5678"


@pytest.fixture(scope="module")
def world():
    return generate("smoke")


def give_credentials(monkeypatch, world, shop_ids):
    """The sandbox's credentials of ``shop_ids`` as SHOPOPS_CRED_<SHOP> environment variables."""
    for shop_id in shop_ids:
        secret = world.credentials[shop_id]
        monkeypatch.setenv("SHOPOPS_CRED_" + shop_id.upper().replace("-", "_"),
                           '{"app_key": "%s", "app_secret": "%s", "access_token": "%s"}'
                           % (secret.app_key, secret.app_secret, secret.access_token))


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
        give_credentials(monkeypatch, world, ("tmall-flagship", "jd-pop"))
        monkeypatch.delenv("SHOPOPS_CRED_PDD_MAIN", raising=False)
        with _migrated_warehouse() as (settings, engine):
            yield settings, engine, server


@contextmanager
def _migrated_warehouse():
    """Settings read afresh from the environment the fixture set, and their warehouse migrated."""
    get_settings.cache_clear()
    settings = get_settings()
    migrate.upgrade(settings.warehouse_url)
    engine = make_engine(settings.warehouse_url)
    try:
        yield settings, engine
    finally:
        engine.dispose()
        get_settings.cache_clear()


@pytest.fixture
def webhook():
    """A local HTTP receiver standing in for the team's robot webhook (answers like DingTalk)."""
    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield type("Webhook", (), {"url": f"http://127.0.0.1:{server.server_port}/robot/send", "received": received})
    server.shutdown()
    server.server_close()


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
                    paid_at=paid_at, modified_at=paid_at, line_count=len(items), buyer_nick_masked="张**",
                    receiver_name_masked="李**", receiver_phone_masked=BUYER_PHONE, buyer_remark="请尽快发货")
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
    assert (shipment.kind, shipment.cause) == ("count_vs_ledger", "unrecorded_shipment")
    assert shipment.suggested_cause.startswith("Counted 115, the ledger has 120")
    assert "import-count" in shipment.suggested_cause
    assert (receipt.warehouse_count, receipt.ledger_qty, receipt.listing_qty, receipt.difference) == (48, 45, 5, 3)
    assert receipt.cause == "unrecorded_receipt"
    oversell = by_key[(A, "jd-pop")]
    assert (oversell.warehouse_count, oversell.ledger_qty, oversell.listing_qty, oversell.difference) == (115, 120, 60, 39)
    assert (oversell.kind, oversell.cause, oversell.planned_qty) == ("oversell_risk", "listing_drift", 21)
    # advice that fits an oversell risk: lower the listing — not the count's "post the movement"
    assert "we never pushed this listing. Lower it to 21" in oversell.suggested_cause
    assert "import-count" not in oversell.suggested_cause
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
    # the headline says what was found, each kind counted (it said "books match" over any findings)
    assert summary.startswith("# Stock reconciliation: 2 count-vs-ledger differences, 1 listing oversell risks, "
                              "1 undersold listings; 1 shop(s) could not be read\n")
    assert "1 listing(s) offer 39 unit(s) more than we can ship" in summary
    assert "pdd-main" in summary and "SHOPOPS_CRED_PDD_MAIN" in summary     # the failed shop, and what to do
    assert "Nothing was pushed" in summary
    book = openpyxl.load_workbook(next((settings.report_folder / "reconcile-stock").glob("*.xlsx")))
    assert book.sheetnames == ["discrepancies", "shops", "push_plan", "edited_on_marketplace", "pushes", "positions"]
    header = [c.value for c in book["discrepancies"][1]]
    assert {"warehouse count", "ledger", "listing shows", "possible cause and what to do"} <= set(header)
    # issue 23 #4: who (SKU, warehouse, shop), then the difference and what to do, then the figures
    assert header.index("difference") < header.index("possible cause and what to do") < header.index("warehouse count")
    assert header[0] == "SKU"
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


def _two_skus_two_listings(world, engine, server):
    """A: 120 on hand, B: 45, in HZ01; jd-pop lists A (share 0.20, buffer 2: plan 22, shows 60:
    oversell risk +38), tmall-flagship lists B (share 0.30, buffer 2: plan 11, shows 5: −6)."""
    repository.upsert_skus(engine, pd.DataFrame([{"sku": s, "name": s, "supplier": "hz-apparel",
                                                  "default_warehouse": WAREHOUSE} for s in (A, B)]))
    repository.post_ledger(engine, moves((A, 10, "opening", 120, "opening"), (B, 10, "opening", 45, "opening")))
    rows = []
    for shop, platform, sku, share in (("jd-pop", "jd", A, 0.20), ("tmall-flagship", "taobao", B, 0.30)):
        item, variant = listing_ids(world, platform, sku)
        rows.append({"shop_id": shop, "marketplace_item_id": item, "marketplace_sku_id": variant, "sku": sku,
                     "allocation_share": share, "buffer": 2})
    repository.upsert_listings(engine, pd.DataFrame(rows))
    server.state.stock[("jd-pop", A)] = 60
    server.state.stock[("tmall-flagship", B)] = 5


def test_hourly_reconcile_without_a_count_updates_the_open_records_instead_of_filing_them_again(
        world, stock_env, tmp_path, monkeypatch):
    """Issue 17 #2: one open record per (kind, SKU, warehouse, shop/listing), the latest numbers.
    The first run reports in Chinese (issue 17 #9): a headline that counts what was found, and
    advice per row that fits its kind."""
    from flows.stock import reconcile_stock

    settings, engine, server = stock_env
    _two_skus_two_listings(world, engine, server)
    count_file = tmp_path / "wms-count.csv"
    counted_at = (NOW - timedelta(hours=1)).isoformat()
    count_file.write_text(f"sku,warehouse,counted_qty,counted_at\n{A},{WAREHOUSE},115,{counted_at}\n",
                          encoding="utf-8")

    monkeypatch.setenv("SHOPOPS_LOCALE", "zh_CN")
    get_settings.cache_clear()
    first = reconcile_stock(count_file=str(count_file))
    assert (first["count_vs_ledger"], first["oversell_risk"], first["undersell"], first["new_records"]) == (1, 1, 1, 3)
    summary = max(asyncio.run(_artifact("reconcile-stock")), key=lambda a: a.created).data   # this run's
    assert summary.startswith("# 库存对账：盘点与台账不符 1 处，商品超卖风险 1 个，少卖 1 个\n")
    assert "账实相符" not in summary
    book = openpyxl.load_workbook(next((settings.report_folder / "reconcile-stock").glob("*.xlsx")))
    sheet = [dict(zip([c.value for c in book["库存差异"][1]], row))   # the sheet's zh_CN name (issue 23 #5)
             for row in book["库存差异"].iter_rows(min_row=2, values_only=True)]
    advice = {row["类型"]: row["可能原因与处理建议"] for row in sheet}   # the kind in words (issue 23 #2)
    assert "出库未入账" in advice["盘点≠台账"]
    assert "超卖" in advice["超卖风险"] and "改为 22" in advice["超卖风险"]
    assert "未入账" not in advice["超卖风险"] and "少卖" in advice["少卖"]
    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    get_settings.cache_clear()

    # the next hour, no count file; meanwhile 10 of A shipped and jd-pop's listing was raised to 70
    repository.post_ledger(engine, moves((A, 0, "shipment", -10, "order:x9")))
    server.state.stock[("jd-pop", A)] = 70
    hourly = reconcile_stock()
    assert (hourly["oversell_risk"], hourly["undersell"], hourly["new_records"], hourly["already_open"]) == (1, 1, 0, 2)
    again = reconcile_stock()
    assert (again["new_records"], again["already_open"]) == (0, 2)

    stored = repository.read_discrepancies(engine)
    assert len(stored) == 3
    assert not stored.duplicated(["kind", "sku", "warehouse", "shop_id"]).any()
    oversell = stored[stored["kind"] == "oversell_risk"].iloc[0]
    # the latest numbers: ledger 110, plan floor(110 × 0.20) − 2 = 20, the listing shows 70 → +50; no count
    assert (oversell["ledger_qty"], oversell["listing_qty"], oversell["planned_qty"], oversell["difference"]) == (
        110, 70, 20, 50)
    assert pd.isna(oversell["warehouse_count"])
    assert oversell["last_seen_at"] > oversell["created_at"]
    count = stored[stored["kind"] == "count_vs_ledger"].iloc[0]      # not judged without a count: as filed
    assert (count["warehouse_count"], count["ledger_qty"], count["difference"]) == (115, 120, -5)


def test_a_bad_count_file_names_file_row_and_column(stock_env, tmp_path):
    from flows.stock import reconcile_stock

    bad = tmp_path / "bad-count.csv"
    bad.write_text(f"sku,warehouse,counted_qty\n{A},{WAREHOUSE},12\n{B},{WAREHOUSE},twelve\n", encoding="utf-8")
    state = reconcile_stock(count_file=str(bad), read_listings=False, return_state=True)
    assert state.is_failed()
    assert "bad-count.csv: row 3, column counted_qty: 'twelve' is not a number" in state.message


def test_restock_alerts_levels_cooldown_and_worse_level(stock_env, webhook, monkeypatch):
    import flows.stock
    from flows.stock import restock_alerts

    settings, engine, _ = stock_env
    now = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)     # 09:00 in Shanghai: history Oct 26 … Nov 22
    days = [(now + timedelta(hours=8)).date() - timedelta(days=n) for n in range(1, 29)]
    repository.upsert_skus(engine, pd.DataFrame([
        # supplier terms from suppliers.yaml: hz-apparel L 10, case 10, MOQ 50; gz-shoes L 14, case 6, MOQ 30
        {"sku": "CRIT", "name": "crit", "supplier": "hz-apparel", "default_warehouse": WAREHOUSE},
        {"sku": B, "name": "warn", "supplier": "gz-shoes", "default_warehouse": WAREHOUSE},
        {"sku": "FINE", "name": "fine", "supplier": "hz-apparel", "lead_time_days": 5, "default_warehouse": WAREHOUSE},
    ]))
    specs = []
    for day in days:
        paid = datetime(day.year, day.month, day.day, 4, 0, tzinfo=timezone.utc)    # 12:00 Shanghai that day
        # WARN (= B, DJ-BLK-M, promoted by config/promotions/double11-2026.yaml in tmall-flagship, uplift 8)
        # sells 16 on Double 11: 16 / 8 = 2, a normal day
        warn = 16 if day.isoformat() == "2026-11-11" else 2
        specs.append((f"o-{day}", "tmall-flagship", "completed", paid,
                      [("CRIT", 2, 2000), (B, warn, 1000 * warn), ("FINE", 1, 500)]))
    repository.upsert_orders(engine, orders(*specs))
    repository.post_ledger(engine, moves(("CRIT", 40, "opening", 15, "opening"), (B, 40, "opening", 20, "opening"),
                                         ("FINE", 40, "opening", 50, "opening")))
    add_po(engine, "PO-W", B, 8, 3)
    # CRIT: d 2, σ 0, L 10 → ROP 20, S 2 × 17 = 34; position 15, cover 7.5 < 10 → critical;
    #       34 − 15 = 19 → MOQ 50 → 50 (5 cases of 10)
    # WARN: d 2 (Double 11 brought back by its uplift), L 14 → ROP 28, S 42; position 20 + 8 = 28,
    #       cover 14 is not < 14 but 28 <= ROP → warning; 42 − 28 = 14 → MOQ 30 → 30 (5 cases of 6).
    #       Without the uplift d would be 2.5 and WARN critical.
    # FINE: d 1, L 5 (its own) → ROP 5; 50 units cover 50 days: nothing to say

    events = []
    real_emit = flows.stock.emit
    monkeypatch.setattr(flows.stock, "emit", lambda *a, **k: (events.append((a, k)), real_emit(*a, **k)))
    monkeypatch.setenv("SHOPOPS_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("SHOPOPS_WEBHOOK_FORMAT", "dingtalk")
    get_settings.cache_clear()

    first = restock_alerts(now=now)
    assert (first["critical"], first["warning"], first["overstock"], first["sent"], first["held_back"]) == (1, 1, 0, 2, 0)
    # one DingTalk robot message with both alerts, their numbers, and nothing about any buyer
    assert len(webhook.received) == 1
    message = webhook.received[0]
    assert message["msgtype"] == "markdown" and set(message["markdown"]) == {"title", "text"}
    assert "1 critical, 1 warning, 0 overstock" in message["markdown"]["title"]
    text = message["markdown"]["text"]
    assert "**critical** CRIT" in text and "order 50" in text and f"**warning** {B}" in text
    assert not any(pii in json.dumps(message, ensure_ascii=False) for pii in (BUYER_PHONE, "张**", "李**", "请尽快发货"))
    assert [(a[0], a[1]) for a, _ in events] == [("shopops.restock.critical", "shopops.sku.CRIT")]
    assert events[0][1]["suggested_qty"] == 50
    alerts = repository.read_alerts(engine)
    terms = {row.sku: row.details for row in alerts.itertuples()}
    assert {sku: d["suggested_qty"] for sku, d in terms.items()} == {"CRIT": 50, B: 30}
    assert (terms[B]["daily_demand"], terms[B]["reorder_point"], terms[B]["lead_time_days"]) == (2, 28, 14)
    assert terms[B]["lead_time_source"] == "supplier" and terms[B]["case_pack"] == 6

    # an hour later: same levels within the 24 h cooldown → stored as held back, nothing sent
    second = restock_alerts(now=now + timedelta(hours=1))
    assert (second["sent"], second["held_back"], second["events"]) == (0, 2, 0) and len(events) == 1
    assert len(webhook.received) == 1                                    # nothing sent, no message
    held = repository.read_alerts(engine).iloc[2:]
    assert held["suppressed"].astype(bool).all() and held["sent_at"].isna().all()
    assert all("within the cooldown" in d["send_reason"] for d in held["details"])

    # WARN gets worse: 10 more units leave → position 18, cover 9 < 14 → critical, sent again; CRIT still held
    repository.post_ledger(engine, moves((B, 0, "shipment", -10, "order:late")))
    third = restock_alerts(now=now + timedelta(hours=2))
    assert (third["critical"], third["sent"], third["held_back"]) == (2, 1, 1)
    assert [a[1] for a, _ in events] == ["shopops.sku.CRIT", f"shopops.sku.{B}"]
    assert len(webhook.received) == 2 and f"**critical** {B}" in webhook.received[1]["markdown"]["text"]
    assert "CRIT" not in webhook.received[1]["markdown"]["text"]        # held back: not in the message
    cooldowns = repository.last_sent_alerts(engine).set_index("sku")
    assert cooldowns.loc[B, "level"] == "critical"
    assert cooldowns.loc["CRIT", "last_sent_at"] == pd.Timestamp(now)    # not moved by the held-back runs
    latest = repository.read_alerts(engine).iloc[-2:].set_index("sku")
    assert latest.loc[B, "details"]["send_reason"] == "worse than the last alert: warning → critical"

    summaries = [a.data for a in asyncio.run(_artifact("restock-alerts"))]      # one version per run
    assert any("2 critical, 0 warning, 0 overstock; 1 sent, 1 held back" in s for s in summaries), summaries
    # the buyer's sheet: one per supplier, what to order, most urgent first (latest run: WARN and CRIT critical)
    po = openpyxl.load_workbook(sorted((settings.report_folder / "purchase-suggestions").glob("*.xlsx"))[-1])
    assert po.sheetnames == ["广州鞋业有限公司", "杭州服饰制造有限公司"]
    rows = {name: [r[:3] for r in po[name].iter_rows(min_row=2, values_only=True)] for name in po.sheetnames}
    # the last row totals the quantities to order (tasks/reporting.py REPORT_TOTALS)
    assert rows == {"广州鞋业有限公司": [(B, "warn", 30), ("Total", None, 30)],
                    "杭州服饰制造有限公司": [("CRIT", "crit", 50), ("Total", None, 50)]}
    assert [c.value for c in po["广州鞋业有限公司"][1]][:3] == ["SKU", "name", "suggested qty"]
    book = openpyxl.load_workbook(sorted((settings.report_folder / "restock-alerts").glob("*.xlsx"))[-1])
    header = [c.value for c in book["suggestions"][1]]
    assert header[:3] == ["SKU", "name", "suggested qty"]   # issue 23 #4: the decisive column first
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
    assert "count≠ledger 1" in reconciled.output
    record = repository.read_discrepancies(engine).iloc[0]
    assert (record["warehouse_count"], record["ledger_qty"], record["difference"]) == (97, 100, -3)
    assert repository.read_positions(engine)["on_hand"].tolist() == [97]

    bad = tmp_path / "bad.csv"
    bad.write_text("sku,counted_qty\nX,1\n", encoding="utf-8")
    refused = runner.invoke(app, ["stock", "import-count", str(bad)])
    assert refused.exit_code == 2 and "bad.csv: row 1: no column 'warehouse' (仓库) in the header" in refused.output

    restocked = runner.invoke(app, ["stock", "restock"])
    assert restocked.exit_code == 0, restocked.output
    assert "critical 0" in restocked.output and "overstock 1" in restocked.output   # 97 units, no sales: 滞销
    alias = runner.invoke(app, ["restock"])                              # the old top-level verb still works
    assert alias.exit_code == 0 and "overstock 1" in alias.output


# --- stock sync against the sandbox -------------------------------------------------------------

SYNC_SHOPS = ("tmall-flagship", "jd-pop", "shopify-global", "amazon-us")


@pytest.fixture
def sync_env(world, warehouse_env, tmp_path, monkeypatch):
    """A sandbox config copy (config/overlay.py) with the stock options Shopify and Amazon need,
    credentials for the four SYNC_SHOPS, an empty warehouse."""
    from config.overlay import write_sandbox_config
    from shopops.demo_stock import add_sandbox_stock_options

    with SandboxServer(world) as server:
        target = write_sandbox_config(tmp_path / "config", server.url)
        add_sandbox_stock_options(target)
        monkeypatch.setenv("SHOPOPS_CONFIG_DIR", str(target))
        give_credentials(monkeypatch, world, SYNC_SHOPS)
        with _migrated_warehouse() as (settings, engine):
            yield settings, engine, server


def sandbox_stock(server, shop_id):
    """What the sandbox marketplace shows, read over HTTP (GET /_sandbox/writes)."""
    import requests

    rows = requests.get(f"{server.url}/_sandbox/writes", params={"shop_id": shop_id}, timeout=10).json()["stock"]
    return {row["sku"]: row["quantity"] for row in rows}


def set_switch(settings, **stock_rules):
    rules_file = settings.config_dir / "rules.yaml"
    rules = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    rules["stock"].update(stock_rules)
    rules_file.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")


def test_stock_sync_dry_run_writes_nothing_live_pushes_reads_back_and_leaves_edited_listings(world, sync_env):
    from typer.testing import CliRunner

    from config.schema import load_config
    from shopops.cli import app
    from shopops.demo_stock import sandbox_listings
    from tasks.stock import shop_connector

    settings, engine, server = sync_env
    config = load_config()
    runner = CliRunner()
    repository.upsert_skus(engine, pd.DataFrame([{"sku": s, "name": s, "supplier": "hz-apparel",
                                                  "default_warehouse": WAREHOUSE} for s in (A, B)]))
    repository.post_ledger(engine, moves((A, 10, "opening", 100, "opening"), (B, 10, "opening", 40, "opening")))
    repository.upsert_orders(engine, orders(("o-paid", "tmall-flagship", "paid", NOW - timedelta(hours=3), [(A, 4, 4000)])))
    # A: 100 on hand − 4 reserved = 96 available; B: 40. Listings keyed as each stock API wants
    # (Amazon: the seller SKU), shares and buffers from shops.yaml:
    #   tmall 0.30/2: A floor(28.8) − 2 = 26, B 12 − 2 = 10     jd 0.20/2: A floor(19.2) − 2 = 17, B 8 − 2 = 6
    #   shopify 0.05/1: A floor(4.8) − 1 = 3, B 2 − 1 = 1       amazon 0.05/1: A 3, B 1
    listings = sandbox_listings(world, config)
    listings = listings[listings["shop_id"].isin(SYNC_SHOPS) & listings["sku"].isin([A, B])]
    assert listings.loc[listings["shop_id"] == "amazon-us", "marketplace_sku_id"].tolist() == [B, A]
    repository.upsert_listings(engine, listings)
    for shop_id in SYNC_SHOPS:
        for sku in (A, B):
            server.state.stock[(shop_id, sku)] = 50                     # what the marketplaces show today
    planned = {("tmall-flagship", A): 26, ("tmall-flagship", B): 10, ("jd-pop", A): 17, ("jd-pop", B): 6,
               ("shopify-global", A): 3, ("shopify-global", B): 1, ("amazon-us", A): 3, ("amazon-us", B): 1}

    # 1. a dry run (the default) logs the eight pushes and writes nothing: the sandbox still shows 50
    dry = runner.invoke(app, ["stock", "sync"])
    assert dry.exit_code == 0, dry.output
    assert "dry-run pushes 8" in dry.output and "pushed and confirmed 0" in dry.output
    for shop_id in SYNC_SHOPS:
        assert (sandbox_stock(server, shop_id)[A], sandbox_stock(server, shop_id)[B]) == (50, 50)
    assert all(counter.get("stock_writes", 0) == 0 for counter in server.state.stats_json().values())
    logged = repository.read_stock_pushes(engine)
    assert set(logged["outcome"]) == {"dry_run"} and len(logged) == 8
    assert {(r.shop_id, r.sku): (r.before_qty, r.planned_qty, r.after_qty) for r in logged.itertuples()} == {
        key: (50, qty, 50) for key, qty in planned.items()}
    assert repository.read_listings(engine)["last_pushed_qty"].isna().all()

    # 2. --live while rules.yaml says pushing is off: refused, with what to do
    refused = runner.invoke(app, ["stock", "sync", "--live"])
    assert refused.exit_code == 1 and "stock.push_enabled" in refused.output
    assert sandbox_stock(server, "jd-pop")[A] == 50

    # 3. switched on: pushed through each connector, read back, logged, remembered on the listing
    set_switch(settings, push_enabled=True)
    live = runner.invoke(app, ["stock", "sync", "--live"])
    assert live.exit_code == 0, live.output
    assert "pushed and confirmed 8" in live.output and "pushes failed 0" in live.output
    for (shop_id, sku), qty in planned.items():
        assert sandbox_stock(server, shop_id)[sku] == qty
    pushed = repository.read_stock_pushes(engine).iloc[8:]
    assert set(pushed["outcome"]) == {"confirmed"} and not pushed["dry_run"].astype(bool).any()
    assert {(r.shop_id, r.sku): (r.before_qty, r.planned_qty, r.after_qty) for r in pushed.itertuples()} == {
        key: (50, qty, qty) for key, qty in planned.items()}
    amazon_reply = pushed.loc[pushed["shop_id"] == "amazon-us", "reply"].iloc[0]
    assert amazon_reply["status"] == "ACCEPTED"
    stored = repository.read_listings(engine).set_index(["shop_id", "sku"])
    assert {key: stored.loc[key, "last_pushed_qty"] for key in planned} == planned

    # 4. a person raises jd-pop's A to 40 in the back-office (a real write through the API):
    #    the next live sync reports it, does not overwrite it, and pushes nothing else (all agree)
    with shop_connector(config.shop("jd-pop")) as jd:
        item, variant = listings.set_index(["shop_id", "sku"]).loc[("jd-pop", A), ["marketplace_item_id",
                                                                                   "marketplace_sku_id"]]
        jd.push_stock(item, variant, 40)
    again = runner.invoke(app, ["stock", "sync", "--live"])
    assert again.exit_code == 0, again.output
    assert "edited on marketplace 1" in again.output and "pushed and confirmed 0" in again.output
    assert sandbox_stock(server, "jd-pop")[A] == 40
    found = repository.read_discrepancies(engine)
    record = found[found["cause"] == "listing_edited"].set_index(["shop_id", "sku"]).loc[("jd-pop", A)]
    # the three numbers: no count (blank), ledger 100 on hand, the listing 40; planned 17 → 23 over
    assert (record["kind"], record["cause"], record["listing_qty"], record["planned_qty"], record["difference"],
            record["ledger_qty"]) == ("oversell_risk", "listing_edited", 40, 17, 23, 100)
    assert "someone changed it on the marketplace after our push of 17" in record["suggested_cause"]
    summaries = [a.data for a in asyncio.run(_artifact("reconcile-stock"))]
    assert any("were edited on the marketplace since our last push" in s and "--overwrite-edited" in s
               for s in summaries)

    # 5. the person asks shopops to take the listing back
    taken_back = runner.invoke(app, ["stock", "sync", "--live", "--overwrite-edited"])
    assert taken_back.exit_code == 0 and "pushed and confirmed 1" in taken_back.output
    assert sandbox_stock(server, "jd-pop")[A] == 17


# --- the demo's stock picture, seeded against the sandbox --------------------------------------

def test_seeded_demo_stock_plants_three_discrepancies_the_flows_find(world, warehouse_env, tmp_path, monkeypatch):
    from config.overlay import write_sandbox_config
    from config.schema import load_config
    from flows.stock import reconcile_stock, restock_alerts
    from shopops.demo_stock import (EDITED_LISTING_EXTRA_UNITS, MISSING_SHIPMENT_UNITS, STOCKTAKE_EXTRA_UNITS,
                                    add_sandbox_stock_options, seed_demo_stock)
    from tasks.catalogue import store_catalogue

    with SandboxServer(world) as server:
        target = write_sandbox_config(tmp_path / "config", server.url)
        add_sandbox_stock_options(target)
        monkeypatch.setenv("SHOPOPS_CONFIG_DIR", str(target))
        give_credentials(monkeypatch, world, [shop.id for shop in world.shops])
        get_settings.cache_clear()
        settings = get_settings()
        migrate.upgrade(settings.warehouse_url)
        engine = make_engine(settings.warehouse_url)
        config = load_config()
        store_catalogue(engine, world.catalogue)
        seeded_at = world.end + timedelta(hours=1)

        seeded = seed_demo_stock(settings.warehouse_url, config, world, now=seeded_at)

        marketplace_shops = [s for s in config.shops if s.platform != "file" and s.enabled]
        assert seeded.listings == len(world.catalogue) * len(marketplace_shops) == seeded.pushes
        assert seeded.count_file.parent == settings.report_folder / "inputs" and seeded.count_file.exists()
        assert seeded.open_purchase_orders >= 1
        pushes = repository.read_stock_pushes(engine)
        assert set(pushes["outcome"]) == {"confirmed"}          # yesterday's sync took on every marketplace
        short, over = (seeded.planted[k].split(":")[0] for k in ("shipment not posted", "stocktake difference"))
        edited_shop, edited_sku = seeded.planted["listing edited on the marketplace"].split(":")[0].split()

        counts = reconcile_stock(count_file=str(seeded.count_file))

        found = repository.read_discrepancies(engine)
        by_cause = {cause: part for cause, part in found.groupby("cause")}
        shipment = by_cause["unrecorded_shipment"].iloc[0]
        assert (len(by_cause["unrecorded_shipment"]), shipment["sku"], shipment["difference"]) == (
            1, short, -MISSING_SHIPMENT_UNITS)
        assert shipment["warehouse_count"] == shipment["ledger_qty"] - MISSING_SHIPMENT_UNITS
        receipt = by_cause["unrecorded_receipt"].iloc[0]
        assert (len(by_cause["unrecorded_receipt"]), receipt["sku"], receipt["difference"]) == (
            1, over, STOCKTAKE_EXTRA_UNITS)
        edited = by_cause["listing_edited"].iloc[0]
        assert (len(by_cause["listing_edited"]), edited["shop_id"], edited["sku"], edited["kind"]) == (
            1, edited_shop, edited_sku, "oversell_risk")
        assert edited["listing_qty"] - edited["planned_qty"] == edited["difference"] == EDITED_LISTING_EXTRA_UNITS
        assert set(found["cause"]) == {"unrecorded_shipment", "unrecorded_receipt", "listing_edited"}
        assert counts["edited_on_marketplace"] == 1 and counts["shops_failed"] == 0

        # with the world's orders in the warehouse, restock-alerts has something to say
        for shop in world.shops:
            repository.upsert_orders(engine, world.ground_truth(shop.id))
        alerts = restock_alerts(now=seeded_at + timedelta(days=1))
        assert alerts["critical"] >= 1 and alerts["overstock"] >= 1 and alerts["purchase_lines"] >= 1
        book = openpyxl.load_workbook(next((settings.report_folder / "purchase-suggestions").glob("*.xlsx")))
        supplier_names = {s.name for s in config.suppliers}
        assert set(book.sheetnames) <= supplier_names and book.sheetnames
        engine.dispose()
        get_settings.cache_clear()
