"""A realistic stock picture for the demo's sandbox world (issue #5).

The demo's scenario has orders but no stock: no ledger, no listings, no warehouse count. This
module gives the warehouse what a running operations department would have the morning the
demo starts, so that its reconcile-stock and restock-alerts runs show meaningful reports:

- listings for every marketplace shop's SKUs with the shop's allocation share and buffer
  (shops.yaml ``stock_sync``), keyed the way each marketplace's stock API wants them;
- opening stock and a week-old purchase-order receipt in the ledger, sized from what the
  world sells: most SKUs a month or more of cover, a few best sellers low (critical or
  warning), a few slow movers far above 90 days (overstock);
- open purchase orders for some of the low SKUs (in transit);
- yesterday's stock sync: every listing pushed and read back through its connector, as a
  ``shopops stock sync --live`` would have done (real HTTP against the sandbox);
- planted discrepancies for a person to find: a shipment nobody posted and a stocktake
  difference in the WMS count file (written to ``<reports>/inputs/`` and imported), and one
  listing edited on the marketplace after our push.

Call it after the shops, credentials and catalogue are registered and the sandbox answers.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
import yaml

from config.schema import AppConfig
from config.settings import get_settings
from domain.stock import push_plan
from sandbox import generate, wire
from sandbox.generator import World
from sandbox.platforms.amazon import seller_id
from sandbox.platforms.shopify import inventory_item_id
from tasks.stock import WarehouseCount, import_count, push_shop_listings, shop_connector
from warehouse import repository
from warehouse.db import make_engine
from warehouse.models import PurchaseOrder, PurchaseOrderLine

#: the history the demo's restock formula looks at (rules.yaml restock.demand_history_days default)
_HISTORY_DAYS = 28
#: days of cover the opening stock gives, per group of SKUs (ranked by what they sell)
_COVER_LOW, _COVER_NORMAL, _COVER_SLOW = 3, 45, 200
_TIGHT_EXTRA_DAYS = 2
#: the planted count differences: units a shipment took without being posted, units a count found extra
MISSING_SHIPMENT_UNITS, STOCKTAKE_EXTRA_UNITS = 3, 2
#: what a person set one listing to in the marketplace's back-office, above our push
EDITED_LISTING_EXTRA_UNITS = 25


@dataclass
class DemoStock:
    count_file: Path                     # the WMS count, imported; pass it to reconcile-stock as count_file
    listings: int
    ledger_rows: int
    open_purchase_orders: int
    pushes: int
    planted: dict[str, str] = field(default_factory=dict)   # what was planted where, for the demo's log


def sandbox_stock_options(shop_id: str, platform: str) -> dict[str, object]:
    """Connector options a shop's stock calls need on the sandbox: Shopify's inventory location,
    Amazon's seller id (a real shop has them in its shops.yaml connector_options)."""
    if platform == "shopify":
        return {"location_id": wire.SHOPIFY_LOCATION_ID}
    if platform == "amazon":
        return {"seller_id": seller_id(shop_id)}
    return {}


def add_sandbox_stock_options(config_dir: Path) -> None:
    """Add ``sandbox_stock_options`` to the shops of a sandbox config copy (config/overlay.py)."""
    path = Path(config_dir) / "shops.yaml"
    shops = yaml.safe_load(path.read_text(encoding="utf-8"))
    for shop in shops["shops"]:
        extra = sandbox_stock_options(shop["id"], shop["platform"])
        if extra:
            shop["connector_options"] = {**(shop.get("connector_options") or {}), **extra}
    path.write_text(yaml.safe_dump(shops, allow_unicode=True, sort_keys=False), encoding="utf-8")


def sandbox_listings(world: World, config: AppConfig) -> pd.DataFrame:
    """A listing per enabled marketplace shop and catalogue SKU, keyed as each stock API wants:
    item and variant ids for the Chinese marketplaces; Shopify's variant as its inventory item;
    Amazon's seller SKU (= our SKU) as the variant, the ASIN as the item — Amazon's listings
    API is keyed by the seller SKU, its orders show the ASIN."""
    tables = world.listing_id_tables
    catalogue = world.catalogue
    frames = []
    for shop in config.shops:
        if not shop.enabled or shop.platform == "file" or shop.platform not in tables:
            continue
        items, variants = tables[shop.platform]
        if shop.platform == "amazon":
            variants = catalogue["sku"].to_numpy()
        elif shop.platform == "shopify":
            variants = np.array([str(inventory_item_id(v)) for v in variants], dtype=object)
        frames.append(pd.DataFrame({
            "shop_id": shop.id, "marketplace_item_id": items, "marketplace_sku_id": variants,
            "sku": catalogue["sku"].to_numpy(), "allocation_share": shop.stock_sync.allocation_share,
            "buffer": shop.stock_sync.buffer, "currency": catalogue["currency"].to_numpy(),
            "price_minor": catalogue["list_price_minor"].to_numpy(), "enabled": True}))
    return pd.concat(frames, ignore_index=True)


def _daily_units(world: World) -> pd.Series:
    """Units per SKU and day as the restock formula will see them: the world's sales spread over
    the 28-day history (the demo's world covers only its last days)."""
    lines = pd.concat([world.ground_truth(shop.id).lines for shop in world.shops], ignore_index=True)
    units = lines.groupby("sku")["quantity"].sum()
    return (units / _HISTORY_DAYS).reindex(world.catalogue["sku"]).fillna(0.0)


def _opening_stock(world: World) -> tuple[pd.Series, list[str], list[str]]:
    """Opening units per SKU, the low SKUs and the slow ones (see the module docstring)."""
    daily = _daily_units(world)
    selling = daily[daily > 0].sort_values(ascending=False)
    low, tight = list(selling.index[:3]), list(selling.index[3:6])
    slow = list(selling.index[-4:]) if len(selling) > 10 else []
    cover = pd.Series(_COVER_NORMAL, index=daily.index, dtype=float)
    # tight: a little more than the lead time covers — under the reorder point once safety stock counts
    lead = world.catalogue.set_index("sku")["lead_time_days"].reindex(daily.index).fillna(0)
    cover[low], cover[tight], cover[slow] = _COVER_LOW, lead[tight] + _TIGHT_EXTRA_DAYS, _COVER_SLOW
    # a SKU that sells nothing still has a few cases on the shelf (shown as overstock: 滞销)
    units = np.ceil(daily * cover).where(daily > 0, 20).astype("int64")
    return units, low + tight, slow


def seed_demo_stock(database_url: str, config: AppConfig, world_or_scenario: World | str | Path,
                    now: datetime | None = None, reports_dir: Path | None = None) -> DemoStock:
    """Seed the warehouse (and the sandbox's listings) with the stock picture described above.

    ``world_or_scenario``: the sandbox world the demo serves, or its scenario (name or file).
    ``reports_dir``: where ``inputs/wms-count-*.csv`` goes (default: the settings' reports).
    Rerunning it changes nothing in the ledger and stocktakes (idempotent posts); listings are
    upserted and pushed again.
    """
    world = world_or_scenario if isinstance(world_or_scenario, World) else generate(world_or_scenario)
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    catalogue = world.catalogue.set_index("sku")
    warehouse_of = catalogue["default_warehouse"].fillna("HZ01")
    opening, low, slow = _opening_stock(world)
    engine = make_engine(database_url)
    try:
        # the ledger: opening a month ago, a delivered PO receipt a week ago (part of the stock)
        receipt = (opening // 4).where(opening >= 8, 0)
        ledger = pd.concat([
            pd.DataFrame({"sku": opening.index, "warehouse": warehouse_of[opening.index].to_numpy(),
                          "moved_at": pd.Timestamp(now - timedelta(days=30)), "kind": "opening",
                          "quantity": (opening - receipt).to_numpy(), "reference": "demo:opening"}),
            pd.DataFrame({"sku": receipt.index[receipt > 0], "warehouse": warehouse_of[receipt.index[receipt > 0]].to_numpy(),
                          "moved_at": pd.Timestamp(now - timedelta(days=7)), "kind": "receipt",
                          "quantity": receipt[receipt > 0].to_numpy(), "reference": "demo:PO-DEMO-000"})],
            ignore_index=True)
        posted = repository.post_ledger(engine, ledger)

        # open purchase orders for half of the low SKUs: they arrive within the lead time
        ordered = low[::2]
        with engine.begin() as conn:
            for n, sku in enumerate(ordered, start=1):
                po_no = f"PO-DEMO-{n:03d}"
                if conn.scalar(sa.select(PurchaseOrder.po_no).where(PurchaseOrder.po_no == po_no)):
                    continue
                item = catalogue.loc[sku]
                conn.execute(sa.insert(PurchaseOrder).values(
                    po_no=po_no, supplier=item["supplier"], warehouse=warehouse_of[sku], status="open",
                    ordered_at=now - timedelta(days=2), expected_at=now + timedelta(days=int(item["lead_time_days"]) - 2)))
                conn.execute(sa.insert(PurchaseOrderLine).values(
                    po_no=po_no, sku=sku, qty_ordered=int(item["moq"]), qty_received=0))

        # listings, and yesterday's sync: every listing pushed and read back through its connector
        listings = sandbox_listings(world, config)
        repository.upsert_listings(engine, listings)
        stored = repository.read_listings(engine)
        available = repository.read_ledger(engine).groupby("sku")["quantity"].sum()
        plan = push_plan(available, stored).plan
        with ThreadPoolExecutor(max_workers=4) as pool:
            done = list(pool.map(lambda part: push_shop_listings(config, part[0], part[1]),
                                 plan.groupby("shop_id", sort=True)))
        pushes = pd.concat(done, ignore_index=True)
        repository.record_stock_pushes(engine, pushes, flow_run_id="demo-seed", now=now)

        # planted: a person raised one listing of a best seller in the back-office after our push
        planted = {}
        confirmed = pushes[pushes["outcome"] == "confirmed"]
        edited = confirmed[confirmed["sku"].isin(low)].head(1)
        for row in edited.itertuples():
            shop = next(s for s in config.shops if s.id == row.shop_id)
            with shop_connector(shop) as connector:
                connector.push_stock(row.marketplace_item_id, row.marketplace_sku_id,
                                     int(row.planned_qty) + EDITED_LISTING_EXTRA_UNITS)
            planted["listing edited on the marketplace"] = (
                f"{row.shop_id} {row.sku}: pushed {row.planned_qty}, set to "
                f"{int(row.planned_qty) + EDITED_LISTING_EXTRA_UNITS} in the back-office")

        # the WMS count an hour ago: everything as the ledger says, but one shipment never posted
        # (a best seller counted short) and one stocktake difference (a slow mover counted over)
        on_hand = repository.read_ledger(engine).groupby(["sku", "warehouse"], as_index=False)["quantity"].sum()
        counts = on_hand.rename(columns={"quantity": "counted_qty"})
        short = low[1] if len(low) > 1 else counts["sku"].iloc[0]
        over = slow[0] if slow else counts["sku"].iloc[-1]
        counts.loc[counts["sku"] == short, "counted_qty"] -= MISSING_SHIPMENT_UNITS
        counts.loc[counts["sku"] == over, "counted_qty"] += STOCKTAKE_EXTRA_UNITS
        planted["shipment not posted"] = f"{short}: counted {MISSING_SHIPMENT_UNITS} below the ledger"
        planted["stocktake difference"] = f"{over}: counted {STOCKTAKE_EXTRA_UNITS} above the ledger"
        counted_at = now - timedelta(hours=1)
        folder = Path(reports_dir or get_settings().report_folder) / "inputs"
        folder.mkdir(parents=True, exist_ok=True)
        count_file = folder / f"wms-count-{counted_at:%Y%m%d-%H%M}.csv"
        counts.assign(counted_at=counted_at.isoformat()).to_csv(count_file, index=False)
        import_count(database_url, WarehouseCount(counts=counts[["sku", "warehouse", "counted_qty"]],
                                                  counted_at=counted_at, source=count_file.name))
        return DemoStock(count_file=count_file, listings=len(listings), ledger_rows=posted,
                         open_purchase_orders=len(ordered), pushes=len(pushes), planted=planted)
    finally:
        engine.dispose()
