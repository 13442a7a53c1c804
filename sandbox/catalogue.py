"""The sandbox brand's catalogue: realistic apparel goods with colour/size variants.

SKU codes follow the pattern the rest of the project already uses (``DJ-BLK-L`` is the black
down jacket in L, promoted in ``config/promotions/double11-2026.yaml``; ``GIFT-SOCKS`` is its
gift), suppliers are those of ``config/suppliers.yaml``, so that demo data flows through
restock, stock sync and shipping without any mapping. Everything is drawn from the seed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: product code, Chinese name, category, supplier, list price (fen), colours, sizes
PRODUCTS: tuple[tuple[str, str, str, str, int, tuple[str, ...], tuple[str, ...]], ...] = (
    ("DJ", "轻薄羽绒服", "外套", "hz-apparel", 59900, ("BLK", "NVY", "WHT", "KHA"), ("S", "M", "L", "XL", "XXL")),
    ("PK", "连帽派克大衣", "外套", "hz-apparel", 89900, ("BLK", "GRN"), ("M", "L", "XL")),
    ("FL", "摇粒绒开衫", "外套", "hz-apparel", 19900, ("GRY", "BEI", "NVY"), ("S", "M", "L", "XL")),
    ("HD", "加绒卫衣", "上装", "hz-apparel", 15900, ("BLK", "GRY", "PNK", "WHT"), ("S", "M", "L", "XL")),
    ("TS", "纯棉圆领T恤", "上装", "hz-apparel", 7900, ("WHT", "BLK", "BLU"), ("S", "M", "L", "XL", "XXL")),
    ("SW", "羊毛针织衫", "上装", "hz-apparel", 29900, ("BEI", "RED", "NVY"), ("M", "L", "XL")),
    ("JN", "直筒牛仔裤", "下装", "hz-apparel", 22900, ("BLU", "BLK"), ("28", "30", "32", "34")),
    ("CG", "工装休闲裤", "下装", "hz-apparel", 18900, ("KHA", "BLK"), ("M", "L", "XL")),
    ("SN", "复古运动鞋", "鞋靴", "gz-shoes", 39900, ("WHT", "BLK"), ("38", "39", "40", "41", "42", "43")),
    ("BT", "马丁短靴", "鞋靴", "gz-shoes", 49900, ("BLK", "BRN"), ("37", "38", "39", "40", "41")),
    ("SC", "羊绒围巾", "配饰", "yw-accessories", 12900, ("RED", "GRY", "BEI"), ("F",)),
    ("BN", "针织毛线帽", "配饰", "yw-accessories", 5900, ("BLK", "GRY", "PNK"), ("F",)),
    ("GL", "触屏保暖手套", "配饰", "yw-accessories", 4900, ("BLK", "BRN"), ("M", "L")),
    ("BG", "帆布托特包", "配饰", "yw-accessories", 9900, ("BEI", "BLK"), ("F",)),
)

#: gifts (赠品): never sold, added to orders at price 0
GIFTS: tuple[tuple[str, str, str], ...] = (
    ("GIFT-SOCKS", "赠品 保暖棉袜", "yw-accessories"),
    ("GIFT-KEYRING", "赠品 品牌钥匙扣", "yw-accessories"),
    ("GIFT-POUCH", "赠品 收纳袋", "yw-accessories"),
)

COLOURS = {"BLK": "黑色", "NVY": "藏青", "WHT": "白色", "KHA": "卡其", "GRN": "军绿", "GRY": "灰色",
           "BEI": "米色", "PNK": "粉色", "BLU": "蓝色", "RED": "酒红", "BRN": "棕色"}
LEAD_TIME_DAYS = {"hz-apparel": 10, "gz-shoes": 14, "yw-accessories": 5}
CASE_PACK = {"hz-apparel": 10, "gz-shoes": 6, "yw-accessories": 20}
MOQ = {"hz-apparel": 50, "gz-shoes": 30, "yw-accessories": 100}
#: CNY fen per USD cent when the overseas shops list the same goods (rounded to .99 prices)
USD_PRICE_DIVISOR = 6.5

CATALOGUE_COLUMNS = (
    "sku", "name", "variant", "category", "supplier", "lead_time_days", "case_pack", "moq",
    "unit_cost_minor", "list_price_minor", "list_price_usd_minor", "currency", "bin_location",
    "default_warehouse", "is_gift", "popularity", "product_code", "item_no", "sku_no",
)


def build_catalogue(seed: int) -> pd.DataFrame:
    """One row per SKU; ``popularity`` (sums to 1 over sold SKUs) drives the order mix.

    ``item_no`` / ``sku_no`` are small integers the platform renderers turn into each
    marketplace's listing ids (num_iid, skuId, goods_id, variant_id, ASIN …).
    """
    rng = np.random.default_rng([seed, 1])
    rows: list[dict] = []
    for item_no, (code, name, category, supplier, price, colours, sizes) in enumerate(PRODUCTS, start=1):
        for colour in colours:
            for size in sizes:
                size_label = "均码" if size == "F" else size
                rows.append({
                    "sku": f"{code}-{colour}-{size}", "name": name,
                    "variant": f"颜色:{COLOURS[colour]};尺码:{size_label}", "category": category,
                    "supplier": supplier, "list_price_minor": price, "item_no": item_no,
                    "product_code": code, "is_gift": False,
                })
    for offset, (sku, name, supplier) in enumerate(GIFTS, start=1):
        rows.append({"sku": sku, "name": name, "variant": "颜色:随机;尺码:均码", "category": "赠品",
                     "supplier": supplier, "list_price_minor": 0, "item_no": len(PRODUCTS) + offset,
                     "product_code": sku, "is_gift": True})
    frame = pd.DataFrame(rows)
    n = len(frame)
    frame["sku_no"] = np.arange(1, n + 1)
    frame["lead_time_days"] = frame["supplier"].map(LEAD_TIME_DAYS)
    frame["case_pack"] = frame["supplier"].map(CASE_PACK)
    frame["moq"] = frame["supplier"].map(MOQ)
    cost_share = rng.uniform(0.28, 0.45, n)
    frame["unit_cost_minor"] = np.where(frame["is_gift"], rng.integers(150, 600, n),
                                        (frame["list_price_minor"] * cost_share).round(-1)).astype("int64")
    usd = np.ceil(frame["list_price_minor"] / USD_PRICE_DIVISOR / 100) * 100 - 1
    frame["list_price_usd_minor"] = np.where(frame["is_gift"], 0, usd).astype("int64")
    frame["currency"] = "CNY"
    aisle = rng.choice(list("ABCDE"), n)
    frame["bin_location"] = [f"{a}-{r:02d}-{s:02d}" for a, r, s in
                             zip(aisle, rng.integers(1, 30, n), rng.integers(1, 12, n))]
    frame["default_warehouse"] = "HZ01"
    # Zipf-like demand: a few bestsellers (the down jacket first), a long tail
    ranks = rng.permutation(n) + 1
    ranks[frame.index[frame["sku"] == "DJ-BLK-L"]] = 1
    popularity = np.where(frame["is_gift"], 0.0, 1.0 / ranks ** 0.9)
    frame["popularity"] = popularity / popularity.sum()
    return frame[list(CATALOGUE_COLUMNS)]
