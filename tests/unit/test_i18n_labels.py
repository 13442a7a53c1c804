"""Codes and prose of the product in the reader's language (issue 23 #2), on pure code: the
catalogue's ``label``/``say``, the pull-orders report (an incomplete window, quarantine
reasons), the promotion report's tables, the shipping audit's hold reasons. The flows
themselves are run in tests/flows/test_language.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from tests.helpers.language import raw_codes, untranslated

T0 = datetime(2026, 12, 5, 1, 30, tzinfo=timezone.utc)


def _check(language: str):
    return untranslated if language == "zh_CN" else raw_codes


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_pull_report_says_status_incomplete_windows_and_quarantine_reasons_in_words(language):
    from connectors.base import WindowCount
    from domain.windows import Window
    from flows.orders import run_report
    from tasks.ingest import ShopPullResult, incomplete_windows_text

    short = [WindowCount(Window(T0 + timedelta(hours=h), T0 + timedelta(hours=h + 1)), expected=12, captured=10, reads=2)
             for h in range(7)]
    results = [
        ShopPullResult(shop_id="jd-pop", platform="jd", status="incomplete", error=incomplete_windows_text(short)),
        ShopPullResult(shop_id="taobao-flagship", platform="taobao", status="ok", quarantined=3,
                       top_reasons={"SKU … is not in the catalogue": 2, "order total is negative": 1}),
        ShopPullResult(shop_id="pdd-main", platform="pdd", status="failed", error="HTTPError: 502"),
    ]
    table, summary = run_report(results, language)
    text = table.to_csv(index=False) + "\n" + summary
    assert _check(language)(text, ignore=("HTTPError",)) == []
    if language == "zh_CN":
        assert "平台计数 12 单，分页实际返回 10 单（读取 2 次）" in text and "另有 2 个窗口" in text
        assert "不完整" in text and "京东" in text and "商品编码不在商品档案中 ×2" in text
    else:
        assert "the platform counts 12 orders, its pages held 10 (read 2 times)" in text and "2 more" in text
        assert "SKU … is not in the catalogue ×2" in text
    # the English stays what the pull log table keeps
    assert str(results[0].error).startswith("window 2026-12-05 09:30 – 2026-12-05 10:30: the platform counts 12")


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_hold_reason_of_the_hand_checked_day_is_said_in_the_readers_language(language):
    from domain.batching import audit
    from shopops.i18n import labelled, say
    from tests.unit.test_batching import CATALOGUE, RULES, the_day

    orders, lines = the_day()
    held = audit(orders, lines, set(CATALOGUE["sku"]), RULES).held
    assert len(held) >= 10
    details = held["reason_details"].map(lambda d: "; ".join(say(x, language) for x in d))
    reasons = labelled(held, language, reasons="hold_reason")["reasons"]
    text = "\n".join(details) + "\n" + "\n".join(reasons)
    assert _check(language)(text, ignore=("Please ship URGENT", "urgent", "'urgent'")) == []
    if language == "zh_CN":
        assert "买家留言提到 '改地址'：发货前请先阅读" in text and "缺少市" in text and "退款中" in text
    else:
        assert "buyer remark mentions '改地址': read it before shipping" in text and "refund in progress" in text
    # what the database keeps is the English and the codes
    assert any(str(d[0]).startswith("buyer remark mentions") for d in held["reason_details"])
    assert {str(r) for rs in held["reasons"] for r in rs} >= {"remark_needs_person", "refund_in_progress"}


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_promotion_tables_show_severity_rule_kind_level_and_source_in_words(language, monkeypatch):
    from config.settings import get_settings
    from flows.promotion import _table

    monkeypatch.setenv("SHOPOPS_LOCALE", language)
    get_settings.cache_clear()
    violations = pd.DataFrame([{"sku": "DJ-BLK-L", "rule": "coupon_above_price_share", "severity": "warning"},
                               {"sku": "DJ-BLK-L", "rule": "price_not_below_history_low", "severity": "error"}])
    readiness = pd.DataFrame([{"sku": "DJ-BLK-L", "kind": "promoted", "demand_source": "uplift", "ready": False},
                              {"sku": "STICKER", "kind": "gift", "demand_source": "gift_of_promoted", "ready": True}])
    found = pd.DataFrame([{"sku": "DJ-BLK-L", "kind": "oversell_risk", "shop_id": "tmall-flagship", "difference": 3}])
    text = "\n".join(_table(frame).to_csv(index=False) for frame in (violations, readiness, found))
    get_settings.cache_clear()
    assert _check(language)(text) == []
    expected = ("错误", "提示", "活动商品", "赠品", "日常销量×提升系数", "超卖风险", "否") if language == "zh_CN" else \
        ("error", "warning", "promoted item", "gift", "sales × uplift", "oversell", "no")
    assert all(word in text for word in expected), text


def test_label_keeps_unknown_and_empty_values_and_said_texts_nest():
    from domain.text import Text
    from shopops.i18n import label, say

    assert label("order_status", "paid", "zh_CN") == "已付款" and label("order_status", "paid", "en") == "paid"
    assert label("batch_kind", "multi", "zh_CN") == "多件" and label("push_action", "push", "zh_CN") == "推送"
    assert label("hold_reason", "refund_in_progress", "zh_CN") == "退款中"
    assert label("order_status", "no_such_code", "zh_CN") == "no_such_code"
    assert label("order_status", None, "zh_CN") is None
    nested = Text.joined([Text("order is refunding", "hold_order_refunding"), "plain text"])
    assert say(nested, "zh_CN") == "订单退款中; plain text" and str(nested) == "order is refunding; plain text"
    import pickle

    again = pickle.loads(pickle.dumps(nested))   # a task's result may be persisted
    assert say(again, "zh_CN") == "订单退款中; plain text"


def test_a_stored_quarantine_reason_reads_in_the_persons_language_with_its_particulars():
    """`shopops quarantine list` shows each order's stored reasons (written in English by the
    validation) in the reader's language, keeping the line and the values a person looks up."""
    from tasks.quarantine import reason_in_words

    stored = "line 2: SKU 'X-1' is not in the catalogue"
    assert reason_in_words(stored, "zh_CN") == "第 2 行：商品编码不在商品档案中（'X-1'）"
    assert reason_in_words(stored, "en") == stored
    assert reason_in_words("order total is missing", "zh_CN") == "订单金额缺失"
    assert reason_in_words("a reason of no known family", "zh_CN") == "a reason of no known family"
