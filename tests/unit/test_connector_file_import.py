"""Back-office exports (.csv, .xlsx) through a YAML column mapping, and their errors."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml
from openpyxl import Workbook

from connectors import Credentials, FileImportError, build_connector, default_settings
from domain.normalise import normalise

UTC = timezone.utc
MAPPING = {
    "columns": {"订单编号": "order_id", "订单状态": "status", "修改时间": "modified_at", "商家编码": "sku",
                "数量": "quantity", "单价": "unit_price", "实付款": "total", "运费": "post_fee",
                "收货人手机": "receiver_phone", "买家留言": "buyer_remark"},
    "status_map": {"等待卖家发货": "paid", "交易成功": "completed"},
    "timezone": "Asia/Shanghai", "time_format": "%Y-%m-%d %H:%M:%S",
}
HEADER = ["订单编号", "订单状态", "修改时间", "商家编码", "数量", "单价", "实付款", "运费", "收货人手机", "买家留言"]
ROWS = [
    ["1688-0001", "等待卖家发货", "2026-11-11 10:00:00", "SKU-A", "2", "10.50", "26.00", "5.00", "13812345678", "电话13812345678"],
    ["1688-0001", "等待卖家发货", "2026-11-11 10:00:00", "SKU-B", "0", "0.00", "26.00", "5.00", "13812345678", ""],
    ["1688-0002", "交易成功", "2026-11-10 09:00:00", "SKU-C", "1", "99.90", "99.90", "0.00", "", ""],
]
WINDOW = (datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 12, tzinfo=UTC))


def file_connector(folder, mapping=MAPPING):
    settings = default_settings("file", str(folder))
    return build_connector("file", "wechat-shop", settings, Credentials(), mapping=mapping,
                           clock=lambda: datetime(2026, 11, 12, tzinfo=UTC))


def write_csv(path, header=HEADER, rows=ROWS, encoding="utf-8-sig"):
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding=encoding)


def test_csv_export_in_gb18030_with_yaml_mapping_file(tmp_path):
    exports = tmp_path / "exports"
    exports.mkdir()
    write_csv(exports / "orders.csv", encoding="gb18030")
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(yaml.safe_dump(MAPPING, allow_unicode=True), encoding="utf-8")
    (page,) = list(file_connector(exports, mapping_file).pull_orders(*WINDOW))
    assert len(page.records) == 3 and page.raw == (exports / "orders.csv").read_bytes()
    frames = normalise("file", page.records, "wechat-shop", hash_key=b"k")
    first = frames.orders.set_index("order_id").loc["1688-0001"]
    assert (first["status"], first["total_minor"], first["post_fee_minor"], first["line_count"]) == ("paid", 2600, 500, 2)
    assert first["modified_at"] == datetime(2026, 11, 11, 2, tzinfo=UTC)
    assert first["receiver_phone_masked"] == "138****5678" and first["buyer_remark"] == "电话138****5678"
    assert list(frames.lines["line_total_minor"]) == [2100, 0, 9990]


def test_xlsx_export_with_numbers_and_datetimes_in_cells(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["W-1", "交易成功", datetime(2026, 11, 11, 8, 0), "SKU-X", 3, 12.5, 37.5, 0, None, None])
    book.save(tmp_path / "wechat.xlsx")
    (page,) = list(file_connector(tmp_path).pull_orders(*WINDOW))
    frames = normalise("file", page.records, "wechat-shop", hash_key=b"k")
    assert frames.orders.iloc[0]["total_minor"] == 3750 and frames.lines.iloc[0]["quantity"] == 3
    assert frames.orders.iloc[0]["modified_at"] == datetime(2026, 11, 11, 0, tzinfo=UTC)


def test_the_same_sku_twice_in_an_order_stays_two_lines(tmp_path):
    rows = [ROWS[0], [*ROWS[0][:3], "SKU-A", "1", "0.00", *ROWS[0][6:]]]  # a gift of the same SKU
    write_csv(tmp_path / "orders.csv", rows=rows)
    (page,) = list(file_connector(tmp_path).pull_orders(*WINDOW))
    assert [r["line_id"] for r in page.records] == ["1", "2"]
    assert len(normalise("file", page.records, "wechat-shop", hash_key=b"k").lines) == 2


def test_rows_outside_the_window_are_left_for_another_pull(tmp_path):
    write_csv(tmp_path / "orders.csv")
    (page,) = list(file_connector(tmp_path).pull_orders(datetime(2026, 11, 11, tzinfo=UTC),
                                                       datetime(2026, 11, 12, tzinfo=UTC)))
    assert {r["order_id"] for r in page.records} == {"1688-0001"}


def test_missing_column_names_the_file_and_the_column(tmp_path):
    write_csv(tmp_path / "orders.csv", header=[h if h != "单价" else "价格" for h in HEADER])
    with pytest.raises(FileImportError, match=r"orders.csv: column\(s\) '单价' of the mapping are missing; "
                                              r"the header has: 订单编号"):
        list(file_connector(tmp_path).pull_orders(*WINDOW))


@pytest.mark.parametrize("column, value, problem", [
    (5, "ten", r"row 3, column '单价' \(unit_price\): 'ten' is not a number"),
    (5, '"12,50"', r"row 3, column '单价' \(unit_price\): '12,50' is ambiguous"),
    (4, "2.5", r"row 3, column '数量' \(quantity\): '2.5' is not a whole number"),
    (2, "11/11/2026", r"row 3, column '修改时间' \(modified_at\): '11/11/2026' is not a time"),
    (1, "已退款", r"row 3, column '订单状态' \(status\): '已退款' is not in status_map"),
    (0, "", r"row 3, column '订单编号' \(order_id\): is empty"),
])
def test_bad_value_names_file_row_and_column(tmp_path, column, value, problem):
    rows = [list(r) for r in ROWS]
    rows[1][column] = value
    write_csv(tmp_path / "orders.csv", rows=rows)
    with pytest.raises(FileImportError, match=f"orders.csv, {problem}"):
        list(file_connector(tmp_path).pull_orders(*WINDOW))


def test_mapping_errors_are_found_before_reading_any_file(tmp_path):
    with pytest.raises(FileImportError, match="no column mapped to sku"):
        file_connector(tmp_path, {**MAPPING, "columns": {k: v for k, v in MAPPING["columns"].items() if v != "sku"}})
    with pytest.raises(FileImportError, match="status_map values shipped_ok are not canonical"):
        file_connector(tmp_path, {**MAPPING, "status_map": {"已发货": "shipped_ok"}})


def test_file_shop_writes_say_to_use_the_back_office(tmp_path):
    with pytest.raises(Exception, match="has no API: set stock .* in its back-office by hand"):
        file_connector(tmp_path).push_stock("1", "2", 3)


def test_a_refused_export_carries_its_problem_for_the_persons_language(tmp_path):
    """tasks/ingest.py shows a refused export in SHOPOPS_LOCALE from ``FileImportError.problems``."""
    from shopops.i18n import translator

    rows = [list(r) for r in ROWS]
    rows[1][5] = '"12,50"'
    write_csv(tmp_path / "orders.csv", rows=rows)
    with pytest.raises(FileImportError) as refused:
        list(file_connector(tmp_path).pull_orders(*WINDOW))
    [problem] = refused.value.problems
    assert problem.render(translator("zh_CN")) == ("orders.csv：第 3 行“单价 (unit_price)”列：'12,50' 有歧义：逗号只能作千位"
                                                    "分隔符，且每组三位（1,200.00）；小数请用小数点（12.00）")
