"""Report headings and operator messages in the configured ``locale`` (zh_CN default, en).

Keys are English snake_case; a missing translation falls back to English, and a missing key
shows the key itself, so a gap is visible rather than fatal.
"""
from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "config_ok": {"en": "Configuration is valid: {shops} shops, {suppliers} suppliers, {promotions} promotions.",
                  "zh_CN": "配置检查通过：{shops} 个店铺，{suppliers} 个供应商，{promotions} 个促销活动。"},
    "config_bad": {"en": "The configuration has {n} problem(s):",
                   "zh_CN": "配置有 {n} 处问题："},
    "config_fix": {"en": "Fix the named keys and run `shopops config check` again.",
                   "zh_CN": "请修改上面列出的配置项，然后重新运行 `shopops config check`。"},
    "db_upgraded": {"en": "Warehouse {url} is at revision {rev}.",
                    "zh_CN": "数据仓库 {url} 已升级到版本 {rev}。"},
    "db_downgraded": {"en": "Warehouse {url} downgraded to revision {rev}.",
                      "zh_CN": "数据仓库 {url} 已回退到版本 {rev}。"},
    "db_unreachable": {"en": "Cannot open the warehouse at {url}: {error}. Check SHOPOPS_DATABASE_URL and that the database server is running.",
                       "zh_CN": "无法连接数据仓库 {url}：{error}。请检查 SHOPOPS_DATABASE_URL 以及数据库服务是否在运行。"},
    "demo_ready": {"en": "shopops demo is running. Prefect UI: {ui}  (Ctrl-C stops everything it started)",
                   "zh_CN": "shopops 演示已启动。Prefect 界面：{ui}（按 Ctrl-C 停止所有进程）"},
    "demo_already": {"en": "The demo is already running (pid {pid}). Prefect UI: {ui}. Stop it with `make stop`.",
                     "zh_CN": "演示已在运行（进程 {pid}）。Prefect 界面：{ui}。用 `make stop` 停止。"},
    "demo_port_busy": {"en": "Port {port} on 127.0.0.1 is taken by another program. Stop it, or set SHOPOPS_PREFECT_PORT to a free port.",
                       "zh_CN": "127.0.0.1 的端口 {port} 已被其他程序占用。请停止该程序，或设置 SHOPOPS_PREFECT_PORT 为空闲端口。"},
    "demo_stopped": {"en": "Demo stopped.", "zh_CN": "演示已停止。"},
    "step": {"en": "[{n}/{total}] {what}", "zh_CN": "[{n}/{total}] {what}"},
    # report headings
    "table": {"en": "Table", "zh_CN": "数据表"},
    "rows": {"en": "Rows", "zh_CN": "行数"},
    "revision": {"en": "Schema revision", "zh_CN": "数据库结构版本"},
    "warehouse_report_title": {"en": "Warehouse check", "zh_CN": "数据仓库检查"},
    "report_file": {"en": "Excel report", "zh_CN": "Excel 报表"},
    "generated_at": {"en": "Generated at", "zh_CN": "生成时间"},
    # pull-orders
    "pull_report_title": {"en": "Order pull", "zh_CN": "订单抓取"},
    "pull_totals": {"en": "{shops} shops: {new} new orders, {updated} updated, {quarantined} quarantined.",
                    "zh_CN": "{shops} 个店铺：新订单 {new}，更新 {updated}，隔离 {quarantined}。"},
    "needs_person": {"en": "Needs a person", "zh_CN": "需要人工处理"},
    "nothing_to_do": {"en": "Nothing needs a person.", "zh_CN": "没有需要人工处理的事项。"},
    "todo_failed": {"en": "{shop}: the pull failed — {error}. Fix the cause, then rerun pull-orders for this shop.",
                    "zh_CN": "{shop}：抓取失败 — {error}。请排除原因后对该店铺重新运行 pull-orders。"},
    "todo_skipped": {"en": "{shop}: skipped, another run was pulling it.",
                     "zh_CN": "{shop}：已跳过，另一个运行正在抓取该店铺。"},
    "todo_quarantined": {"en": "{shop}: {n} orders quarantined ({reasons}). See `shopops quarantine list --shop {shop}`.",
                         "zh_CN": "{shop}：{n} 个订单被隔离（{reasons}）。查看 `shopops quarantine list --shop {shop}`。"},
    "pull_failed": {"en": "pull failed for: {shops}", "zh_CN": "以下店铺抓取失败：{shops}"},
    "col_shop_id": {"en": "shop", "zh_CN": "店铺"},
    "col_platform": {"en": "platform", "zh_CN": "平台"},
    "col_status": {"en": "status", "zh_CN": "状态"},
    "col_window_start": {"en": "window start (UTC)", "zh_CN": "窗口开始 (UTC)"},
    "col_window_end": {"en": "window end (UTC)", "zh_CN": "窗口结束 (UTC)"},
    "col_pages": {"en": "pages", "zh_CN": "页数"},
    "col_orders_new": {"en": "new orders", "zh_CN": "新订单"},
    "col_orders_updated": {"en": "updated", "zh_CN": "更新"},
    "col_orders_unchanged": {"en": "unchanged", "zh_CN": "未变"},
    "col_quarantined": {"en": "quarantined", "zh_CN": "隔离"},
    "col_late_updates": {"en": "late updates", "zh_CN": "延迟变更"},
    "col_retries": {"en": "retries", "zh_CN": "重试"},
    "col_throttle_waits": {"en": "throttle waits", "zh_CN": "限流等待"},
    "col_duration_s": {"en": "duration (s)", "zh_CN": "耗时（秒）"},
    "col_error": {"en": "error", "zh_CN": "错误"},
    "col_top_reasons": {"en": "main quarantine reasons", "zh_CN": "主要隔离原因"},
    # customer-service follow-up
    "fu_title": {"en": "Customer-service follow-up (orders paid {day})", "zh_CN": "客服跟进清单（{day} 付款订单）"},
    "fu_unshipped_from_yesterday": {"en": "paid yesterday, not yet shipped", "zh_CN": "昨日付款未发货"},
    "fu_out_of_stock": {"en": "cannot ship for lack of stock: tell the buyer", "zh_CN": "缺货订单，需通知顾客"},
    "fu_deadline": {"en": "near or past the shipping deadline", "zh_CN": "临近或超过发货时限"},
    "fu_abnormal_logistics": {"en": "abnormal logistics", "zh_CN": "物流异常"},
    "fu_no_stock_data": {"en": "No stock positions in the warehouse yet: out-of-stock orders cannot be listed.",
                         "zh_CN": "仓库中尚无库存数据，无法列出缺货订单。"},
    "fu_shop_id": {"en": "shop", "zh_CN": "店铺"},
    "fu_order_id": {"en": "order", "zh_CN": "订单号"},
    "fu_status": {"en": "status", "zh_CN": "状态"},
    "fu_paid_at": {"en": "paid (UTC)", "zh_CN": "付款时间 (UTC)"},
    "fu_ship_by_at": {"en": "ship by (UTC)", "zh_CN": "发货时限 (UTC)"},
    "fu_receiver_name_masked": {"en": "receiver", "zh_CN": "收件人"},
    "fu_receiver_phone_masked": {"en": "phone", "zh_CN": "电话"},
    "fu_province": {"en": "province", "zh_CN": "省"},
    "fu_city": {"en": "city", "zh_CN": "市"},
    "fu_buyer_remark": {"en": "buyer remark", "zh_CN": "买家留言"},
    "fu_tracking_no": {"en": "tracking no.", "zh_CN": "运单号"},
    "fu_hours_left": {"en": "hours left", "zh_CN": "剩余小时"},
    "fu_problem": {"en": "problem", "zh_CN": "问题"},
}


def t(key: str, locale: str | None = None, **values: object) -> str:
    """The message ``key`` in ``locale`` (default: the configured one), formatted with ``values``."""
    if locale is None:
        from config.settings import get_settings

        locale = get_settings().locale
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(locale) or entry["en"]
    return text.format(**values) if values else text
