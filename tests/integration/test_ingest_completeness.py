"""Completeness, provable per window (issue 18): each window's orders against the platform's own
count, and the three losses planted in the sandbox caught — no watermark past them, the run
says so.

Every window of a pull records the platform's count (TOP ``total_results``, JD ``orderTotal``,
PDD ``total_count``, Douyin ``total``, Shopify ``orders/count.json``; none for Amazon, where a
window is complete when ``NextToken`` runs out) next to the distinct orders on its pages
(``capture_windows``). Fewer orders than the count: the window is read again; still fewer, the
window is ``incomplete``, the shop's pull ends ``incomplete`` naming it, and the watermark stays
before it. Planted (``sandbox.faults``): a page shifted by one row (an order that moved between
pages while they were read, on no page read), the platform's error envelope for an expired
token, and an order no page shows that the count still includes. Fixtures and helpers as in
``test_ingest_faults.py``: a sandbox server per test on the smoke world, a copied ``config/``.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from config.schema import load_config
from config.settings import get_settings
from helpers.ingest_support import HASH_KEY, SHOPS, assert_equals_truth, credential_env, stored_orders, write_config
from sandbox import generate
from sandbox.server import SandboxServer
from shopops.cli import app
from tasks.catalogue import store_catalogue
from tasks.ingest import pull_shop
from warehouse import migrate, repository
from warehouse.db import make_engine

OFFSET_PAGED = ["tmall-flagship", "jd-pop", "pdd-main", "douyin-main"]
COUNTED = OFFSET_PAGED + ["shopify-global"]


@pytest.fixture(scope="module")
def world():
    return generate("smoke")


@pytest.fixture
def pull(request, world, database_url, tmp_path, monkeypatch):
    """A running sandbox and ``pull(shop, until=…, since=…)`` into a migrated warehouse; pages of 5
    orders (several pages a window) unless the test asks for another size."""
    with SandboxServer(world) as server:
        config_dir = write_config(tmp_path / "config", server.url,
                                  connector_options={"backoff_base_s": 0.01, "page_size": getattr(request, "param", 5)})
        config = load_config(config_dir)
        for name, value in {**credential_env(world.credentials), "SHOPOPS_PII_HASH_KEY": HASH_KEY}.items():
            monkeypatch.setenv(name, value)
        migrate.upgrade(database_url)
        engine = make_engine(database_url)
        store_catalogue(engine, world.catalogue)

        def run(shop_id: str, until: datetime, since: datetime | None = None):
            return pull_shop(config, shop_id, database_url=database_url, clock=lambda: until, since=since)

        run.server, run.engine, run.config, run.config_dir = server, engine, config, config_dir
        yield run
        engine.dispose()


def _middle(world) -> datetime:
    return world.scenario.start + (world.end - world.scenario.start) / 2


def _first_half(pull, world, shop_id: str):
    """A pull up to the middle of the day: the watermark and the orders stored then."""
    first = pull(shop_id, _middle(world), since=world.scenario.start - timedelta(hours=1))
    assert first.status == "ok", first.error
    return repository.get_watermark(pull.engine, shop_id), len(stored_orders(pull.engine, [shop_id]))


def _windows(engine, shop_id: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text("select * from capture_windows where shop_id = :shop order by id"), conn,
                           params={"shop": shop_id})


def _utc(value) -> datetime:
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).to_pydatetime()


@pytest.mark.parametrize("pull", [50], indirect=True)
def test_every_window_records_the_platforms_count_next_to_what_was_captured(world, pull):
    """An offset-paged platform, Shopify's count call and Amazon without a count (every counted
    platform's complete windows are also checked by the first pulls of the tests below)."""
    shops = ["jd-pop", "shopify-global", "amazon-us"]
    results = {shop: pull(shop, world.end, since=world.scenario.start - timedelta(hours=1)) for shop in shops}
    assert {r.status for r in results.values()} == {"ok"}, {s: r.error for s, r in results.items()}
    assert_equals_truth(pull.engine, world, world.end, shops=shops)
    for shop in shops:
        windows = _windows(pull.engine, shop)
        assert len(windows) == results[shop].windows and set(windows["status"]) == {"complete"}
        if shop == "amazon-us":   # no count: complete = NextToken exhausted
            assert windows["expected"].isna().all() and results[shop].orders_expected is None
        else:   # the clock stands still: the count is exactly what the pages held
            assert (windows["expected"].astype(int) == windows["captured"]).all(), shop
            assert results[shop].orders_expected == results[shop].orders_captured == windows["captured"].sum() > 0
        assert set(windows["reads"]) == {1}
    with pull.engine.connect() as conn:
        logged = conn.execute(sa.text("select orders_expected, orders_captured from capture_log "
                                      "where shop_id = 'jd-pop'")).one()
    assert tuple(logged) == (results["jd-pop"].orders_expected, results["jd-pop"].orders_captured)


@pytest.mark.parametrize("shop_id", COUNTED)
def test_a_page_shift_loss_is_caught_and_the_watermark_stays_before_the_window(world, pull, shop_id):
    """Planted: every page starts one row late (an order moved onto a page already read), so
    an order is on no page read; the count still includes it. Read twice, still short: the
    shop's pull is incomplete, the watermark does not move; once the pages are right again
    the rerun brings the warehouse to the ground truth."""
    watermark, stored = _first_half(pull, world, shop_id)
    platform = world.shop(shop_id).platform
    pull.server.faults.force("page_shift", platform, count=100_000)
    shifted = pull(shop_id, world.end)
    assert shifted.status == "incomplete", shifted
    assert "the platform counts" in shifted.error and shifted.incomplete_windows >= 1
    assert shifted.orders_captured < shifted.orders_expected
    assert repository.get_watermark(pull.engine, shop_id) == watermark
    windows = _windows(pull.engine, shop_id)
    short = windows[windows["status"] == "incomplete"]
    assert len(short) and (short["reads"] == 2).all() and (short["captured"] < short["expected"]).all()

    pull.server.faults.clear()
    again = pull(shop_id, world.end)
    assert again.status == "ok", again.error
    assert_equals_truth(pull.engine, world, world.end, shops=[shop_id])
    assert len(stored_orders(pull.engine, [shop_id])) > stored


def test_a_page_shift_of_one_read_is_repaired_by_reading_the_window_again(world, pull):
    """The count request and the last page (read first, backwards) are shifted once: the first
    read misses an order, the second has it; the pull is ok and nothing is lost."""
    _first_half(pull, world, "jd-pop")
    pull.server.faults.force("page_shift", "jd", count=2)
    result = pull("jd-pop", world.end)
    assert result.status == "ok", result.error
    windows = _windows(pull.engine, "jd-pop")
    assert list(windows["reads"])[-1] == 2 and set(windows["status"]) == {"complete"}
    assert_equals_truth(pull.engine, world, world.end, shops=["jd-pop"])


@pytest.mark.parametrize("shop_id", SHOPS)
def test_an_error_envelope_ends_the_shops_pull_as_an_authorisation_error_without_moving_the_watermark(
        world, pull, shop_id):
    """Planted: the platform's own refusal of an expired token (TOP 27, JD 19, PDD 10019,
    Douyin 30002, Shopify 401, Amazon 403) on every request. The pull fails as an
    authorisation error naming the platform and the shop; nothing more is stored."""
    watermark, stored = _first_half(pull, world, shop_id)
    platform = world.shop(shop_id).platform
    pull.server.faults.force("error_envelope", platform, count=100_000)
    refused = pull(shop_id, world.end)
    assert refused.status == "failed" and refused.error.startswith("AuthError: "), refused.error
    assert f"[{platform} {shop_id}]" in refused.error and "unexpected" not in refused.error
    assert repository.get_watermark(pull.engine, shop_id) == watermark
    assert len(stored_orders(pull.engine, [shop_id])) == stored


def _an_order_modified_late(world, shop_id: str) -> tuple[str, datetime]:
    """An order whose current version was modified in the second half of the day."""
    orders = world.ground_truth(shop_id, world.end).orders
    modified = pd.to_datetime(orders["modified_at"], utc=True)
    late = orders[(modified > pd.Timestamp(_middle(world) + timedelta(hours=2)))
                  & (modified < pd.Timestamp(world.end - timedelta(hours=2)))]
    row = late.iloc[len(late) // 2]
    return str(row["order_id"]), _utc(row["modified_at"])


@pytest.mark.parametrize("shop_id", ["pdd-main", "shopify-global", "tmall-flagship"])
def test_a_hidden_order_the_count_still_includes_keeps_the_watermark_before_its_window(world, pull, shop_id):
    """Planted: one order on no page while the count includes it. Its window is incomplete;
    the windows before it are stored and the watermark moves up to the start of its window,
    never past it (PDD: 30-minute windows, so it does move); the rerun after the platform
    shows the order again stores it."""
    watermark, _ = _first_half(pull, world, shop_id)
    order_id, modified = _an_order_modified_late(world, shop_id)
    pull.server.faults.hide(shop_id, order_id)
    hidden = pull(shop_id, world.end)
    assert hidden.status == "incomplete" and hidden.incomplete_windows == 1, hidden
    windows = _windows(pull.engine, shop_id)
    (short,) = windows[windows["status"] == "incomplete"].itertuples()
    assert short.expected == short.captured + 1 and short.reads == 2
    assert _utc(short.window_start) <= modified <= _utc(short.window_end)
    now = repository.get_watermark(pull.engine, shop_id)
    # up to the incomplete window's start, never past it (and never back: a first window starts
    # at watermark − lookback)
    assert now == max(watermark, _utc(short.window_start)) < modified
    if shop_id == "pdd-main":
        assert now == _utc(short.window_start) > watermark
    assert order_id not in set(stored_orders(pull.engine, [shop_id])["order_id"])

    pull.server.faults.clear()
    again = pull(shop_id, world.end)
    assert again.status == "ok", again.error
    assert_equals_truth(pull.engine, world, world.end, shops=[shop_id])


# --- shopops ingest audit / rewind ---------------------------------------------------------------

def test_audit_counts_per_day_match_the_warehouse_and_show_the_day_of_a_hidden_order(world, pull):
    from tasks.ingest_audit import audit_shop

    for shop_id in ("jd-pop", "pdd-main"):
        assert pull(shop_id, world.end, since=world.scenario.start - timedelta(hours=1)).status == "ok"
    url = str(pull.engine.url.render_as_string(hide_password=False))
    last_minute = world.end - timedelta(minutes=1)   # 23:59 of the world's day in Shanghai: 2 days back
    days = audit_shop(pull.config, "jd-pop", url, 2, clock=lambda: last_minute)
    assert [(d.day, d.difference) for d in days] == [("2026-11-19", 0), ("2026-11-20", 0)]
    assert days[0].platform == 0 and days[1].platform == days[1].warehouse > 0

    order_id, modified = _an_order_modified_late(world, "pdd-main")
    with pull.engine.begin() as conn:   # as if the pull had never seen it
        for table in ("order_lines", "refunds", "orders"):
            conn.execute(sa.text(f"delete from {table} where shop_id = 'pdd-main' and order_id = :o"), {"o": order_id})
    days = audit_shop(pull.config, "pdd-main", url, 2, clock=lambda: last_minute)
    wrong = [d for d in days if d.difference]
    assert len(wrong) == 1 and wrong[0].difference == -1 and wrong[0].start <= modified < wrong[0].end


def test_audit_and_rewind_on_the_command_line(world, pull, monkeypatch):
    url = pull.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("SHOPOPS_DATABASE_URL", url)
    monkeypatch.setenv("SHOPOPS_CONFIG_DIR", str(pull.config_dir))
    monkeypatch.setenv("SHOPOPS_LOCALE", "zh_CN")
    get_settings.cache_clear()
    try:
        assert pull("jd-pop", world.end, since=world.scenario.start - timedelta(hours=1)).status == "ok"
        audit = CliRunner().invoke(app, ["ingest", "audit", "--shop", "jd-pop", "--days", "2",
                                         "--until", world.end.isoformat()])
        assert audit.exit_code == 0, audit.output
        assert "平台计数" in audit.output and "数据仓库" in audit.output and "每天的订单数都一致" in audit.output

        watermark = repository.get_watermark(pull.engine, "jd-pop")
        back = watermark - timedelta(hours=6)
        rewind = CliRunner().invoke(app, ["ingest", "rewind", "--shop", "jd-pop", "--to", back.isoformat(),
                                          "--by", "王运营", "--reason", "平台后台订单数不一致"])
        assert rewind.exit_code == 0 and "已由 王运营" in rewind.output, rewind.output
        assert repository.get_watermark(pull.engine, "jd-pop") == back
        forward = CliRunner().invoke(app, ["ingest", "rewind", "--shop", "jd-pop", "--to", world.end.isoformat(),
                                           "--by", "王运营", "--reason", "x"])
        assert forward.exit_code == 1 and "水位线未回退" in forward.output
        with pull.engine.connect() as conn:
            rows = conn.execute(sa.text("select from_at, to_at, rewound_by, reason from ingest_rewinds")).all()
        assert [(_utc(a), _utc(b), by, why) for a, b, by, why in rows] == [(watermark, back, "王运营", "平台后台订单数不一致")]
    finally:
        get_settings.cache_clear()


def test_a_rewind_waits_for_a_running_pull(pull, world):
    """A pull holding the shop's run guard would move the watermark forward again: refused."""
    engine = pull.engine
    repository.set_watermark(engine, "jd-pop", world.end)
    assert repository.acquire_lease(engine, "jd-pop", "a-running-pull", timedelta(minutes=5))
    with pytest.raises(repository.RewindRefused, match="a pull holds shop jd-pop"):
        repository.rewind_watermark(engine, "jd-pop", world.end - timedelta(hours=1), by="x", reason="y",
                                    holder="rewind", ttl=timedelta(minutes=5))
    assert repository.get_watermark(engine, "jd-pop") == world.end
    repository.release_lease(engine, "jd-pop", "a-running-pull")
    assert repository.rewind_watermark(engine, "jd-pop", world.end - timedelta(hours=1), by="x", reason="y",
                                       holder="rewind", ttl=timedelta(minutes=5)) == world.end
    assert repository.read_lease(engine, "jd-pop") == (None, None)   # the rewind gave the guard back
