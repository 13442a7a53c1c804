"""The sandbox world: scenarios, determinism, canonical ground truth and its as-of semantics."""
from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from domain.canonical import CANONICAL_STATUSES, LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS
from sandbox import wire
from sandbox.faults import FaultInjector
from sandbox.generator import NEVER, generate
from sandbox.scenario import FaultShares, ScenarioError, load_scenario


@pytest.fixture(scope="module")
def smoke():
    return generate("smoke")


def test_the_shipped_scenarios_load_and_cover_every_platform():
    for name in ("smoke", "normal_day", "double11"):
        scenario = load_scenario(name)
        assert {s.platform for s in scenario.shops} == {"taobao", "jd", "pdd", "douyin", "shopify", "amazon"}
        assert sum(s.platform == "taobao" for s in scenario.shops) == 2   # Tmall flagship and C-store
        assert 0.05 <= scenario.refund_rate <= 0.15
    assert load_scenario("normal_day").orders_per_day == 10_000


def test_smoke_is_tiny_and_normal_day_is_about_ten_thousand_orders(smoke):
    assert 200 <= smoke.order_count() <= 400
    assert 9_000 <= generate("normal_day").order_count() <= 11_000


def test_double11_first_hour_is_over_twenty_normal_hours():
    first_two_hours = load_scenario("double11").model_copy(update={"days": 2 / 24})
    world = generate(first_two_hours)
    start = int(first_two_hours.start.timestamp())
    first_hour = sum(int((o.created < start + 3600).sum()) for o in world.orders.values())
    normal_hour = load_scenario("normal_day").orders_per_day / 24
    assert first_hour >= 20 * normal_hour


def test_a_bad_scenario_names_the_file_and_each_key(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(load_scenario_text().replace("platform: jd", "platform: jingdong")
                    .replace("refund_rate: 0.15", "refund_rate: 0.5") + "\nsurprise: 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    message = str(error.value)
    assert str(path) in message
    assert "shops[2].platform" in message and "refund_rate" in message and "surprise" in message
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario("no-such-scenario")


def load_scenario_text() -> str:
    from sandbox.scenario import scenario_path

    return scenario_path("smoke").read_text(encoding="utf-8")


def test_same_seed_same_world_other_seed_other_world(smoke):
    again = generate("smoke")
    for shop in smoke.shops:
        a, b = smoke.ground_truth(shop.id), again.ground_truth(shop.id)
        pd.testing.assert_frame_equal(a.orders, b.orders)
        pd.testing.assert_frame_equal(a.lines, b.lines)
    assert smoke.credentials == again.credentials
    pd.testing.assert_frame_equal(smoke.catalogue, again.catalogue)
    other = generate(load_scenario("smoke").model_copy(update={"seed": 8}))
    assert other.credentials != smoke.credentials
    assert not smoke.ground_truth("jd-pop").orders["total_minor"].equals(other.ground_truth("jd-pop").orders["total_minor"])


def test_ground_truth_is_canonical_and_consistent(smoke):
    later = smoke.end + timedelta(days=60)
    for shop in smoke.shops:
        truth = smoke.ground_truth(shop.id, later)
        assert tuple(truth.orders.columns) == ORDER_COLUMNS
        assert tuple(truth.lines.columns) == LINE_COLUMNS and tuple(truth.refunds.columns) == REFUND_COLUMNS
        orders, lines = truth.orders, truth.lines
        assert set(orders["status"]) <= CANONICAL_STATUSES
        assert orders["order_id"].map(type).eq(str).all() and lines["line_id"].map(type).eq(str).all()
        assert str(orders["created_at"].dt.tz) == "UTC"
        line_sums = lines.groupby("order_id")["line_total_minor"].sum()
        expected = orders.set_index("order_id").eval("total_minor - post_fee_minor + discount_minor")
        assert (line_sums.reindex(expected.index) == expected).all()
        gifts = lines[lines["is_gift"]]
        assert (gifts["unit_price_minor"] == 0).all()
        assert lines.groupby("order_id")["sku"].apply(lambda s: s.is_unique).all()
        phones = orders["receiver_phone_masked"].dropna()
        assert phones.str.fullmatch(r"\d{3}\*{4}\d{4}").all()
    taobao = smoke.ground_truth("tmall-flagship").orders
    assert taobao["order_id"].map(int).gt(2**53).all()
    assert taobao["is_presale"].any()


def test_pdd_and_douyin_have_presales_drawn_apart_from_the_rest_of_their_world(smoke, monkeypatch):
    """PDD (trade_type 1) and Douyin (trade_type 2) have deposit presales as Taobao does; their flags
    come from a stream of their own, so with presales switched off every other order of every shop
    is exactly what it was (the other tests' expectations of the world hold)."""
    for shop in ("pdd-main", "douyin-main"):
        assert smoke.ground_truth(shop).orders["is_presale"].any(), shop
    monkeypatch.setitem(wire.TRAITS, "pdd", dataclasses.replace(wire.TRAITS["pdd"], presale=False))
    monkeypatch.setitem(wire.TRAITS, "douyin", dataclasses.replace(wire.TRAITS["douyin"], presale=False))
    without = generate("smoke")
    for spec in smoke.shops:
        now, before = smoke.ground_truth(spec.id).orders, without.ground_truth(spec.id).orders
        assert not before["is_presale"].any() or spec.platform == "taobao"
        kept = ~now["is_presale"].to_numpy()
        pd.testing.assert_frame_equal(now[kept].reset_index(drop=True), before[kept].reset_index(drop=True),
                                      obj=spec.id)
        assert now.loc[~kept, "status"].isin(["pending_payment", "presale_deposit_paid", "paid", "shipped",
                                              "completed", "refunding", "refunded"]).all()


def test_refund_and_cancellation_shares_follow_the_scenario():
    world = generate(load_scenario("normal_day"))
    later = world.end + timedelta(days=60)
    frames = [world.ground_truth(s.id, later) for s in world.shops]
    orders = pd.concat([f.orders for f in frames])
    refunded_orders = pd.concat([f.refunds for f in frames])["order_id"].nunique()
    assert 0.05 <= refunded_orders / len(orders) <= 0.10   # 8 % of all orders; Amazon shows none
    assert 0.01 <= (orders["status"] == "cancelled").mean() <= 0.06


def test_ground_truth_as_of_takes_the_latest_version_not_after_it(smoke):
    shop = "tmall-flagship"
    orders = smoke.orders[shop]
    i = int(np.nonzero((orders.shipped != NEVER) & (orders.balance_paid == NEVER))[0][0])
    shipped = pd.Timestamp(int(orders.shipped[i]), unit="s", tz="UTC")

    def row(as_of):
        truth = smoke.ground_truth(shop, as_of.to_pydatetime()).orders
        return truth.iloc[i]

    before, at = row(shipped - pd.Timedelta(seconds=1)), row(shipped)
    assert before["status"] == "paid" and pd.isna(before["shipped_at"]) and before["modified_at"] < shipped
    assert at["status"] == "shipped" and at["modified_at"] == shipped and at["tracking_no"]
    history = orders.version_history(i)
    assert [status for _, status in history][:3] == ["pending_payment", "paid", "shipped"]
    for moment, status in history:
        assert row(pd.Timestamp(moment))["status"] == status
    created = pd.Timestamp(int(orders.created[i]), unit="s", tz="UTC")
    earlier = smoke.ground_truth(shop, (created - pd.Timedelta(seconds=1)).to_pydatetime()).orders
    assert row(shipped)["order_id"] not in set(earlier["order_id"])


def test_an_order_modified_again_leaves_the_earlier_window(smoke):
    shop = "douyin-main"
    orders = smoke.orders[shop]
    i = int(np.nonzero(orders.shipped != NEVER)[0][0])
    paid, shipped = int(orders.paid[i]), int(orders.shipped[i])
    window = (pd.Timestamp(paid, unit="s", tz="UTC").to_pydatetime(),
              pd.Timestamp(paid, unit="s", tz="UTC").to_pydatetime())
    idx, _ = smoke.versions_modified_between(shop, *window, as_of=window[1])
    assert i in idx
    later, _ = smoke.versions_modified_between(shop, *window, as_of=pd.Timestamp(shipped, unit="s", tz="UTC").to_pydatetime())
    assert i not in later


def test_catalogue_has_chinese_goods_with_variants_and_restock_terms(smoke):
    catalogue = smoke.catalogue
    assert {"DJ-BLK-L", "DJ-BLK-M", "GIFT-SOCKS"} <= set(catalogue["sku"])
    jacket = catalogue.set_index("sku").loc["DJ-BLK-L"]
    assert jacket["name"] == "轻薄羽绒服" and jacket["variant"] == "颜色:黑色;尺码:L"
    assert set(catalogue["supplier"]) == {"hz-apparel", "gz-shoes", "yw-accessories"}
    assert catalogue["bin_location"].str.fullmatch(r"[A-E]-\d{2}-\d{2}").all()
    assert (catalogue["unit_cost_minor"] > 0).all() and (catalogue["moq"] >= 1).all()


def test_credentials_look_secret_differ_per_shop_and_never_repeat(smoke):
    secrets = [c.app_secret for c in smoke.credentials.values()]
    tokens = [c.access_token for c in smoke.credentials.values()]
    assert len(set(secrets)) == len(secrets) and len(set(tokens)) == len(tokens)
    assert all(re.fullmatch(r"[0-9a-f]{32}", s) for s in secrets)
    assert smoke.credentials["shopify-global"].access_token.startswith("shpat_")


def test_fault_draws_are_deterministic_per_platform_and_forced_faults_come_first():
    shares = FaultShares(seed=3, server_error=0.2, throttle=0.2, duplicate_rows=0.1)
    first, second = FaultInjector(shares), FaultInjector(shares)
    sequence = [first.draw("jd") for _ in range(50)]
    for _ in range(10):
        second.draw("taobao")   # another platform's traffic does not shift jd's faults
    assert [second.draw("jd") for _ in range(50)] == sequence
    assert {"server_error", "throttle", "duplicate_rows", None} == set(sequence)
    first.force("slow", "pdd", count=2)
    assert [first.draw("pdd"), first.draw("pdd")] == ["slow", "slow"]
    with pytest.raises(ValueError):
        first.force("meteor")
    with pytest.raises(ValueError):
        FaultShares(server_error=0.7, throttle=0.7)
