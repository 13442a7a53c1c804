"""Issue 18 #10 through the real ingestion step: a chunk of captured Taobao C-store and PDD
records whose lines carry no merchant code is committed by ``tasks.ingest.ShopPull``; the
listings table resolves their SKU, so the orders land instead of being quarantined, and a
quarantined one is released by a recheck once its listing exists.

Payloads: ``../shared/fixtures/marketplaces/taobao/t2_…`` (captured C-store trade, no
``outer_sku_id``/``outer_iid``) and ``pdd/p1_…`` (PDD's documentation example, ``outer_id: ""``).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from config.schema import load_config
from connectors import Credentials, build_connector, default_settings
from connectors.base import Page
from tasks.ingest import ShopPull, _Chunk
from tasks.quarantine import recheck_quarantine
from warehouse import repository

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "marketplaces"
HASH_KEY = "listing-test-key"
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


def shared(name: str) -> dict:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the platforms' payloads live in ../shared beside the clone")
    return json.loads(path.read_text(encoding="utf-8"))


CASES = {
    "taobao-cstore": (lambda: [shared("taobao/t2_jdp_trade_finished_shipped.json")
                               ["trade_fullinfo_get_response"]["trade"]], "37000093369", "56388300261"),
    "pdd-main": (lambda: shared("pdd/p1_doc_increment_get_response_2018.json")
                 ["order_sn_increment_get_response"]["order_sn_list"], "2542137428", "52494558847"),
}


def commit(engine, shop_id: str, records: list[dict]):
    config = load_config()
    shop = config.shop(shop_id)
    connector = build_connector(shop.platform, shop_id, default_settings(shop.platform, "http://127.0.0.1:9"),
                                Credentials(app_key="k", app_secret="s", access_token="t"))
    pull = ShopPull(config, shop, engine, connector, owner="test", hash_key=HASH_KEY, clock=lambda: NOW)
    page = Page(shop_id=shop_id, platform=shop.platform, window_start=NOW, window_end=NOW, page_no=1,
                raw=json.dumps(records, ensure_ascii=False).encode(), records=records, fetched_at=NOW)
    pull.commit(_Chunk(pages=[page]), watermark=None)
    return pull.result


def listing(shop_id: str, item: str, variant: str, sku: str) -> pd.DataFrame:
    return pd.DataFrame([{"shop_id": shop_id, "marketplace_item_id": item, "marketplace_sku_id": variant,
                          "sku": sku, "allocation_share": Decimal("0.5"), "buffer": 0, "enabled": True}])


@pytest.mark.parametrize("shop_id", list(CASES))
def test_a_line_without_merchant_code_lands_through_its_listing(engine, shop_id):
    records, item, variant = CASES[shop_id][0](), *CASES[shop_id][1:]
    repository.upsert_skus(engine, pd.DataFrame([{"sku": "COMB-01", "name": "comb"}]))
    repository.upsert_listings(engine, listing(shop_id, item, variant, "COMB-01"))
    result = commit(engine, shop_id, records)
    assert (result.quarantined, result.orders_new) == (0, 1)
    assert repository.open_quarantine(engine) == []


def test_a_quarantined_line_is_released_once_its_listing_exists(engine, database_url):
    records, item, variant = CASES["taobao-cstore"][0](), *CASES["taobao-cstore"][1:]
    repository.upsert_skus(engine, pd.DataFrame([{"sku": "COMB-01", "name": "comb"}]))
    assert commit(engine, "taobao-cstore", records).quarantined == 1      # no listing yet: held, with its reason
    repository.upsert_listings(engine, listing("taobao-cstore", item, variant, "COMB-01"))
    outcome = recheck_quarantine(load_config(), database_url, HASH_KEY, "taobao-cstore", now=NOW)
    assert (outcome.released, outcome.still_open) == (1, 0)
