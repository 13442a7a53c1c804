"""Does a text written for a person speak the reader's language? (issue 23 #2)

``untranslated(text)``: what is still English in a text meant for a zh_CN reader — a code of
the product (``paid``, ``critical``, ``push``, ``refund_in_progress``, ``multi`` …) standing as a
word, or English prose (three or more English words in a row). ``raw_codes(text)``: codes
shown as codes to an English reader (``refund_in_progress`` instead of "refund in progress")
and Chinese words of those codes. What is not for translation is left out first: commands and
names in backticks, links, paths and file names, identifiers (``taobao-flagship``, ``DJ-BLK-L``,
``SHOPOPS_WEBHOOK_URL``), and the ``ignore`` strings a caller names (data such as a buyer's remark).

The vocabulary is written out here, from the domain's own code lists, independent of the
catalogue it checks.
"""
from __future__ import annotations

import re

from domain.batching import BATCH_STEPS, HoldReason
from domain.canonical import PLATFORMS, OrderStatus

#: every code of the product a person may be shown, by kind
CODES: dict[str, set[str]] = {
    "order_status": {s.value for s in OrderStatus},
    "hold_reason": {r.value for r in HoldReason},
    "batch_status": {*BATCH_STEPS, "cancelled"},
    "batch_kind": {"single", "multi"},
    "batch_order_status": {"in_batch", "pulled_out"},
    "platform": set(PLATFORMS) - {"file"},
    "pull_status": {"ok", "incomplete", "skipped", "failed"},
    "read_status": {"partial", "not_read"},
    "push_action": {"push", "unchanged", "report_edited"},
    "push_outcome": {"dry_run", "confirmed", "mismatch"},
    "restock_level": {"critical", "warning", "overstock"},
    "discrepancy_kind": {"count_vs_ledger", "oversell_risk", "undersell"},
    "settlement_status": {"draft", "awaiting_approval", "correction_requested", "final", "superseded"},
    "campaign_status": {"defined", "prepared", "running", "closed"},
    "rule_severity": {"error"},
    "watchdog_kind": {"shop_stale", "batch_past_cutoff", "push_failing", "approval_due", "run_stuck"},
    "yes_no": {"True", "False"},
}
VOCABULARY = set().union(*CODES.values())
#: the Chinese words of codes whose English label differs from the code (an English reader
#: must not see them)
CHINESE_LABELS = ("已付款", "待付款", "退款中", "已退款", "已发货", "单件", "多件", "已拣货", "已打包", "已交接", "紧急",
                  "预警", "滞销", "回读不一致", "盘点≠台账", "超卖风险", "备注需人工处理", "地址不完整", "缺货",
                  "买家留言提到", "无法整单发货", "部分发货")

_SKIP = [
    re.compile(r"`[^`]*`"),                                   # commands, ids in backticks
    re.compile(r"\b(?:https?|file)://\S+"),                   # links
    re.compile(r"\(\S+\.(?:xlsx|csv)\)|\S+\.(?:xlsx|csv|yaml|json)\b"),   # files
    re.compile(r"(?<![\w])[\w.]*[-/_.][\w./-]*[\w]"),         # identifiers: shop-id, a/b, x_y, 1.5, SKU-1
]
_WORD = re.compile(r"(?<![\w-])[A-Za-z_]+(?![\w-])")
_PROSE = re.compile(r"(?<![\w-])[A-Za-z][a-z]+(?:[ ,']+[a-z]+){2,}(?![\w-])")   # "Read it before shipping"
#: English words that are product names or units, fine in a Chinese text
_NAMES = {"SKU", "MOQ", "ROP", "ABC", "ROI", "DSR", "UTC", "Prefect", "Excel", "Webhook", "Shopify", "Resume",
          "Suspended", "SHA", "ID", "S", "L", "R", "SS", "d", "z", "N"}


def _clean(text: str, ignore: tuple[str, ...] = ()) -> str:
    for value in sorted(ignore, key=len, reverse=True):
        text = text.replace(value, " ")
    codes = [c for c in VOCABULARY if "_" in c]
    kept = {}
    for i, code in enumerate(codes):   # a snake_case code is a finding, not an identifier to skip
        marker = f"\x00{i}\x00"
        text, n = re.subn(rf"(?<![\w-]){re.escape(code)}(?![\w-])", marker, text)
        if n:
            kept[marker] = code
    for pattern in _SKIP:
        text = pattern.sub(" ", text)
    for marker, code in kept.items():
        text = text.replace(marker, f" {code} ")
    return text


def untranslated(text: str, ignore: tuple[str, ...] = ()) -> list[str]:
    """What a zh_CN reader would find still English in ``text``: codes, then prose."""
    clean = _clean(text, ignore)
    found = [w for w in _WORD.findall(clean) if w in VOCABULARY]
    found += [p for p in _PROSE.findall(clean) if not set(re.findall(r"[A-Za-z]+", p)) <= _NAMES]
    return sorted(set(found))


def raw_codes(text: str, ignore: tuple[str, ...] = ()) -> list[str]:
    """What an English reader would find untranslated in ``text``: snake_case codes and the
    Chinese words of codes."""
    clean = _clean(text, ignore)
    found = [w for w in _WORD.findall(clean) if w in VOCABULARY and "_" in w]
    found += [word for word in CHINESE_LABELS if word in clean]
    return sorted(set(found))
