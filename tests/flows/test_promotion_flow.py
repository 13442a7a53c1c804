"""promotion-campaign as a Prefect flow (test harness) on an empty warehouse with the shipped
Double 11 file: the phase order is enforced with clear messages, a dry run stores nothing, and
a campaign whose prices cannot be checked (no price history) is prepared but refused at start.
Campaign mode against deployments is tested in tests/integration/test_promotion_campaign.py."""
from __future__ import annotations

from warehouse import promotions, repository

CAMPAIGN = "double11-2026"


def run(phase: str, name: str = CAMPAIGN, dry_run: bool = False):
    from flows.promotion import promotion_campaign

    return promotion_campaign(phase=phase, name=name, dry_run=dry_run, return_state=True)


def test_phases_out_of_order_dry_run_and_an_unverifiable_campaign(empty_warehouse, warehouse_env):
    report = run("report")
    assert report.is_failed() and "has not started: run `prepare` and `start` first" in report.message

    unknown = run("prepare", name="double12-2099")
    assert unknown.is_failed() and "no campaign 'double12-2099'" in unknown.message

    dry = run("prepare", dry_run=True).result()
    assert dry["status"] == "defined" and dry["price_errors"] == 2 and not dry["ready_to_start"]
    assert promotions.read_promotion(empty_warehouse, CAMPAIGN) is None          # nothing stored
    assert repository.read_alerts(empty_warehouse).empty

    prepared = run("prepare").result()
    assert prepared["status"] == "prepared" and prepared["price_errors"] == 2    # no_price_history for both SKUs
    row = promotions.read_promotion(empty_warehouse, CAMPAIGN)
    assert row["status"] == "prepared"
    assert any("DJ-BLK-L: no price seen in the 30 days" in v for v in row["state"]["prepare"]["violations"])
    # issue 23 #3: the violations sheet is in yuan, not fen (the file's campaign price is 29900 fen)
    import openpyxl
    sheet = openpyxl.load_workbook(sorted((warehouse_env.report_folder / f"promotion-{CAMPAIGN}-prepare")
                                          .glob("*.xlsx"))[-1])["violations"]
    header = [c.value for c in sheet[1]]
    assert "campaign price (yuan)" in header and not any("fen" in str(h) for h in header), header
    prices = {r[header.index("campaign price (yuan)")] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert prices == {299.0}, prices
    # nothing in stock: both SKUs and the gift short, sent to restock
    assert sorted(repository.read_alerts(empty_warehouse)["sku"]) == ["DJ-BLK-L", "DJ-BLK-M", "GIFT-SOCKS"]

    start = run("start")
    assert start.is_failed() and "cannot start" in start.message and "run `prepare` again" in start.message
    assert promotions.read_promotion(empty_warehouse, CAMPAIGN)["status"] == "prepared"
    close = run("close")
    assert close.is_failed() and "prepared but not started: nothing to close" in close.message
