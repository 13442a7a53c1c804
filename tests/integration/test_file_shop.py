"""A file-import shop (1688 / WeChat back-office exports) goes through the same pull as the
API shops: exports in its folder land in the warehouse; a broken export fails that shop with
the file, row and column named, and nothing of it is half-imported."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pandas as pd
import yaml

from config.schema import load_config
from config.settings import CONFIG_DIR
from tasks.catalogue import store_catalogue
from tasks.ingest import pull_shop
from warehouse import migrate, repository
from warehouse.db import make_engine

MAPPING = {
    "columns": {"订单编号": "order_id", "订单状态": "status", "修改时间": "modified_at", "商家编码": "sku",
                "数量": "quantity", "单价": "unit_price", "实付款": "total", "运费": "post_fee"},
    "status_map": {"等待卖家发货": "paid", "交易成功": "completed"},
    "timezone": "Asia/Shanghai",
}
HEADER = "订单编号,订单状态,修改时间,商家编码,数量,单价,实付款,运费"
NOW = datetime(2026, 11, 12, tzinfo=timezone.utc)


def config_with_file_shop(tmp_path, folder):
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shops = yaml.safe_load((target / "shops.yaml").read_text(encoding="utf-8"))
    for shop in shops["shops"]:
        shop["stock_sync"]["allocation_share"] = 0.1
    shops["shops"].append({"id": "wechat-shop", "platform": "file", "name": "微信小店",
                           "base_url": f"file://{folder}", "column_mapping": MAPPING,
                           "stock_sync": {"allocation_share": 0.1, "buffer": 0}})
    (target / "shops.yaml").write_text(yaml.safe_dump(shops, allow_unicode=True), encoding="utf-8")
    return load_config(target)


def test_exports_land_and_a_broken_export_is_named(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("SHOPOPS_PII_HASH_KEY", "file-shop-test")
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "2026-11-11.csv").write_text("\n".join([
        HEADER,
        "W-1,等待卖家发货,2026-11-11 10:00:00,SKU-A,2,10.50,26.00,5.00",
        "W-1,等待卖家发货,2026-11-11 10:00:00,SKU-B,1,0.00,26.00,5.00",
        "W-2,交易成功,2026-11-11 09:00:00,SKU-A,1,99.90,99.90,0.00",
    ]) + "\n", encoding="utf-8-sig")
    config = config_with_file_shop(tmp_path, folder)
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    store_catalogue(engine, pd.DataFrame({"sku": ["SKU-A", "SKU-B"], "name": ["杯子", "赠品贴纸"]}))
    since = datetime(2026, 11, 10, tzinfo=timezone.utc)

    result = pull_shop(config, "wechat-shop", database_url=database_url, since=since, clock=lambda: NOW)
    assert (result.status, result.orders_new, result.quarantined) == ("ok", 2, 0), result.error
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("select order_id, status, total_minor, line_count from orders "
                                    "where shop_id = 'wechat-shop' order by order_id").fetchall()
    assert [tuple(r) for r in rows] == [("W-1", "paid", 2600, 2), ("W-2", "completed", 9990, 1)]

    (folder / "2026-11-12.csv").write_text(HEADER.replace("商家编码,", "") + "\nW-3,交易成功,2026-11-11 11:00:00,1,5.00,5.00,0.00\n",
                                           encoding="utf-8")
    broken = pull_shop(config, "wechat-shop", database_url=database_url, since=since, clock=lambda: NOW)
    assert broken.status == "failed"
    # the export's problem in the reader's language (zh_CN by default): the file, the column, what to do
    assert "2026-11-12.csv" in broken.error and "'商家编码'" in broken.error and "缺少" in broken.error
    assert "请修正导出文件" in broken.error
    assert repository.table_counts(engine)["orders"] == 2  # nothing of the broken run half-imported
    engine.dispose()
