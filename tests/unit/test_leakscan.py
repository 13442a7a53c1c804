"""The leak scan finds a planted secret, phone or street address in every kind of file and
warehouse column it reads, names the place, and leaves masked values alone.
(Prefect's logs, artifacts and runs: tests/integration/test_proof_leak_scan.py.)"""
from __future__ import annotations

import gzip
import json

import openpyxl
import pytest
import sqlalchemy as sa

from domain.pii import mask_address, mask_name, mask_phone, mask_text
from shopops.leakscan import scan, secrets_of_credentials

SECRET = "9f8e7d6c5b4a39281716a5b4c3d2e1f0"
LEAKS = {
    "phone": ["13812345678", "+86 139-1234-5678", "+1 415-555-0123", "(212) 555-0199", "+13125550100"],
    "address": ["浙江省杭州市西湖区文三路100号", "1200 Main St", "77 Oak Ave"],
    "secret": [f"token={SECRET}"],
}
#: what the pipeline stores instead: must never count as a leak
MASKED = ["138****5678", mask_phone("+1 415-555-0123"), mask_address("文三路100号", "浙江省", "杭州市", "西湖区"),
          "Main St***", mask_text("改发 13812345678 谢谢"), "tid 3812345678901234", "order 702-8374651-2938475",
          "2026-11-20 12:34:56", "total 1380012345 fen", "jd 138001234567"]
SECRETS = {"tmall-flagship app_secret": SECRET}


def _kinds(report) -> set[str]:
    return {f.kind for f in report.findings}


@pytest.mark.parametrize("kind,text", [(k, t) for k, texts in LEAKS.items() for t in texts])
def test_each_planted_leak_is_found_in_a_log_line_with_its_place(tmp_path, kind, text):
    log = tmp_path / "run.log"
    log.write_text("first line\n" + f"2026-11-20 INFO shipped to {text} today\n", encoding="utf-8")
    report = scan([tmp_path], secrets=SECRETS)
    assert [(f.kind, f.place) for f in report.findings] == [(kind, f"{log}:2")]
    assert report.findings[0].excerpt not in text or kind == "address"  # the report does not repeat a phone/secret


def test_masked_values_are_not_leaks(tmp_path):
    (tmp_path / "report.md").write_text("\n".join(MASKED), encoding="utf-8")
    report = scan([tmp_path], secrets=SECRETS)
    assert report.clean, report.summary()
    assert report.scanned["text lines"] == len(MASKED)


def test_leaks_in_xlsx_cells_csv_md_and_json_name_the_cell_row_or_line(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "shops"
    sheet.append(["shop", "phone"])
    sheet.append(["jd-pop", "138****5678"])
    sheet.append(["shopify-global", "+1 415-555-0123"])
    book.save(tmp_path / "pull-orders.xlsx")
    (tmp_path / "list.csv").write_text("order,address\nA1,Main St***\nA2,1200 Main St\n", encoding="utf-8")
    (tmp_path / "summary.md").write_text("# report\n\nbuyer 13912345678\n", encoding="utf-8")
    (tmp_path / "payload.json").write_text(json.dumps({"app_secret": SECRET}), encoding="utf-8")
    (tmp_path / "warehouse.sqlite").write_bytes(b"SQLite format 3\0" + b"13812345678")  # binary: skipped

    report = scan([tmp_path], secrets=SECRETS)
    places = {(f.kind, f.place) for f in report.findings}
    assert places == {
        ("phone", f"{tmp_path / 'pull-orders.xlsx'}!shops!B3"),
        ("address", f"{tmp_path / 'list.csv'}:row 3 column 2"),
        ("phone", f"{tmp_path / 'summary.md'}:3"),
        ("secret", f"{tmp_path / 'payload.json'}:1"),
    }
    assert report.scanned["files"] == 4 and report.scanned["binary files skipped"] == 1


def test_every_text_json_and_gzip_column_of_every_table_is_scanned_with_the_row_key(tmp_path):
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    metadata = sa.MetaData()
    orders = sa.Table("orders", metadata, sa.Column("shop_id", sa.String, primary_key=True),
                      sa.Column("order_id", sa.String, primary_key=True), sa.Column("remark", sa.Text),
                      sa.Column("total_minor", sa.Integer))
    quarantine = sa.Table("quarantine", metadata, sa.Column("id", sa.Integer, primary_key=True),
                          sa.Column("record", sa.JSON))
    raw_pages = sa.Table("raw_pages", metadata, sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("payload", sa.LargeBinary))
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(orders.insert(), [
            {"shop_id": "jd-pop", "order_id": "1", "remark": mask_text("改发 13812345678"), "total_minor": 13812345678},
            {"shop_id": "jd-pop", "order_id": "2", "remark": "改发 13812345678", "total_minor": 100}])
        conn.execute(quarantine.insert(), [{"id": 7, "record": {"shipping_address": {"address1": "1200 Main St"}}}])
        conn.execute(raw_pages.insert(), [
            {"id": 3, "payload": gzip.compress(json.dumps({"token": SECRET}).encode())},
            {"id": 4, "payload": gzip.compress("收货 文三路****".encode())}])
    engine.dispose()

    report = scan(database_url=url, secrets=SECRETS)
    assert {(f.kind, f.place) for f in report.findings} == {
        ("phone", "table orders.remark [jd-pop, 2]"),
        ("address", "table quarantine.record [7]"),
        ("secret", "table raw_pages.payload [3]"),
    }
    # keys are text too (shop_id, order_id, remark per order); numbers are not: total_minor is not read
    assert report.scanned["db values"] == 2 * 3 + 1 + 2


def test_secrets_come_from_a_sandbox_credentials_file_and_short_values_are_ignored():
    secrets = secrets_of_credentials({"jd-pop": {"app_key": "12345", "app_secret": SECRET, "access_token": "tok"}})
    assert secrets == {"jd-pop app_secret": SECRET, "jd-pop access_token": "tok"}
    assert _kinds(scan([], secrets=secrets)) == set()


def test_a_shopify_page_is_archived_without_clear_phones_or_street_addresses(tmp_path):
    """The leak the scan found in raw_pages: Shopify and Amazon send buyer data in clear."""
    from domain.pii import mask_payload

    page = json.dumps({"orders": [{"id": 1, "phone": "+1 415-555-0123", "note": "gift", "shipping_address": {
        "address1": "1200 Main St", "address2": "", "city": "Austin", "phone": "(212) 555-0199"},
        "receiver_mobile": "138****5678", "receiver_address": "~AgAAAAencrypted+/=~", "AddressLine1": "7 Oak Ave",
        "fullAddress": "浙江省杭州市西湖区文三路100号"}]}, ensure_ascii=False).encode()
    (tmp_path / "as-sent.json").write_bytes(page)
    assert {f.kind for f in scan([tmp_path]).findings} == {"phone", "address"}

    archived = mask_payload(page)
    (tmp_path / "as-sent.json").write_bytes(archived)
    assert scan([tmp_path]).clean
    order = json.loads(archived)["orders"][0]
    assert order["shipping_address"]["city"] == "Austin" and order["note"] == "gift"  # the rest as sent
    assert order["fullAddress"] == "浙江省杭州市西湖区****" and order["phone"] == "+1 41****0123"
    assert order["receiver_mobile"] == "138****5678" and order["receiver_address"] == "~AgAAAAencrypted+/=~"
    assert mask_payload(b'{"phone": "138123') == b'{"phone": "138123'  # a truncated body: nothing to match


def test_the_scan_also_finds_buyer_names_e_mails_and_the_webhook_token(tmp_path):
    """Issue 19 #13 / "Done when": buyer names and e-mails (exact, from the ground truth) and the
    team webhook's token are looked for too; their masked forms are not leaks."""
    token = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a"
    webhook = f"https://oapi.dingtalk.com/robot/send?access_token={token}"
    (tmp_path / "run.log").write_text(
        "ok line\n"
        f"POST https://oapi.dingtalk.com/robot/send?access_token={token} failed\n"
        "packed for Bob Norman today\n"
        "mail to BOB.NORMAN@example.com\n"
        "收件人 张三丰 已签收\n"
        "masked: B** N***** / b****@example.com / 张** / access_token=***\n", encoding="utf-8")
    report = scan([tmp_path], buyers=["Bob Norman", "bob.norman@example.com", "张三丰", "Li"], webhook_url=webhook)
    found = sorted((f.kind, f.place.rsplit(":", 1)[1]) for f in report.findings)
    assert found == [("buyer", "3"), ("buyer", "4"), ("buyer", "5"), ("secret", "2"), ("secret", "2")], \
        report.summary()
    summary = report.summary()
    for clear in (token, "Bob Norman", "bob.norman@", "张三丰"):
        assert clear not in summary                 # the scan's report does not repeat what it found
    assert "webhook access_token" in summary


def test_contact_data_typed_into_a_remark_is_masked_in_the_archived_page_too():
    """Issue 19 #12: remarks are masked wherever they are stored: also in the raw-page archive
    and a quarantined record (``mask_payload``), not only in the orders table."""
    from domain.pii import mask_payload

    page = json.dumps({"trades": [{"tid": 1, "buyer_message": "改发 文三路100号 13812345678 bob.norman@example.com",
                                   "seller_memo": "急", "remark": "", "note": "call +1 415-555-0123"}]}, ensure_ascii=False).encode()
    archived = json.loads(mask_payload(page))["trades"][0]
    assert archived["buyer_message"] == "改发 文三路**** 138****5678 b****@example.com"
    assert archived["seller_memo"] == "急" and archived["remark"] == "" and "555-0123" not in archived["note"]


def test_clear_e_mails_world_names_and_nicks_are_found_and_their_masked_forms_are_not(tmp_path):
    """Issue 18 #12: the scan finds a clear buyer name and nick from the sandbox world's ground
    truth (``World.clear_buyer_values``, what ``python -m sandbox`` writes as buyers.txt) and any
    clear e-mail address by its shape; the masked forms the pipeline stores are not leaks, a
    Latin nick is not found inside another word, and a name of the shop's own staff (the
    settlement roster) is not taken for a buyer's."""
    from sandbox import generate

    world = generate("smoke")
    buyers = world.clear_buyer_values()
    name = str(world.buyers_cn.name[0])
    nick = str(world.buyers_cn.nick[0])
    assert name in buyers and nick in buyers and "tb" in nick
    report_file = tmp_path / "reports" / "daily.md"
    report_file.parent.mkdir()
    report_file.write_text(
        "# 日报\n"
        "联系 carol.white@shop-mail.cn 确认\n"          # an e-mail of nobody the sandbox knows
        f"收件人{name}已签收\n"                           # a Chinese name inside Chinese text
        f"buyer_nick={nick}\n"
        f"masked: {name[0]}* / {name[0]}** / c****@shop-mail.cn / {nick[0]}** / t** / b****@x.com\n"
        f"summary x{nick}y tb{nick[2:]}9\n", encoding="utf-8")   # not the nick: part of other words
    report = scan([tmp_path], buyers=buyers)
    found = sorted((f.kind, f.place.rsplit(":", 1)[1], f.excerpt) for f in report.findings)
    assert found == [("buyer", "3", mask_name(name)), ("buyer", "4", mask_name(nick)),
                     ("email", "2", "c****@shop-mail.cn")], report.summary()
    for clear in (name, nick, "carol.white"):
        assert clear not in report.summary()

    staff = scan([tmp_path], buyers=buyers, staff=[name])
    assert sorted(f.place.rsplit(":", 1)[1] for f in staff.findings) == ["2", "4"]


def test_staff_names_come_from_the_settlement_rosters(tmp_path):
    from shopops.leakscan import staff_names

    (tmp_path / "settlement" / "2026-11").mkdir(parents=True)
    (tmp_path / "settlement" / "2026-11" / "roster.csv").write_text(
        "person_id,name,role\nM1,王芳,manager\nC1,陈静,customer_service\n", encoding="utf-8")
    assert staff_names(tmp_path) == {"王芳", "陈静"} and staff_names(tmp_path / "none") == set()
