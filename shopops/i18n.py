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
    "config_fix": {"en": "Fix the named keys (see the comments at the top of each file) and run "
                         "`shopops config check` again.",
                   "zh_CN": "请修改上面列出的配置项（见各文件开头的注释），然后重新运行 `shopops config check`。"},
    "st_unknown_preset": {"en": "There is no settlement preset '{preset}'; known presets (config/rules.yaml "
                                "settlement.presets): {known}.",
                          "zh_CN": "没有名为 '{preset}' 的结算方案；已有方案（config/rules.yaml settlement.presets）：{known}。"},
    "stk_count_no_rows": {"en": "{file}: the count file has a header but no rows; nothing was imported. Export the "
                                "count again with one row per SKU and warehouse.",
                          "zh_CN": "{file}：盘点文件只有表头，没有数据行；未导入任何内容。请重新导出盘点，每个 SKU 和仓库一行。"},
    "leak_scanning": {"en": "Leak scan of {places}: {secrets} secret value(s), {buyers} buyer name(s)/nick(s)/"
                            "e-mail(s), and any e-mail address.",
                      "zh_CN": "泄露扫描 {places}：{secrets} 个密钥值，{buyers} 个买家姓名/昵称/邮箱，以及任何邮箱地址。"},
    "leak_prefect_skipped": {"en": "Prefect not scanned: {why}.", "zh_CN": "未扫描 Prefect：{why}。"},
    "leak_found_exit": {"en": "Leaks found: mask or remove them at the places named above, then scan again.",
                        "zh_CN": "发现泄露：请在上面列出的位置遮蔽或删除，然后重新扫描。"},
    "db_upgraded": {"en": "Warehouse {url} is at revision {rev}.",
                    "zh_CN": "数据仓库 {url} 已升级到版本 {rev}。"},
    "db_downgraded": {"en": "Warehouse {url} downgraded to revision {rev}.",
                      "zh_CN": "数据仓库 {url} 已回退到版本 {rev}。"},
    "db_unreachable": {"en": "Cannot open the warehouse at {url}: {error}. Check SHOPOPS_DATABASE_URL and that the database server is running.",
                       "zh_CN": "无法连接数据仓库 {url}：{error}。请检查 SHOPOPS_DATABASE_URL 以及数据库服务是否在运行。"},
    "db_backed_up": {"en": "Warehouse {url} backed up to {file} ({size} MB). Restore it with `shopops db restore {file}`.",
                     "zh_CN": "数据仓库 {url} 已备份到 {file}（{size} MB）。恢复：`shopops db restore {file}`。"},
    "db_backup_failed": {"en": "The backup of {url} failed: {error}", "zh_CN": "数据仓库 {url} 备份失败：{error}"},
    "db_restore_confirm": {"en": "Replace everything in {url} with the backup {file}?",
                           "zh_CN": "用备份 {file} 替换数据仓库 {url} 的全部内容？"},
    "db_restore_failed": {"en": "The restore into {url} failed: {error}", "zh_CN": "恢复到数据仓库 {url} 失败：{error}"},
    "db_restored": {"en": "Warehouse {url} restored from {file}. Check it with `shopops db current`.",
                    "zh_CN": "数据仓库 {url} 已从 {file} 恢复。可用 `shopops db current` 检查。"},
    "wd_title": {"en": "Watchdog: what went quiet", "zh_CN": "巡检：哪些环节停滞了"},
    "wd_all_well": {"en": "Nothing stale: every shop pulled, no batch past its cut-off, pushes fine, no approval due, no stuck run.",
                    "zh_CN": "一切正常：各店铺均已拉单，无超时波次，库存推送正常，无临期审批，无卡住的运行。"},
    "wd_kind_shop_stale": {"en": "shop not pulled", "zh_CN": "店铺未拉单"},
    "wd_kind_batch_past_cutoff": {"en": "batch past cut-off", "zh_CN": "波次超时"},
    "wd_kind_push_failing": {"en": "stock pushes failing", "zh_CN": "库存推送失败"},
    "wd_kind_approval_due": {"en": "approval due", "zh_CN": "审批临期"},
    "wd_kind_run_stuck": {"en": "run stuck", "zh_CN": "运行卡住"},
    "wd_col_kind": {"en": "kind", "zh_CN": "类型"},
    "wd_col_subject": {"en": "subject", "zh_CN": "对象"},
    "wd_col_what": {"en": "what to do", "zh_CN": "说明与处理"},
    "wd_shop_stale": {"en": "{subject}: not completely pulled for {minutes} min (limit {limit} min). Open its latest pull-orders run.",
                      "zh_CN": "{subject}：已 {minutes} 分钟未完整拉单（上限 {limit} 分钟）。请打开其最近一次 pull-orders 运行查看。"},
    "wd_shop_never": {"en": "{subject}: never pulled completely. Run pull-orders for it and read its report.",
                      "zh_CN": "{subject}：从未完整拉单。请为其运行 pull-orders 并查看报表。"},
    "wd_batch_past_cutoff": {"en": "batch {subject} is still '{status}' {hours} h after it was made (cut-off {limit} h): hand it over or pull its orders out.",
                             "zh_CN": "波次 {subject} 生成 {hours} 小时后仍为“{status}”（时限 {limit} 小时）：请交接或拆出订单。"},
    "wd_push_failing": {"en": "{subject}: {failed} stock push(es) failed and {mismatch} read back different in the last {hours} h.",
                        "zh_CN": "{subject}：最近 {hours} 小时库存推送失败 {failed} 次，回读不一致 {mismatch} 次。"},
    "wd_approval_due": {"en": "settlement {subject} waits for approval; the deadline {deadline:%Y-%m-%d %H:%M} is {hours_left} h away.",
                        "zh_CN": "结算 {subject} 等待审批，截止 {deadline:%Y-%m-%d %H:%M}，还剩 {hours_left} 小时。"},
    "wd_run_stuck": {"en": "{subject} has been Running for {minutes} min (no run takes over {limit}): its process is likely gone; cancel it in the UI and run it again.",
                     "zh_CN": "{subject} 已运行 {minutes} 分钟（正常不超过 {limit} 分钟）：进程可能已不在，请在界面取消后重跑。"},
    "demo_ready": {"en": "shopops demo is running. Prefect UI: {ui}  (Ctrl-C stops everything it started)",
                   "zh_CN": "shopops 演示已启动。Prefect 界面：{ui}（按 Ctrl-C 停止所有进程）"},
    "demo_already": {"en": "The demo is already running (pid {pid}). Prefect UI: {ui}. Stop it with `make stop`.",
                     "zh_CN": "演示已在运行（进程 {pid}）。Prefect 界面：{ui}。用 `make stop` 停止。"},
    "demo_port_busy": {"en": "Port {port} on 127.0.0.1 is taken by another program. Stop it, or set SHOPOPS_PREFECT_PORT to a free port.",
                       "zh_CN": "127.0.0.1 的端口 {port} 已被其他程序占用。请停止该程序，或设置 SHOPOPS_PREFECT_PORT 为空闲端口。"},
    "demo_stopped": {"en": "Demo stopped.", "zh_CN": "演示已停止。"},
    "demo_run_left_going": {"en": "The demo was stopped while this run was in progress; its process is gone.",
                            "zh_CN": "演示停止时此运行仍在进行，其进程已不在。"},
    "demo_runs_crashed": {"en": "{n} run(s) the stopped demo left in progress marked Crashed: {runs}",
                          "zh_CN": "上次演示停止时仍在进行的 {n} 个运行已标记为 Crashed：{runs}"},
    "step": {"en": "[{n}/{total}] {what}", "zh_CN": "[{n}/{total}] {what}"},
    "demo_step_warehouse": {"en": "warehouse: migrate (shopops db upgrade)", "zh_CN": "数据仓库：升级结构（shopops db upgrade）"},
    "demo_step_sandbox": {"en": "sandbox marketplace on {url}", "zh_CN": "沙箱平台：{url}"},
    "demo_step_prefect": {"en": "Prefect server on {url}", "zh_CN": "Prefect 服务：{url}"},
    "demo_step_seed": {"en": "credentials (Secret blocks), shops, SKU catalogue, order history before today, stock",
                       "zh_CN": "凭证（Secret 块）、店铺、商品档案、今天之前的订单历史、库存"},
    "demo_step_pool": {"en": "work pool {pools}", "zh_CN": "工作池 {pools}"},
    "demo_step_deployments": {"en": "deployments from prefect.yaml", "zh_CN": "按 prefect.yaml 创建部署"},
    "demo_step_worker": {"en": "worker", "zh_CN": "工作进程（worker）"},
    "day_step_start": {"en": "  operating day {n}/{total}: {deployment} …", "zh_CN": "  运营日 {n}/{total}：{deployment} …"},
    "day_step_done": {"en": "  operating day {n}/{total}: {deployment} {state} in {seconds} s",
                      "zh_CN": "  运营日 {n}/{total}：{deployment} {state}，用时 {seconds} 秒"},
    "day_waited_for_scheduled": {"en": "a scheduled run ({run}) was already going: waited for it",
                                 "zh_CN": "定时运行（{run}）已在进行：等待其完成"},
    "day_done": {"en": "Operating day done in {seconds} s: {summary}. Open the UI to see the runs and their reports.",
                 "zh_CN": "运营日完成，用时 {seconds} 秒：{summary}。打开界面查看运行记录和报表。"},
    "day_failed_steps": {"en": "These runs did not complete: {steps}. Open them in the UI (Runs) for the error.",
                         "zh_CN": "以下运行未完成：{steps}。请在界面（运行记录）中打开查看错误。"},
    # report headings
    "table": {"en": "Table", "zh_CN": "数据表"},
    "rows": {"en": "Rows", "zh_CN": "行数"},
    "revision": {"en": "Schema revision", "zh_CN": "数据库结构版本"},
    "warehouse_report_title": {"en": "Warehouse check", "zh_CN": "数据仓库检查"},
    "wh_log_done": {"en": "warehouse at revision {revision}, {tables} tables, {shops} shops configured",
                    "zh_CN": "数据仓库结构版本 {revision}，{tables} 张表，已配置 {shops} 个店铺"},
    "report_file": {"en": "Excel report", "zh_CN": "Excel 报表"},
    "generated_at": {"en": "Generated at", "zh_CN": "生成时间"},
    # --as-of DAY (issue 23 #10): a past day recomputed as if it were that day
    "as_of_malformed": {"en": "--as-of '{value}' is not a date; give the day as YYYY-MM-DD, e.g. 2026-11-30.",
                        "zh_CN": "--as-of '{value}' 不是日期；请按 YYYY-MM-DD 填写，例如 2026-11-30。"},
    "as_of_not_past": {"en": "--as-of {day} is not a past day (today is {today} in the shop's zone); --as-of "
                             "recomputes a day that is over — for today run the command without --as-of.",
                       "zh_CN": "--as-of {day} 不是已过去的日期（店铺时区今天是 {today}）；--as-of 只重算已结束的日期，"
                                "计算今天请去掉 --as-of。"},
    "as_of_title": {"en": "{title} (recomputed as of that day)", "zh_CN": "{title}（按当日重算）"},
    "as_of_note": {"en": "Recomputed as of the close of {day} ({zone}): only what happened by then counts. "
                         "Nothing was sent, stored or changed.",
                   "zh_CN": "按 {day} 日终（{zone}）重算：只计入截至当时发生的数据。未发送、未保存、未做任何更改。"},
    # pull-orders
    "pull_report_title": {"en": "Order pull", "zh_CN": "订单抓取"},
    "pull_totals": {"en": "{shops} shops: {new} new orders, {updated} updated, {quarantined} quarantined.",
                    "zh_CN": "{shops} 个店铺：新订单 {new}，更新 {updated}，隔离 {quarantined}。"},
    "needs_person": {"en": "Needs a person", "zh_CN": "需要人工处理"},
    "nothing_to_do": {"en": "Nothing needs a person.", "zh_CN": "没有需要人工处理的事项。"},
    "todo_failed": {"en": "{shop}: the pull failed — {error}. Fix the cause, then rerun pull-orders for this shop.",
                    "zh_CN": "{shop}：抓取失败 — {error}。请排除原因后对该店铺重新运行 pull-orders。"},
    "todo_skipped_why": {"en": "{shop}: skipped — {why}",
                         "zh_CN": "{shop}：已跳过 — {why}"},
    "todo_skipped": {"en": "{shop}: skipped, another run was pulling it.",
                     "zh_CN": "{shop}：已跳过，另一个运行正在抓取该店铺。"},
    "todo_quarantined": {"en": "{shop}: {n} orders quarantined ({reasons}). See `shopops quarantine list --shop {shop}`.",
                         "zh_CN": "{shop}：{n} 个订单被隔离（{reasons}）。查看 `shopops quarantine list --shop {shop}`。"},
    "pull_failed": {"en": "pull failed for: {shops}", "zh_CN": "以下店铺抓取失败：{shops}"},
    "pull_unknown_shops": {"en": "unknown shop(s) {shops}; known: {known}",
                           "zh_CN": "未知店铺 {shops}；已配置的店铺：{known}"},
    "backfill_since_future": {
        "en": "The backfill start --since {since} is in the future (now {now}): nothing has been modified then "
              "yet. Give a past time, or leave --since out to pull from the watermark.",
        "zh_CN": "补抓起点 --since {since} 晚于当前时间（现在 {now}）：那时还没有任何订单变更。"
                 "请给出过去的时间，或不填 --since 从水位线开始抓取。"},
    "backfill_since_after_until": {
        "en": "The backfill start --since {since} is not before --until {until}: the window is empty. "
              "Give a --since earlier than --until.",
        "zh_CN": "补抓起点 --since {since} 不早于 --until {until}：窗口为空。请给出早于 --until 的 --since。"},
    "col_shop_id": {"en": "shop", "zh_CN": "店铺"},
    "col_platform": {"en": "platform", "zh_CN": "平台"},
    "col_status": {"en": "status", "zh_CN": "状态"},
    "col_window_start": {"en": "window start", "zh_CN": "窗口开始"},
    "col_window_end": {"en": "window end", "zh_CN": "窗口结束"},
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
    "pull_log_shop": {"en": "{shop}: {status}, {pages} pages, {new} new, {updated} updated, {unchanged} unchanged, "
                            "{quarantined} quarantined{error}",
                      "zh_CN": "{shop}：{status}，{pages} 页，新订单 {new}，更新 {updated}，未变 {unchanged}，隔离 {quarantined}{error}"},
    "pull_log_done": {"en": "pulled {n} shops: {ok} ok, {incomplete} incomplete, {skipped} skipped, {failed} failed",
                      "zh_CN": "已抓取 {n} 个店铺：成功 {ok}，不完整 {incomplete}，跳过 {skipped}，失败 {failed}"},
    "pull_guard_taken_over": {"en": "{shop}: took over the run guard of {holder}, which is gone",
                              "zh_CN": "{shop}：接管了已不存在的 {holder} 的运行锁"},
    "pull_guard_held": {"en": "another run is pulling this shop right now ({holder}, its guard lasts until {until}); this "
                              "run left it alone. If that run is stuck, cancel it in the UI: the next run then takes "
                              "over at once",
                        "zh_CN": "另一个运行正在抓取该店铺（{holder}，运行锁有效至 {until}）；本次运行未处理该店铺。"
                                 "如该运行卡住，请在界面中取消：下一次运行会立即接管"},
    "pull_backfill_progress": {"en": "backfill of {shop}", "zh_CN": "{shop} 补抓进度"},
    "pull_window_short": {"en": "window {start} – {end}: the platform counts {expected} orders, its pages held {captured} "
                                "(read {reads} times)",
                          "zh_CN": "窗口 {start} – {end}：平台计数 {expected} 单，分页实际返回 {captured} 单（读取 {reads} 次）"},
    "pull_windows_more": {"en": "{n} more", "zh_CN": "另有 {n} 个窗口"},
    "pull_incomplete_advice": {"en": " — the watermark stays before the first of them; the next pull reads them again. If "
                                     "it repeats, compare with the platform's back-office (`shopops ingest audit`) and "
                                     "report it to the platform",
                               "zh_CN": " — 水位线停在其中最早的窗口之前，下次抓取会重新读取。如反复出现，请与平台后台核对"
                                        "（`shopops ingest audit`）并向平台反馈"},
    # customer-service follow-up
    "fu_title": {"en": "Customer-service follow-up (orders paid {day})", "zh_CN": "客服跟进清单（{day} 付款订单）"},
    "fu_unshipped_from_yesterday": {"en": "paid yesterday, not yet shipped", "zh_CN": "昨日付款未发货"},
    "fu_out_of_stock": {"en": "cannot ship for lack of stock: tell the buyer", "zh_CN": "缺货订单，需通知顾客"},
    "fu_deadline": {"en": "near or past the shipping deadline", "zh_CN": "临近或超过发货时限"},
    "fu_abnormal_logistics": {"en": "abnormal logistics", "zh_CN": "物流异常"},
    "fu_out_of_stock_basis": {"en": "Out of stock: the orders the latest shipping-batches run held for stock "
                                    "(none before its first run); an order in a batch is never out of stock. "
                                    "Near or past the deadline: the shipping run's own list (no refunding order, "
                                    "no presale with only the deposit paid).",
                              "zh_CN": "缺货订单：最近一次 shipping-batches 运行因缺货暂扣的订单（首次运行前为空）；"
                                       "已进入波次的订单不算缺货。临近或超过发货时限：与发货运行的清单相同"
                                       "（不含退款中订单和只付定金的预售订单）。"},
    "fu_shop_id": {"en": "shop", "zh_CN": "店铺"},
    "fu_order_id": {"en": "order", "zh_CN": "订单号"},
    "fu_status": {"en": "status", "zh_CN": "状态"},
    "fu_paid_at": {"en": "paid", "zh_CN": "付款时间"},
    "fu_ship_by_at": {"en": "ship by", "zh_CN": "发货时限"},
    "fu_receiver_name_masked": {"en": "receiver", "zh_CN": "收件人"},
    "fu_receiver_phone_masked": {"en": "phone", "zh_CN": "电话"},
    "fu_province": {"en": "province", "zh_CN": "省"},
    "fu_city": {"en": "city", "zh_CN": "市"},
    "fu_buyer_remark": {"en": "buyer remark", "zh_CN": "买家留言"},
    "fu_tracking_no": {"en": "tracking no.", "zh_CN": "运单号"},
    "fu_hours_left": {"en": "hours left", "zh_CN": "剩余小时"},
    "fu_problem": {"en": "problem", "zh_CN": "问题"},
    # stock: reconcile-stock (§2)
    # the headline says what was found (issue 17 #9): 账实相符 only when a count was compared and agrees
    "stk_headline_found": {"en": "Stock reconciliation: {count_vs_ledger} count-vs-ledger differences, "
                                 "{oversell_risk} listing oversell risks, {undersell} undersold listings",
                           "zh_CN": "库存对账：盘点与台账不符 {count_vs_ledger} 处，商品超卖风险 {oversell_risk} 个，"
                                    "少卖 {undersell} 个"},
    "stk_headline_match": {"en": "Stock reconciliation: books match (count, ledger and listings agree within tolerance)",
                           "zh_CN": "库存对账：账实相符（盘点、台账与平台可售数均在容差内）"},
    "stk_headline_listings_match": {"en": "Stock reconciliation: the listings agree with the ledger (no warehouse count compared)",
                                    "zh_CN": "库存对账：平台可售数与台账一致（本次未核对仓库盘点）"},
    "stk_headline_unread": {"en": "; {n} shop(s) could not be read", "zh_CN": "；{n} 个店铺无法读取"},
    "stk_summary": {"en": "{discrepancies} disagreements beyond tolerance ({count_vs_ledger} count vs ledger, "
                         "{oversell_risk} oversell risk, {undersell} undersell); {new_records} newly recorded, "
                         "{already_open} already open (numbers updated). Shops whose listings could not be read: {shops_failed}. "
                         "Positions: {positions}.",
                   "zh_CN": "超出容差的差异 {discrepancies} 条（盘点与台账 {count_vs_ledger}，超卖风险 {oversell_risk}，"
                            "少卖 {undersell}）；新记录 {new_records}，已有未处理 {already_open}（已更新数字）。"
                            "无法读取库存的店铺：{shops_failed}。库存位置：{positions} 行。"},
    "stk_count_used": {"en": "Warehouse count: {source}, true at {at}, {rows} rows.",
                      "zh_CN": "仓库盘点：{source}，盘点时间 {at}，共 {rows} 行。"},
    "stk_no_count": {"en": "No warehouse count given: only listings and positions were checked.",
                    "zh_CN": "未提供盘点文件：仅核对了商品库存与库存位置。"},
    "stk_listings_not_read": {"en": "Listings were not read from the marketplaces this run: the quantities read last time were judged.",
                             "zh_CN": "本次未从平台读取商品库存，使用的是上次读取的数量。"},
    "stk_never_pushed": {"en": "Nothing was pushed to any marketplace: the push plan is for review (pushing is switched by rules.yaml stock.push_enabled).",
                        "zh_CN": "本次没有向任何平台推送库存：推送计划仅供审核（推送由 rules.yaml 的 stock.push_enabled 控制）。"},
    "stk_dry_run_pushes": {"en": "Dry run: {n} pushes of the plan logged in stock_pushes (before, planned, after); nothing was written to any marketplace.",
                           "zh_CN": "试运行：推送计划中的 {n} 条已记录到 stock_pushes（推送前、计划、推送后）；没有写入任何平台。"},
    "stk_todo_read_failed": {"en": "{shop}: listing stock could not be read — {error}. Check the shop's credentials and API, then rerun reconcile-stock.",
                            "zh_CN": "{shop}：无法读取商品库存 — {error}。请检查店铺凭证与接口后重新运行 reconcile-stock。"},
    "stk_todo_plan_error": {"en": "{error}", "zh_CN": "{error}"},
    "stk_shop_disabled": {"en": "the shop is disabled in shops.yaml: its listings were not read",
                          "zh_CN": "该店铺在 shops.yaml 中已停用：未读取其商品库存"},
    "stk_share_error": {"en": "SKU {sku}: allocation shares of its listings sum to {total}, more than 1 ({shares}); lower "
                              "the shares — nothing is pushed for this SKU",
                        "zh_CN": "SKU {sku}：各商品链接的分配比例之和为 {total}，超过 1（{shares}）；请调低比例——该 SKU 不推送库存"},
    "stk_log_done": {"en": "reconcile-stock ({mode}): {counts}", "zh_CN": "库存对账（{mode}）：{counts}"},
    "stk_sync_mode_none": {"en": "plan only", "zh_CN": "仅计划"},
    "stk_sync_mode_dry_run": {"en": "dry run", "zh_CN": "试运行"},
    "stk_sync_mode_live": {"en": "live", "zh_CN": "实际推送"},
    "stk_todo_count": {"en": "{n} count-vs-ledger difference(s) (sheet 'discrepancies'): find the unposted movement and post it, or accept the count with `shopops stock import-count`.",
                       "zh_CN": "盘点与台账不符 {n} 处（见 discrepancies 表）：查明未入账的出入库并补录，或用 `shopops stock import-count` 以盘点数为准。"},
    "stk_todo_oversell": {"en": "{n} listing(s) offer {units} unit(s) more than we can ship (oversell risk, sheet 'discrepancies'): lower them to the planned quantity in the back-office, or push the plan with `shopops stock sync --live`.",
                          "zh_CN": "{n} 个商品的平台可售数比可发货数多 {units} 件（超卖风险，见 discrepancies 表）：请在平台后台改为计划可售数，或用 `shopops stock sync --live` 推送库存。"},
    "stk_todo_undersell": {"en": "{n} listing(s) offer {units} unit(s) less than they could (undersell, sheet 'discrepancies'): raise them to the planned quantity, or push the plan with `shopops stock sync --live`.",
                           "zh_CN": "{n} 个商品的平台可售数比计划少 {units} 件（少卖，见 discrepancies 表）：请调高到计划可售数，或用 `shopops stock sync --live` 推送库存。"},
    # per record: what it means and what to do, fitting its kind (issue 17 #9)
    "stk_advice_unrecorded_shipment": {
        "en": "Counted {count}, the ledger has {ledger}: {units} unit(s) left {warehouse} without a posted shipment or adjustment (unposted shipment, loss or damage). Find the movement and post it, or accept the count with `shopops stock import-count`.",
        "zh_CN": "盘点 {count}，台账 {ledger}：{warehouse} 有 {units} 件出库未入账（漏记发货、丢失或损坏）。查明后补录出库或调整，或用 `shopops stock import-count` 以盘点数为准。"},
    "stk_advice_unrecorded_receipt": {
        "en": "Counted {count}, the ledger has {ledger}: {units} unit(s) arrived in {warehouse} without a posted receipt (unposted receipt or customer return). Post the receipt, or accept the count with `shopops stock import-count`.",
        "zh_CN": "盘点 {count}，台账 {ledger}：{warehouse} 有 {units} 件入库未入账（漏记收货或退货入库）。补录收货，或用 `shopops stock import-count` 以盘点数为准。"},
    "stk_advice_oversell_risk_stale": {
        "en": "{shop} {item} offers {listing}, {units} more than the {planned} it may sell: it still shows our last push of {last} and the stock has gone down since. Lower it to {planned} in the back-office or push the plan (`shopops stock sync --live`), before it sells stock we cannot ship.",
        "zh_CN": "{shop} 商品 {item} 平台可售 {listing}，比可分配的 {planned} 多 {units} 件：仍是我们上次推送的 {last}，此后可用库存已减少。请在平台后台改为 {planned} 或推送库存（`shopops stock sync --live`），以免超卖发不出货。"},
    "stk_advice_oversell_risk_never_pushed": {
        "en": "{shop} {item} offers {listing}, {units} more than the {planned} it may sell: we never pushed this listing. Lower it to {planned} in the back-office or push the plan (`shopops stock sync --live`), before it sells stock we cannot ship.",
        "zh_CN": "{shop} 商品 {item} 平台可售 {listing}，比可分配的 {planned} 多 {units} 件：该商品的库存从未由我们推送。请在平台后台改为 {planned} 或推送库存（`shopops stock sync --live`），以免超卖发不出货。"},
    "stk_advice_oversell_risk_edited": {
        "en": "{shop} {item} offers {listing}, {units} more than the {planned} it may sell: someone changed it on the marketplace after our push of {last}. Ask who and why, then set it back to {planned} (`shopops stock sync --live --overwrite-edited`), before it sells stock we cannot ship.",
        "zh_CN": "{shop} 商品 {item} 平台可售 {listing}，比可分配的 {planned} 多 {units} 件：在我们上次推送 {last} 之后有人在平台后台修改过。请先确认修改人和原因，再改回 {planned}（`shopops stock sync --live --overwrite-edited`），以免超卖发不出货。"},
    "stk_advice_undersell_stale": {
        "en": "{shop} {item} offers {listing}, {units} fewer than the {planned} it may sell: it still shows our last push of {last} and the stock has grown since. Raise it to {planned} or push the plan (`shopops stock sync --live`): sales are being lost.",
        "zh_CN": "{shop} 商品 {item} 平台可售 {listing}，比可分配的 {planned} 少 {units} 件：仍是我们上次推送的 {last}，此后可用库存已增加。请调高到 {planned} 或推送库存（`shopops stock sync --live`），以免少卖。"},
    "stk_advice_undersell_never_pushed": {
        "en": "{shop} {item} offers {listing}, {units} fewer than the {planned} it may sell: we never pushed this listing. Raise it to {planned} or push the plan (`shopops stock sync --live`): sales are being lost.",
        "zh_CN": "{shop} 商品 {item} 平台可售 {listing}，比可分配的 {planned} 少 {units} 件：该商品的库存从未由我们推送。请调高到 {planned} 或推送库存（`shopops stock sync --live`），以免少卖。"},
    "stk_advice_undersell_edited": {
        "en": "{shop} {item} offers {listing}, {units} fewer than the {planned} it may sell: someone lowered it on the marketplace after our push of {last}. If that was not on purpose (stock held back for a campaign, say), set it back to {planned} (`shopops stock sync --live --overwrite-edited`).",
        "zh_CN": "{shop} 商品 {item} 平台可售 {listing}，比可分配的 {planned} 少 {units} 件：在我们上次推送 {last} 之后有人在平台后台调低过。若非有意（如为活动预留库存），请改回 {planned}（`shopops stock sync --live --overwrite-edited`），以免少卖。"},
    "stk_kind": {"en": "kind", "zh_CN": "类型"},
    "stk_sku": {"en": "SKU", "zh_CN": "SKU"},
    "stk_warehouse": {"en": "warehouse", "zh_CN": "仓库"},
    "stk_shop_id": {"en": "shop", "zh_CN": "店铺"},
    "stk_marketplace_item_id": {"en": "item id", "zh_CN": "商品ID"},
    "stk_marketplace_sku_id": {"en": "variant id", "zh_CN": "规格ID"},
    "stk_warehouse_count": {"en": "warehouse count", "zh_CN": "盘点数"},
    "stk_ledger_qty": {"en": "ledger", "zh_CN": "台账数"},
    "stk_listing_qty": {"en": "listing shows", "zh_CN": "平台可售数"},
    "stk_planned_qty": {"en": "planned", "zh_CN": "计划可售数"},
    "stk_difference": {"en": "difference", "zh_CN": "差异"},
    "stk_kind_count_vs_ledger": {"en": "count≠ledger", "zh_CN": "盘点≠台账"},
    "stk_kind_oversell_risk": {"en": "oversell", "zh_CN": "超卖风险"},
    "stk_kind_undersell": {"en": "undersell", "zh_CN": "少卖"},
    "stk_open_count": {"en": "{n} open discrepancy record(s). Resolve one you dealt with: `shopops stock resolve ID --by NAME --note TEXT`.",
                       "zh_CN": "未处理的库存差异 {n} 条。处理完后关闭：`shopops stock resolve 编号 --by 姓名 --note 说明`。"},
    "stk_resolved": {"en": "{n} discrepancy record(s) resolved (kept for the audit, with who, when and why).",
                     "zh_CN": "已关闭库存差异 {n} 条（记录保留，含处理人、时间和说明）。"},

    "stk_suggested_cause": {"en": "possible cause and what to do", "zh_CN": "可能原因与处理建议"},
    "stk_listings": {"en": "listings", "zh_CN": "商品数"},
    "stk_read_status": {"en": "read", "zh_CN": "读取状态"},
    "stk_oversell_listings": {"en": "oversell-risk listings", "zh_CN": "超卖风险商品数"},
    "stk_oversell_units": {"en": "oversell-risk units", "zh_CN": "超卖风险件数"},
    "stk_undersell_listings": {"en": "undersold listings", "zh_CN": "少卖商品数"},
    "stk_undersell_units": {"en": "undersold units", "zh_CN": "少卖件数"},
    "stk_read_errors": {"en": "read errors", "zh_CN": "读取错误"},
    "stk_available": {"en": "available", "zh_CN": "可用"},
    "stk_allocation_share": {"en": "share", "zh_CN": "分配比例"},
    "stk_buffer": {"en": "buffer", "zh_CN": "预留"},
    "stk_last_pushed_qty": {"en": "last pushed", "zh_CN": "上次推送"},
    "stk_marketplace_qty": {"en": "listing shows", "zh_CN": "平台可售数"},
    "stk_edited_since_push": {"en": "edited on marketplace", "zh_CN": "平台上被修改"},
    "stk_action": {"en": "action", "zh_CN": "动作"},
    "stk_on_hand": {"en": "on hand", "zh_CN": "在库"},
    "stk_reserved": {"en": "reserved", "zh_CN": "已占用"},
    "stk_in_transit": {"en": "in transit", "zh_CN": "在途"},
    "stk_next_expected_at": {"en": "next arrival", "zh_CN": "最近到货"},
    "stk_import_done": {"en": "{file}: {lines} counted rows imported as stocktake(s) {ids}; {posted} ledger rows posted.",
                       "zh_CN": "{file}：已导入 {lines} 行盘点（盘点单 {ids}），台账新增 {posted} 行。"},
    # the files a department keeps (issue 23 #9): catalogue, purchase orders, receipts, templates
    "in_refused": {"en": "{file}: {n} problem(s); nothing was stored:",
                   "zh_CN": "{file}：有 {n} 处问题，未导入任何内容："},
    "in_fix_and_retry": {"en": "Correct the named rows (row numbers as Excel shows them) and import the file again.",
                         "zh_CN": "请按上面列出的行号（与 Excel 行号一致）修改后重新导入。"},
    # why a file, a row or a cell is refused (issue 23 #9): keys of domain/input_files.py (its English is
    # REASONS there, kept equal by tests/unit/test_input_files.py), domain/settlement_inputs.py and the loaders
    "in_at_file": {"en": "{file}: {reason}", "zh_CN": "{file}：{reason}"},
    "in_at_row": {"en": "{file}: row {row}: {reason}", "zh_CN": "{file}：第 {row} 行：{reason}"},
    "in_at_cell": {"en": "{file}: row {row}, column {column}: {reason}",
                   "zh_CN": "{file}：第 {row} 行“{column}”列：{reason}"},
    "in_file_problems": {"en": "The file has {n} problem(s):", "zh_CN": "文件有 {n} 处问题："},
    "in_file_fix": {"en": "Correct the named rows and load the file again; nothing was stored.",
                    "zh_CN": "请修改上面列出的行后重新导入；本次未保存任何内容。"},
    "in_empty": {"en": "is empty", "zh_CN": "为空"},
    "in_not_number": {"en": "{value!r} is not a number", "zh_CN": "{value!r} 不是数字"},
    "in_decimal_comma": {"en": "{value!r} is ambiguous: a comma is a thousands separator only between groups of three "
                               "digits (1,200.00); write a decimal point for decimals (12.00)",
                         "zh_CN": "{value!r} 有歧义：逗号只能作千位分隔符，且每组三位（1,200.00）；小数请用小数点（12.00）"},
    "in_scientific": {"en": "{value!r} is ambiguous: scientific notation (Excel's way of showing a long number); write "
                            "the number in full, or format the cells as text",
                      "zh_CN": "{value!r} 有歧义：这是科学计数法（Excel 显示长数字的方式）；请写出完整数字，或把单元格设为文本格式"},
    "in_not_count": {"en": "{value!r} is not a whole number of 0 or more", "zh_CN": "{value!r} 不是大于等于 0 的整数"},
    "in_not_positive_count": {"en": "{value!r} must be 1 or more", "zh_CN": "{value!r} 必须大于等于 1"},
    "in_money_cents": {"en": "{value!r} has more than 2 decimals (yuan with at most 2 decimals)",
                       "zh_CN": "{value!r} 超过 2 位小数（金额以元为单位，最多 2 位小数）"},
    "in_money_negative": {"en": "{value} must be 0 or more", "zh_CN": "{value} 不能为负数"},
    "in_money_not_above_zero": {"en": "{value} must be above 0", "zh_CN": "{value} 必须大于 0"},
    "in_not_date": {"en": "{value!r} is not a date written YYYY-MM-DD (or YYYY/MM/DD)",
                    "zh_CN": "{value!r} 不是日期，请写成 YYYY-MM-DD（或 YYYY/MM/DD）"},
    "in_date_not_month": {"en": "{value} is a date, expected a month as YYYY-MM",
                          "zh_CN": "{value} 是一个日期，这里应填月份 YYYY-MM"},
    "in_not_month": {"en": "{value!r} is not a month written YYYY-MM (e.g. 2026-10)",
                     "zh_CN": "{value!r} 不是月份，请写成 YYYY-MM（如 2026-10）"},
    "in_not_one_of": {"en": "{value!r} is not one of {known}", "zh_CN": "{value!r} 不在可选值中：{known}"},
    "in_not_rate": {"en": "{value!r} is not a rate between 0 and 1 (or 0 % and 100 %)",
                    "zh_CN": "{value!r} 不是 0 到 1（或 0% 到 100%）之间的比率"},
    "in_no_column": {"en": "no column {name!r} ({chinese}) in the header",
                     "zh_CN": "表头中没有“{chinese}”列（英文表头 {name}）"},
    "in_unreadable": {"en": "cannot read the file ({error})", "zh_CN": "无法读取文件（{error}）"},
    "in_file_type": {"en": "unsupported file type '{suffix}'; use .csv or .xlsx",
                     "zh_CN": "不支持的文件类型 '{suffix}'；请使用 .csv 或 .xlsx"},
    "in_file_empty": {"en": "the file is empty (expected a header row)", "zh_CN": "文件为空（第一行应为表头）"},
    "in_extra_fields": {"en": "{fields} fields, the header has {header}; check the commas of that row",
                        "zh_CN": "该行有 {fields} 个字段，表头只有 {header} 个；请检查该行的逗号"},
    "in_not_workbook": {"en": "not a readable Excel workbook ({error}); open it in Excel and save it again as .xlsx, "
                              "or export it as .csv",
                        "zh_CN": "不是可读取的 Excel 工作簿（{error}）；请用 Excel 打开后另存为 .xlsx，或导出为 .csv"},
    "in_many_sheets": {"en": "the workbook has {n} sheets with data ({sheets}); only one is read: put every row on one "
                             "sheet, or save each sheet as its own file",
                       "zh_CN": "工作簿有 {n} 个工作表含数据（{sheets}），只会读取一个：请把所有行放在同一个工作表，或把每个工作表另存为单独的文件"},
    "in_not_text": {"en": "not text in UTF-8 or GBK (byte 0x{byte:02x} at position {at}); save the file as CSV UTF-8",
                    "zh_CN": "不是 UTF-8 或 GBK 编码的文本（位置 {at} 的字节 0x{byte:02x}）；请另存为“CSV UTF-8”"},
    "in_duplicate": {"en": "the same {what} ({value}) as row {row}", "zh_CN": "{what}（{value}）与第 {row} 行重复"},
    "in_no_rows": {"en": "has a header but no rows", "zh_CN": "只有表头，没有数据行"},
    "in_none_yet": {"en": "none yet", "zh_CN": "暂无"},
    "in_unknown_supplier": {"en": "'{supplier}' is not a supplier of config/suppliers.yaml (known: {known}); add it "
                                  "there first",
                            "zh_CN": "'{supplier}' 不是 config/suppliers.yaml 中的供应商（已有：{known}）；请先在该文件中添加"},
    "in_unknown_currency": {"en": "'{currency}' is not a known currency (rules.yaml orders.known_currencies)",
                            "zh_CN": "'{currency}' 不是已知币种（见 rules.yaml orders.known_currencies）"},
    "in_unknown_warehouse": {"en": "'{warehouse}' is not a known warehouse (known: {known})",
                             "zh_CN": "'{warehouse}' 不是已知仓库（已有：{known}）"},
    "in_sku_not_in_catalogue": {"en": "'{sku}' is not in the catalogue; import it first (shopops catalogue import)",
                                "zh_CN": "'{sku}' 不在商品档案中；请先导入商品档案（shopops catalogue import）"},
    "in_cat_problems": {"en": "The catalogue file {file} has {n} problem(s):", "zh_CN": "商品档案文件 {file} 有 {n} 处问题："},
    "in_po_problems": {"en": "The purchase-order file {file} has {n} problem(s):",
                       "zh_CN": "采购单文件 {file} 有 {n} 处问题："},
    "in_po_header_differs": {"en": "PO {po} has {value} in row {row}: every line of an order carries the same supplier, "
                                   "warehouse and dates",
                             "zh_CN": "采购单 {po} 在第 {row} 行填的是 {value}：同一采购单的每一行供应商、仓库和日期必须相同"},
    "in_po_expected_before": {"en": "{expected} is before the order date {ordered}",
                              "zh_CN": "{expected} 早于下单日期 {ordered}"},
    "in_po_stored_other_lines": {"en": "PO {po} is already stored with other lines ({lines}); give a new order its own "
                                       "number",
                                 "zh_CN": "采购单 {po} 已按其他明细导入（{lines}）；新的采购请使用新的单号"},
    "in_rc_problems": {"en": "The receipt file {file} has {n} problem(s):", "zh_CN": "到货文件 {file} 有 {n} 处问题："},
    "in_rc_unknown_po": {"en": "PO '{po}' is not in the warehouse; import it first (shopops po import)",
                         "zh_CN": "采购单 '{po}' 不在数据仓库中；请先导入采购单（shopops po import）"},
    "in_rc_sku_not_on_po": {"en": "'{sku}' is not on PO {po} (its lines: {lines})",
                            "zh_CN": "'{sku}' 不在采购单 {po} 中（该单的商品：{lines}）"},
    "in_rc_future": {"en": "{day} is in the future", "zh_CN": "{day} 是将来的日期"},
    "in_rc_same_receipt": {"en": "the same PO, SKU and receipt number as row {row}: give each delivery its own receipt "
                                 "number (入库单号), or add the two rows up",
                           "zh_CN": "与第 {row} 行的采购单、商品编码和入库单号相同：每次到货请填写各自的入库单号，或把两行合并"},
    "in_rc_same_day": {"en": "the same PO, SKU and day as row {row}: give each delivery its own receipt number (入库单号), "
                             "or add the two rows up",
                       "zh_CN": "与第 {row} 行的采购单、商品编码和到货日期相同：每次到货请填写各自的入库单号，或把两行合并"},
    "in_rc_po_closed": {"en": "PO {po} is {status}: nothing more can be received on it",
                        "zh_CN": "采购单 {po} 状态为{status}：不能再收货"},
    "in_po_status_received": {"en": "received", "zh_CN": "已全部到货"},
    "in_po_status_cancelled": {"en": "cancelled", "zh_CN": "已取消"},
    "in_rc_over_receipt": {"en": "{qty} received, but PO {po} still owes {owed} of {sku} (ordered {ordered}, received "
                                 "{before} before): receive at most that, and order the rest on a new PO",
                           "zh_CN": "到货 {qty}，但采购单 {po} 的 {sku} 只剩 {owed} 未到（采购 {ordered}，此前已到 {before}）："
                                    "最多收这么多，其余请另开采购单"},
    "in_rc_over_receipt_earlier": {"en": "{qty} received, but PO {po} still owes {owed} of {sku} (ordered {ordered}, "
                                         "received {before} before, and in earlier rows of this file): receive at "
                                         "most that, and order the rest on a new PO",
                                   "zh_CN": "到货 {qty}，但采购单 {po} 的 {sku} 只剩 {owed} 未到（采购 {ordered}，此前已到 "
                                            "{before}，本文件前面的行也已收货）：最多收这么多，其余请另开采购单"},
    "in_cnt_twice": {"en": "'{sku}' in {warehouse} is counted twice (row {row} too); keep one row per SKU and warehouse",
                     "zh_CN": "'{sku}' 在 {warehouse} 盘点了两次（第 {row} 行也有）；每个 SKU 和仓库只保留一行"},
    "in_cnt_bad_time": {"en": "'{value}' is not an ISO 8601 time with an offset, e.g. 2026-11-23T08:00:00+08:00",
                        "zh_CN": "'{value}' 不是带时区的 ISO 8601 时间，例如 2026-11-23T08:00:00+08:00"},
    "in_cnt_no_offset": {"en": "column {column}: give the offset (e.g. +08:00); a time without one is ambiguous",
                         "zh_CN": "“{column}”列：请写明时区（如 +08:00）；不带时区的时间有歧义"},
    "in_cnt_mixed_times": {"en": "column {column}: every row must carry the same time (one count, one moment)",
                           "zh_CN": "“{column}”列：每一行的时间必须相同（一次盘点对应一个时刻）"},
    "in_cnt_future": {"en": "'{value}' is in the future; a count is true at the moment it was taken: fix the time (and "
                            "its offset) or the clock of the system that wrote the file",
                      "zh_CN": "'{value}' 是将来的时间；盘点数只在盘点那一刻成立：请改正时间（及时区），或生成该文件的系统的时钟"},
    "in_cnt_unknown_sku": {"en": "'{sku}' is not in the catalogue; check the SKU (typo, old code), or add it to the "
                                 "catalogue first",
                           "zh_CN": "'{sku}' 不在商品档案中；请检查商品编码（笔误、旧编码），或先把它加入商品档案"},
    "in_cnt_unknown_warehouse": {"en": "'{warehouse}' is not a known warehouse (known: {known}); check the code, or set "
                                       "it as a SKU's default_warehouse in the catalogue first",
                                 "zh_CN": "'{warehouse}' 不是已知仓库（已有：{known}）；请检查仓库编码，或先在商品档案中把它设为某个 SKU 的默认仓库"},
    "in_fi_refused": {"en": "the back-office export was not imported: {problems}. Correct the export (or the shop's "
                            "column mapping) and pull again.",
                      "zh_CN": "后台导出文件未导入：{problems}。请修正导出文件（或该店铺的列映射）后重新拉取。"},
    "in_fi_missing_columns": {"en": "column(s) {columns} of the mapping are missing; the header has: {header}",
                              "zh_CN": "表头中缺少列映射里的列 {columns}；表头实际为：{header}"},
    "in_fi_not_whole": {"en": "{value!r} is not a whole number", "zh_CN": "{value!r} 不是整数"},
    "in_fi_status_unmapped": {"en": "{value!r} is not in status_map ({known}); add it to the mapping",
                              "zh_CN": "{value!r} 不在 status_map 中（已有：{known}）；请把它加入列映射"},
    "in_fi_not_time": {"en": "{value!r} is not a time ({format})", "zh_CN": "{value!r} 不是时间（应为 {format}）"},
    "in_st_problems": {"en": "The settlement input files have {n} problem(s):", "zh_CN": "结算输入文件有 {n} 处问题："},
    "in_st_no_folder": {"en": "the inputs folder does not exist; create it with {files} (or .xlsx)",
                        "zh_CN": "输入文件夹不存在；请创建它并放入 {files}（或 .xlsx）"},
    "in_st_missing_file": {"en": "missing in {folder} (expected {name}.csv or {name}.xlsx)",
                           "zh_CN": "{folder} 中缺少该文件（应为 {name}.csv 或 {name}.xlsx）"},
    "in_st_both_files": {"en": "both {name}.csv and {name}.xlsx are in {folder}; keep only the one that is right",
                         "zh_CN": "{folder} 中同时有 {name}.csv 和 {name}.xlsx；请只保留正确的那个"},
    "in_st_negative": {"en": "{value!r} is negative", "zh_CN": "{value!r} 是负数"},
    "in_st_left_before_joined": {"en": "left {left} is before joined {joined}",
                                 "zh_CN": "离职日期 {left} 早于入职日期 {joined}"},
    "in_st_manager_shops": {"en": "a manager's revenue is every shop's: leave shops empty",
                            "zh_CN": "经理的业绩是所有店铺的业绩：负责店铺请留空"},
    "in_st_operations_no_shops": {"en": "operations staff need the shops they run (shops, separated by ;)",
                                  "zh_CN": "运营人员须填写负责的店铺（负责店铺列，用 ; 分隔）"},
    "in_st_shares_not_operations": {"en": "shares split a shop between operations staff; leave them empty for this "
                                          "role",
                                    "zh_CN": "分成比例用于在运营人员之间分配店铺；该岗位请留空"},
    "in_st_shares_count": {"en": "{shares} share(s) for {shops} shop(s); give one share per shop",
                           "zh_CN": "{shares} 个分成比例对应 {shops} 个店铺；每个店铺填一个比例"},
    "in_st_share_range": {"en": "{value} for shop {shop} is not above 0 and at most 1",
                          "zh_CN": "店铺 {shop} 的比例 {value} 应大于 0 且不超过 1"},
    "in_st_shares_partial": {"en": "shop {shop}: shares are given for some of its operations staff but not in row(s) "
                                   "{rows}; give them for all or for none (equal split)",
                             "zh_CN": "店铺 {shop}：部分运营人员填了分成比例，第 {rows} 行没有填；请全部填写或全部留空（平均分配）"},
    "in_st_shares_sum": {"en": "shop {shop}: shares on {day} sum to {total} ({parts}), must sum to 1",
                         "zh_CN": "店铺 {shop}：{day} 的分成比例合计为 {total}（{parts}），合计必须为 1"},
    "in_st_not_dsr": {"en": "{value!r} is not a rating between 0 and {top}", "zh_CN": "{value!r} 不是 0 到 {top} 之间的评分"},
    "in_st_not_on_roster": {"en": "person {person} is not on the staff roster", "zh_CN": "人员 {person} 不在人员名单中"},
    "in_st_cs_not_on_roster": {"en": "person {person} is not on the staff roster, not customer_service",
                               "zh_CN": "人员 {person} 不在人员名单中，不是客服"},
    "in_st_cs_other_role": {"en": "person {person} is on the roster as {role}, not customer_service",
                            "zh_CN": "人员 {person} 在人员名单中的岗位是 {role}，不是客服"},
    "cat_import_done": {"en": "{file}: {added} SKU(s) added, {updated} updated.",
                        "zh_CN": "{file}：新增 {added} 个 SKU，更新 {updated} 个。"},
    "po_import_done": {"en": "{file}: {orders} purchase order(s) with {lines} line(s) stored; {unchanged} were "
                             "already stored as they are.",
                       "zh_CN": "{file}：已导入 {orders} 张采购单（{lines} 行）；{unchanged} 张此前已导入且未变。"},
    "po_receive_done": {"en": "{file}: {lines} receipt line(s) posted, {units} unit(s) added to stock on hand; "
                              "fully received: {done}.",
                        "zh_CN": "{file}：已入库 {lines} 行，共 {units} 件计入现有库存；已全部到货的采购单：{done}。"},
    "po_receive_already": {"en": "{n} row(s) had been posted before and were skipped (a second delivery on the same "
                                 "day needs its own receipt number).",
                           "zh_CN": "{n} 行此前已入库，已跳过（同一天的第二次到货请填写各自的入库单号）。"},
    "tpl_written": {"en": "{n} templates written to {folder} (headings in {language}, one example row each: "
                          "replace it with your rows):",
                    "zh_CN": "已在 {folder} 写入 {n} 个模板（{language} 表头，各含一行示例：请替换为实际数据）："},
    "tpl_loaded_by": {"en": "load with: {command}", "zh_CN": "导入：{command}"},
    "tpl_roster": {"en": "Staff roster", "zh_CN": "人员名单"},
    "tpl_targets": {"en": "Monthly targets", "zh_CN": "月度目标"},
    "tpl_expenses": {"en": "Monthly expenses", "zh_CN": "月度费用"},
    "tpl_cs_stats": {"en": "Customer-service stats", "zh_CN": "客服数据"},
    "tpl_shop_channels": {"en": "Shop channels", "zh_CN": "店铺渠道"},
    "tpl_shop_stats": {"en": "Shop stats", "zh_CN": "店铺数据"},
    "tpl_count": {"en": "Warehouse count", "zh_CN": "盘点表"},
    "tpl_catalogue": {"en": "SKU catalogue", "zh_CN": "商品档案"},
    "tpl_purchase_orders": {"en": "Purchase orders", "zh_CN": "采购单"},
    "tpl_po_receipts": {"en": "Purchase receipts", "zh_CN": "采购到货"},
    # restock-alerts (§3)
    "rs_title": {"en": "Restock alerts {day}", "zh_CN": "补货提醒 {day}"},
    "rs_summary": {"en": "{critical} critical, {warning} warning, {overstock} overstock; {sent} sent, {held_back} held back by the cooldown; {events} critical notifications.",
                   "zh_CN": "紧急 {critical}，预警 {warning}，滞销 {overstock}；发送 {sent}，冷却期内未重复发送 {held_back}；紧急通知 {events} 条。"},
    "rs_other_currencies": {"en": "Revenue in {currencies} is not in the ABC ranking (no exchange rates; ranked by {base} revenue); their units count as demand.",
                            "zh_CN": "{currencies} 收入未计入 ABC 分类（无汇率，按 {base} 收入排名）；其销量计入需求。"},
    "rs_critical_message": {"en": "Restock now: {sku} {name} covers {cover} days, less than the {lead}-day lead time; order {qty} from {supplier}.",
                            "zh_CN": "紧急补货：{sku} {name} 仅够 {cover} 天，少于 {lead} 天的采购周期；建议向 {supplier} 订购 {qty} 件。"},
    "rs_sku": {"en": "SKU", "zh_CN": "SKU"},
    "rs_name": {"en": "name", "zh_CN": "品名"},
    "rs_supplier": {"en": "supplier", "zh_CN": "供应商"},
    "rs_level": {"en": "level", "zh_CN": "级别"},
    "rs_abc_class": {"en": "ABC", "zh_CN": "ABC 分类"},
    "rs_revenue_share_before": {"en": "revenue share above", "zh_CN": "排名在前的收入占比"},
    "rs_z": {"en": "z", "zh_CN": "z"},
    "rs_daily_demand": {"en": "daily demand d", "zh_CN": "日均需求 d"},
    "rs_demand_sigma": {"en": "σ", "zh_CN": "标准差 σ"},
    "rs_demand_method": {"en": "d and σ from", "zh_CN": "d 与 σ 的算法"},
    "rs_demand_term": {"en": "Daily demand d and σ (§3): {term} (rules.yaml restock.demand_method).",
                       "zh_CN": "日均需求 d 与 σ（§3）：{term}（rules.yaml restock.demand_method）。"},
    "rs_method_mean": {"en": "mean of {days} days", "zh_CN": "{days} 天均值"},
    "rs_method_median": {"en": "median of {days} days", "zh_CN": "{days} 天中位数"},
    "rs_method_trimmed_mean": {"en": "mean of {days} days without the {k} highest and {k} lowest",
                               "zh_CN": "{days} 天截尾均值（去掉最高、最低各 {k} 天）"},
    "rs_method_winsorised": {"en": "mean of {days} days, the highest {share} of selling days (at least 1) "
                                   "clipped to the next highest",
                             "zh_CN": "{days} 天缩尾均值（销量最高的 {share} 个有销售日，至少 1 天，按次高值计）"},
    "rs_sigma_std": {"en": "standard deviation", "zh_CN": "标准差"},
    "rs_sigma_mad": {"en": "1.4826 × median absolute deviation", "zh_CN": "1.4826 × 中位数绝对偏差"},
    "rs_lead_time_days": {"en": "lead time L", "zh_CN": "采购周期 L"},
    "rs_lead_time_source": {"en": "L from", "zh_CN": "L 来源"},
    "rs_review_days": {"en": "review days R", "zh_CN": "盘点周期 R"},
    "rs_safety_stock": {"en": "safety stock SS", "zh_CN": "安全库存 SS"},
    "rs_reorder_point": {"en": "reorder point ROP", "zh_CN": "再订货点 ROP"},
    "rs_order_up_to": {"en": "order-up-to S", "zh_CN": "目标库存 S"},
    "rs_available": {"en": "available", "zh_CN": "可用"},
    "rs_in_transit": {"en": "in transit", "zh_CN": "在途"},
    "rs_position": {"en": "position", "zh_CN": "库存位置"},
    "rs_cover_days": {"en": "days of cover", "zh_CN": "可售天数"},
    "rs_case_pack": {"en": "case pack", "zh_CN": "箱规"},
    "rs_moq": {"en": "MOQ", "zh_CN": "起订量"},
    "rs_raw_qty": {"en": "S − position", "zh_CN": "S − 库存位置"},
    "rs_suggested_qty": {"en": "suggested qty", "zh_CN": "建议采购量"},
    "rs_reason": {"en": "reason", "zh_CN": "原因"},
    "rs_send": {"en": "sent", "zh_CN": "已发送"},
    "rs_send_reason": {"en": "sent / held back because", "zh_CN": "发送/未发送原因"},
    "rs_last_level": {"en": "last level sent", "zh_CN": "上次发送级别"},
    "rs_last_sent_at": {"en": "last sent", "zh_CN": "上次发送时间"},
    # the reason of a suggestion and of its sending, in words (domain/restock.py builds them as Text)
    "rs_reason_stock": {"en": "{available} available + {in_transit} in transit", "zh_CN": "可用 {available} + 在途 {in_transit}"},
    "rs_reason_no_sales": {"en": "no sales", "zh_CN": "无销量"},
    "rs_reason_cover": {"en": "{days} days of cover", "zh_CN": "可售 {days} 天"},
    "rs_reason_overstock": {"en": "overstock: {stock}, {cover} at {demand}/day, above {limit} days",
                            "zh_CN": "滞销：{stock}，按每天 {demand} 件{cover}，超过 {limit} 天"},
    "rs_reason_critical": {"en": "covers {days} days, less than the {lead}-day lead time",
                           "zh_CN": "仅够 {days} 天，少于 {lead} 天的采购周期"},
    "rs_reason_warning": {"en": "at or below the reorder point {rop}", "zh_CN": "不高于再订货点 {rop}"},
    "rs_reason_order": {"en": "{level}: {stock} {why}; order {qty} (S {s} − {position} = {raw}, whole cases of {pack}, "
                              "MOQ {moq})",
                        "zh_CN": "{level}：{stock}，{why}；建议采购 {qty} 件（S {s} − {position} = {raw}，按整箱 {pack} 件，"
                                 "起订量 {moq}）"},
    "rs_send_first": {"en": "first alert for this SKU", "zh_CN": "该 SKU 首次提醒"},
    "rs_send_cooled": {"en": "cooldown over: last alert ({last}) at {at}", "zh_CN": "冷却期已过：上次提醒（{last}）于 {at}"},
    "rs_send_worse": {"en": "worse than the last alert: {last} → {level}", "zh_CN": "比上次提醒更严重：{last} → {level}"},
    "rs_send_held": {"en": "held back: {last} already sent at {at}, within the cooldown",
                     "zh_CN": "未发送：{at} 已发过{last}提醒，仍在冷却期内"},
    "rs_log_webhook_failed": {"en": "restock webhook failed: {error}", "zh_CN": "补货提醒 Webhook 发送失败：{error}"},
}


def reason(key: str, **values: object):
    """A refusal of the tasks layer (``domain.input_files.Reason``): its key and values, its
    English from this catalogue; shown in the person's language by :func:`translator`."""
    from domain.input_files import Reason

    return Reason(key, MESSAGES[key]["en"], **values)


def translator(locale: str | None = None):
    """``translate(key, **values)`` in ``locale`` (default: the configured one), for
    ``domain.input_files`` reasons and problems (``render``)."""
    if locale is None:
        from config.settings import get_settings

        locale = get_settings().locale
    return lambda key, **values: t(key, locale, **values)


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


# --- the values of the product's codes, for a person (issue 23 #2) ---------------------------
#: kind → code → (en, zh_CN). The database keeps the English codes; every report and CLI table
#: shows them through :func:`label`. Kinds whose words already have keys elsewhere in this file
#: (hold reasons, discrepancy kinds, settlement statuses, watchdog findings) point there in
#: ``_LABEL_PREFIXES``.
_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "order_status": {"pending_payment": ("pending payment", "待付款"), "paid": ("paid", "已付款"),
                     "presale_deposit_paid": ("presale, deposit paid", "预售已付定金"),
                     "shipped": ("shipped", "已发货"), "completed": ("completed", "已完成"),
                     "cancelled": ("cancelled", "已取消"), "refunding": ("refunding", "退款中"),
                     "refunded": ("refunded", "已退款")},
    "platform": {"taobao": ("Taobao/Tmall", "淘宝/天猫"), "jd": ("JD", "京东"), "pdd": ("Pinduoduo", "拼多多"),
                 "douyin": ("Douyin", "抖音"), "shopify": ("Shopify", "Shopify"), "amazon": ("Amazon", "亚马逊"),
                 "file": ("file import", "文件导入")},
    "pull_status": {"ok": ("ok", "成功"), "incomplete": ("incomplete", "不完整"), "skipped": ("skipped", "已跳过"),
                    "failed": ("failed", "失败")},
    "batch_status": {"created": ("created", "已创建"), "picked": ("picked", "已拣货"), "packed": ("packed", "已打包"),
                     "handed_over": ("handed over", "已交接"), "cancelled": ("cancelled", "已取消")},
    "batch_action": {"picked": ("picked", "拣货完成"), "packed": ("packed", "打包完成"),
                     "handover": ("handover", "交接")},
    "batch_kind": {"single": ("single item", "单件"), "multi": ("multi item", "多件")},
    "batch_order_status": {"in_batch": ("in batch", "在波次中"), "pulled_out": ("pulled out", "已撤出"),
                           "shipped": ("shipped", "已发货")},
    "read_status": {"ok": ("read", "已读取"), "partial": ("partly read", "部分读取"), "failed": ("failed", "读取失败"),
                    "skipped": ("skipped", "已跳过"), "not_read": ("not read", "未读取")},
    "push_action": {"push": ("push", "推送"), "unchanged": ("unchanged", "无需改动"),
                    "report_edited": ("edited on the marketplace: reported", "平台端被改动（仅报告）")},
    "push_outcome": {"dry_run": ("dry run", "试运行"), "confirmed": ("confirmed", "已确认"),
                     "mismatch": ("read back different", "回读不一致"), "failed": ("failed", "失败")},
    "lead_time_source": {"sku": ("the SKU", "商品档案"), "supplier": ("the supplier", "供应商"),
                         "default": ("the default", "默认值")},
    "campaign_status": {"defined": ("defined", "已定义"), "prepared": ("prepared", "已准备"),
                        "running": ("running", "进行中"), "closed": ("closed", "已结束")},
    "campaign_phase": {"prepare": ("prepare", "活动准备"), "start": ("start", "活动开始"), "report": ("report", "实时报表"),
                       "close": ("close", "活动结束")},
    "rule_severity": {"error": ("error", "错误"), "warning": ("warning", "提示")},
    "promotion_rule": {"price_above_list_share": ("price above 50 % of list", "活动价高于吊牌价一半"),
                       "price_not_below_history_low": ("price not below the 30-day low", "活动价不低于30天最低价"),
                       "no_price_history": ("no price history", "无价格记录"),
                       "coupon_not_multiple": ("coupon not a whole multiple", "优惠券非整数倍"),
                       "coupon_above_max": ("coupon above the maximum", "优惠券超过上限"),
                       "coupon_above_price_share": ("coupon above 20 % of price", "优惠券超过活动价20%"),
                       "other_discount_before": ("another discount before", "活动前有其他折扣")},
    "demand_source": {"expected_units": ("the campaign file", "活动文件"), "uplift": ("sales × uplift", "日常销量×提升系数"),
                      "gift_of_promoted": ("gift of a promoted item", "活动商品赠品")},
    "followup_problem": {"no_tracking": ("no tracking number", "无运单号"),
                         "not_delivered": ("shipped long ago, not delivered", "发货已久，仍未签收")},
    "yes_no": {"True": ("yes", "是"), "False": ("no", "否")},
}
#: the names of a run's counts (logs and CLI lines, :func:`count_line`)
_COUNTS = {
    "batches": ("batches", "波次"), "orders": ("orders", "订单"), "units": ("units", "件"), "held": ("held", "暂扣"),
    "pulled_out": ("pulled out", "撤出"), "near_deadline": ("near deadline", "临近时限"),
    "past_deadline": ("past deadline", "已超时"), "considered": ("considered", "处理"),
    "waiting_merge": ("waiting to merge", "等待合单"), "batches_new": ("new batches", "新波次"),
    "holds_new": ("new holds", "新暂扣"), "holds_kept": ("holds kept", "仍暂扣"),
    "holds_released": ("holds released", "解除暂扣"), "missing_gifts": ("gifts missing", "缺赠品"),
    "batch_id": ("batch", "波次"), "status": ("status", "状态"), "ledger_rows": ("ledger rows", "出库登记"),
    "confirmed": ("tracking written back", "已回传运单号"), "write_back_failed": ("write-backs failed", "回传失败"),
    "discrepancies": ("discrepancies", "差异"), "new_records": ("new records", "新记录"),
    "already_open": ("already open", "已有未处理"), "count_vs_ledger": ("count≠ledger", "盘点≠台账"),
    "oversell_risk": ("oversell risk", "超卖风险"), "undersell": ("undersell", "少卖"),
    "shops_failed": ("shops not read", "读取失败店铺"), "positions": ("positions", "库存位置"),
    "dry_run_pushes": ("dry-run pushes", "试运行推送"), "pushed_confirmed": ("pushed and confirmed", "推送已确认"),
    "pushed_mismatch": ("read back different", "回读不一致"), "push_failed": ("pushes failed", "推送失败"),
    "edited_on_marketplace": ("edited on marketplace", "平台端被改动"), "share_errors": ("share errors", "分配比例错误"),
    "critical": ("critical", "紧急"), "warning": ("warning", "预警"), "overstock": ("overstock", "滞销"),
    "sent": ("sent", "已发送"), "held_back": ("held back", "冷却未发"), "events": ("notifications", "通知"),
    "purchase_lines": ("purchase lines", "采购行"),
    "unshipped_from_yesterday": ("paid yesterday, not shipped", "昨日付款未发货"),
    "out_of_stock": ("out of stock", "缺货"), "deadline": ("near or past deadline", "临近或超过时限"),
    "abnormal_logistics": ("abnormal logistics", "物流异常"),
    "shop_stale": ("shops not pulled", "未拉单店铺"), "batch_past_cutoff": ("batches past cut-off", "超时波次"),
    "push_failing": ("pushes failing", "推送失败"), "approval_due": ("approvals due", "临期审批"),
    "run_stuck": ("runs stuck", "卡住的运行"), "shops": ("shops", "店铺"), "ok": ("ok", "成功"),
    "incomplete": ("incomplete", "不完整"), "skipped": ("skipped", "跳过"), "failed": ("failed", "失败"),
    "checked": ("checked", "已检查"), "released": ("released", "已解除"), "still_open": ("still open", "仍未解除"),
    "name": ("campaign", "活动"), "phase": ("phase", "阶段"), "dry_run": ("dry run", "试运行"),
    "status_before": ("status before", "之前状态"), "repeat": ("repeated", "重复运行"),
    "as_of": ("as of", "截至"),
    "price_errors": ("price errors", "价格错误"), "price_warnings": ("price warnings", "价格提示"),
    "open_discrepancies": ("open discrepancies", "未处理差异"), "listing_read_errors": ("listing read errors", "库存读取错误"),
    "shortfall_skus": ("SKUs short", "缺货SKU"), "shortfall_units": ("units short", "缺口件数"),
    "restock_alerts": ("restock alerts", "补货提醒"), "ready_to_start": ("ready to start", "可以开始"),
    "reconciliation_clean": ("reconciliation clean", "盘点一致"), "artifact": ("report", "报表"),
    "schedule_changes": ("schedule changes", "调度变更"), "listings_tightened": ("buffers tightened", "收紧缓冲"),
    "schedules_restored_exactly": ("schedules restored", "调度已恢复"), "buffers_restored": ("buffers restored", "缓冲已恢复"),
    "uplift_revenue": ("revenue × baseline", "销售额相对基线倍数"), "revenue_minor": ("revenue (fen)", "销售额（分）"),
    "oversold_skus": ("SKUs oversold", "超卖SKU"), "oversell_records": ("oversell records", "超卖记录"),
}
MESSAGES.update({f"cnt_{name}": {"en": en, "zh_CN": zh} for name, (en, zh) in _COUNTS.items()})
#: a quarantine reason's family (tasks/ingest.reason_family: particulars replaced by … and N) in words
_QUARANTINE_FAMILIES = {
    "order id is missing": "订单号缺失", "modified time is missing": "修改时间缺失",
    "order total is missing": "订单金额缺失", "order total is negative": "订单金额为负",
    "post fee is negative": "运费为负", "order discount is negative": "订单优惠为负",
    "currency is missing": "币种缺失", "unknown currency …": "未知币种", "status is missing": "状态缺失",
    "status … is not a canonical status": "平台状态无法识别", "paid time N is in the future": "付款时间晚于当前时间",
    "order has no lines": "订单没有商品行",
    "line totals N + post fee N + tax N - discount N differ from the order total N by N": "商品行合计与订单金额不符",
    "line totals N + post fee N + tax N − discount N differ from the order total N by N": "商品行合计与订单金额不符",
    "SKU is missing": "商品编码缺失", "SKU … is not in the catalogue": "商品编码不在商品档案中",
    "quantity is missing": "数量缺失", "quantity must be > N": "数量必须大于 0", "unit price is negative": "单价为负",
    "line total is negative": "行金额为负", "line id … appears more than once in the order": "订单内商品行编号重复",
}
MESSAGES.update({f"qfam_{family}": {"en": family, "zh_CN": zh} for family, zh in _QUARANTINE_FAMILIES.items()})
MESSAGES.update({
    "q_line": {"en": "line {n}: ", "zh_CN": "第 {n} 行："},
    "q_values": {"en": " ({values})", "zh_CN": "（{values}）"},
})
#: kinds whose words are existing keys: ``<prefix><code>``
_LABEL_PREFIXES = {"hold_reason": "ship_reason_", "discrepancy_kind": "stk_kind_", "settlement_status": "st_status_",
                   "watchdog_kind": "wd_kind_", "promotion_item_kind": "pr_kind_", "quarantine_reason": "qfam_",
                   "restock_level": "rs_level_"}
for _kind, _codes in _LABELS.items():
    MESSAGES.update({f"lbl_{_kind}_{code}": {"en": en, "zh_CN": zh} for code, (en, zh) in _codes.items()})


def label(kind: str, value: object, locale: str | None = None) -> object:
    """The code ``value`` of ``kind`` ("order_status", "paid") in the reader's language
    ("已付款"); a code without a label, and an empty value, are returned as they are."""
    if value is None or isinstance(value, float) and value != value:
        return value
    code = str(value.value if hasattr(value, "value") and not isinstance(value, str) else value)
    if isinstance(value, bool):
        code = str(value)
    key = f"{_LABEL_PREFIXES.get(kind, f'lbl_{kind}_')}{code}"
    return t(key, locale) if key in MESSAGES else value


def labelled(frame, locale: str | None = None, **kinds: str):
    """``frame`` with each column of ``kinds`` (column=kind) in words (:func:`label`); a cell
    holding a list of codes becomes the words joined."""
    out = frame.copy()
    for column, kind in kinds.items():
        if column in out.columns:
            out[column] = out[column].map(
                lambda v: "、".join(str(label(kind, x, locale)) for x in v) if isinstance(v, (list, tuple))
                else label(kind, v, locale))
    return out


def say(text: object, locale: str | None = None) -> str:
    """A :class:`domain.text.Text` in the reader's language (any other value as it is)."""
    key = getattr(text, "key", None)
    if key is None:
        return "" if text is None else str(text)
    values = {k: say(v, locale) if hasattr(v, "key") else v for k, v in text.values.items()}
    if key == "":
        return str(values.get("sep", "; ")).join(say(p, locale) for p in values.get("parts", []))
    return t(key, locale, **values) if key in MESSAGES else str(text)


def localise_schema(schema: dict, form: str, locale: str | None = None) -> dict:
    """A form's JSON schema (a Prefect run input or a flow's parameters) with each field's title
    and description in the reader's language: ``form_<form>_<field>`` and ``…_help`` (a field
    without them keeps its own). The schema is changed in place and returned."""
    for name, prop in (schema.get("properties") or {}).items():
        if f"form_{form}_{name}" in MESSAGES:
            prop["title"] = t(f"form_{form}_{name}", locale)
        if f"form_{form}_{name}_help" in MESSAGES:
            prop["description"] = t(f"form_{form}_{name}_help", locale)
    return schema


def count_line(counts: dict, locale: str | None = None) -> str:
    """A run's counts for a terminal line ("波次 3  订单 12 …"), each name in words (``cnt_<name>``)."""
    def value(v: object) -> object:
        return label("yes_no", v, locale) if isinstance(v, bool) else len(v) if isinstance(v, (list, tuple)) else v

    return "  ".join(f"{t('cnt_' + k, locale) if 'cnt_' + k in MESSAGES else k} {value(v)}" for k, v in counts.items())


# --- CLI help texts (issue 23 #2) ---------------------------------------------------------------
#: what `shopops --help`, `shopops <group> --help` and `shopops <group> <cmd> --help` say
#: (shopops/cli_help.py reads them when the CLI is imported). Click's own words ("Usage",
#: "Options", "Show this message and exit.") stay Click's.
MESSAGES.update({
    # typer's own words around the help (shopops/cli_help._TYPER_WORDS)
    "help_panel_arguments": {"en": "Arguments", "zh_CN": "参数"},
    "help_panel_options": {"en": "Options", "zh_CN": "选项"},
    "help_panel_commands": {"en": "Commands", "zh_CN": "命令"},
    "help_panel_error": {"en": "Error", "zh_CN": "错误"},
    "help_default": {"en": "[default: {}]", "zh_CN": "[默认：{}]"},
    "help_required": {"en": "[required]", "zh_CN": "[必填]"},
    "help_aborted": {"en": "Aborted.", "zh_CN": "已取消。"},
    "help_app": {"en": "shopops — the online-operations pipeline (订单、库存、补货、发货、结算、促销).",
                 "zh_CN": "shopops — 线上运营流水线（订单、库存、补货、发货、结算、促销）。"},
    # options and arguments several commands share
    "help_opt_shop_only": {"en": "Only this shop.", "zh_CN": "只看这个店铺。"},
    "help_opt_shop_id": {"en": "Shop id.", "zh_CN": "店铺 id。"},
    "help_opt_limit": {"en": "At most this many rows.", "zh_CN": "最多显示这么多行。"},
    "help_opt_batch_id": {"en": "The batch id (`shopops batch list`).", "zh_CN": "波次 id（见 `shopops batch list`）。"},
    "help_opt_month": {"en": "YYYY-MM.", "zh_CN": "月份，YYYY-MM。"},
    "help_opt_preset": {"en": "Preset (default: default_preset).", "zh_CN": "结算方案（默认：default_preset）。"},
    "help_opt_version_newest": {"en": "Version (default: the newest).", "zh_CN": "版本号（默认：最新版本）。"},
    "help_as_of": {"en": "Recompute a past day as if it were that day (YYYY-MM-DD, the shop's zone): only what "
                         "happened by its close counts; the report only, nothing is sent or stored.",
                   "zh_CN": "按当日重算过去的某一天（YYYY-MM-DD，店铺时区）：只计入当日结束前发生的数据；"
                            "只出报表，不发送、不保存任何内容。"},
    "help_campaign_name": {"en": "Campaign name, as in config/promotions/<name>.yaml (e.g. double11-2026); without it "
                                 "the known campaigns are listed.",
                           "zh_CN": "促销活动名称，即 config/promotions/<名称>.yaml 的文件名（例如 double11-2026）；"
                                    "不填则列出已有活动。"},
    "help_campaign_dry_run": {"en": "--dry-run (the default): compute and report only, change no state, schedule, "
                                    "buffer or alert. --live: run the phase for real.",
                              "zh_CN": "--dry-run（默认）：只计算并出报表，不改状态、调度、库存缓冲，也不发提醒。"
                                       "--live：真正执行该阶段。"},
    # config, db
    "help_config": {"en": "Configuration in config/.", "zh_CN": "config/ 中的配置。"},
    "help_config_check": {"en": "Validate shops.yaml, suppliers.yaml, rules.yaml and promotions/*.yaml.",
                          "zh_CN": "检查 shops.yaml、suppliers.yaml、rules.yaml 和 promotions/*.yaml。"},
    "help_config_check_dir": {"en": "Folder to check (default: config/).", "zh_CN": "要检查的目录（默认：config/）。"},
    "help_db": {"en": "Warehouse schema migrations.", "zh_CN": "数据仓库结构迁移。"},
    "help_db_upgrade": {"en": "Create or migrate the warehouse schema (SQLite file by default; SHOPOPS_DATABASE_URL).",
                        "zh_CN": "创建或升级数据仓库结构（默认 SQLite 文件；见 SHOPOPS_DATABASE_URL）。"},
    "help_db_upgrade_revision": {"en": "Target revision.", "zh_CN": "目标版本。"},
    "help_db_downgrade": {"en": "Undo migrations (`--revision base` removes every table).",
                          "zh_CN": "回退迁移（`--revision base` 删除全部数据表）。"},
    "help_db_downgrade_revision": {"en": "Target revision: -1 (one step) or base (empty).",
                                   "zh_CN": "目标版本：-1（回退一步）或 base（清空）。"},
    "help_db_current": {"en": "Print the warehouse's schema revision.", "zh_CN": "显示数据仓库的结构版本。"},
    "help_db_backup": {"en": "Back the warehouse up while it runs (SQLite online backup; PostgreSQL pg_dump).",
                       "zh_CN": "在线备份数据仓库，无需停机（SQLite 在线备份；PostgreSQL 用 pg_dump）。"},
    "help_db_backup_file": {"en": "Backup file (default: <data>/backups/warehouse-<UTC time>.sqlite or .dump).",
                            "zh_CN": "备份文件（默认：<data>/backups/warehouse-<UTC 时间>.sqlite 或 .dump）。"},
    "help_db_restore": {"en": "Replace the warehouse with a backup (stop the demo or the workers first).",
                        "zh_CN": "用备份替换数据仓库（请先停止演示或 worker）。"},
    "help_db_restore_file": {"en": "A file written by `shopops db backup`.", "zh_CN": "由 `shopops db backup` 写出的备份文件。"},
    "help_db_restore_yes": {"en": "Replace the warehouse without asking.", "zh_CN": "不再确认，直接替换数据仓库。"},
    # demo, version, templates, followup, leak-scan
    "help_demo": {"en": "Start the local stack: warehouse, Prefect server + UI, deployments, worker, first runs.",
                  "zh_CN": "启动本地环境：数据仓库、Prefect 服务和界面、部署、worker，以及首批运行。"},
    "help_demo_stop": {"en": "Stop a demo running from another terminal.", "zh_CN": "停止在另一个终端运行的演示。"},
    "help_version": {"en": "Print the shopops version.", "zh_CN": "显示 shopops 的版本号。"},
    "help_templates": {"en": "Write a ready .xlsx template of every file the product reads (roster, targets, expenses, "
                             "CS stats, shop channels and stats, catalogue, purchase orders, receipts, count).",
                       "zh_CN": "为系统读取的每种文件写出一份现成的 .xlsx 模板（花名册、目标、费用、客服统计、店铺渠道与统计、"
                                "商品档案、采购单、到货单、盘点）。"},
    "help_templates_folder": {"en": "Folder to write them to (default: <data>/templates).",
                              "zh_CN": "写入的目录（默认：<data>/templates）。"},
    "help_followup": {"en": "Run customer-service-followup now (the same flow as the 09:00 deployment), or for a "
                            "past day.",
                      "zh_CN": "立即运行客服跟进 customer-service-followup（与每天 09:00 的部署是同一个流程），或为过去某天重算。"},
    "help_leak_scan": {"en": "Look for app secrets, the PII hash key, the webhook token, buyer names, nicks and "
                             "e-mails, clear phones and street addresses in the data folder, Prefect's stored "
                             "logs/artifacts/runs and the warehouse (shopops/leakscan.py); exit 1 when anything is found.",
                       "zh_CN": "在数据目录、Prefect 保存的日志/产物/运行记录和数据仓库中查找应用密钥、PII 哈希密钥、"
                                "webhook 令牌、买家姓名/昵称/邮箱、明文手机号和详细地址（shopops/leakscan.py）；"
                                "发现任何一项则退出码为 1。"},
    "help_leak_scan_paths": {"en": "Files or folders to scan (default: the data folder's logs/ and reports/).",
                             "zh_CN": "要扫描的文件或目录（默认：数据目录下的 logs/ 和 reports/）。"},
    "help_leak_scan_prefect_api_url": {"en": "Prefect API whose logs, artifacts and runs are scanned "
                                             "(default: PREFECT_API_URL).",
                                       "zh_CN": "扫描其日志、产物和运行记录的 Prefect API（默认：PREFECT_API_URL）。"},
    "help_leak_scan_no_prefect": {"en": "Do not scan Prefect.", "zh_CN": "不扫描 Prefect。"},
    "help_leak_scan_database_url": {"en": "Warehouse to scan (default: SHOPOPS_DATABASE_URL / the SQLite file).",
                                    "zh_CN": "要扫描的数据仓库（默认：SHOPOPS_DATABASE_URL，或 SQLite 文件）。"},
    "help_leak_scan_secrets_file": {"en": "Credentials JSON whose app secrets and tokens are looked for (default: "
                                          "data/sandbox/credentials.json when it exists).",
                                    "zh_CN": "凭证 JSON 文件，查找其中的应用密钥和令牌（默认：data/sandbox/credentials.json，"
                                             "如存在）。"},
    "help_leak_scan_buyers_file": {"en": "Buyer names, nicks and e-mail addresses to look for, one a line (default: "
                                         "data/sandbox/buyers.txt when it exists).",
                                   "zh_CN": "要查找的买家姓名、昵称和邮箱，每行一个（默认：data/sandbox/buyers.txt，如存在）。"},
    # ingest, quarantine, notify
    "help_ingest": {"en": "Orders into the warehouse (订单抓取): `ingest [--shop S] [--since T] [--until T]` pulls; "
                          "`ingest audit --shop S --days N` checks the platform's counts per day; "
                          "`ingest rewind --shop S --to T --by NAME --reason TEXT` moves a watermark back.",
                    "zh_CN": "把订单抓取到数据仓库：`ingest [--shop S] [--since T] [--until T]` 抓单；"
                             "`ingest audit --shop S --days N` 按天核对平台的订单数；"
                             "`ingest rewind --shop S --to T --by NAME --reason TEXT` 回退水位线。"},
    "help_ingest_pull": {"en": "Pull orders now: the same flow as the scheduled pull-orders deployment.",
                         "zh_CN": "立即抓取订单：与定时的 pull-orders 部署是同一个流程。"},
    "help_ingest_pull_shop": {"en": "Shop id (repeatable); default: every enabled shop.",
                              "zh_CN": "店铺 id（可重复）；默认：所有启用的店铺。"},
    "help_ingest_pull_since": {"en": "Backfill from this time (ISO 8601; UTC if no offset).",
                               "zh_CN": "从这个时间开始补抓（ISO 8601；不带时区偏移则按 UTC）。"},
    "help_ingest_pull_until": {"en": "Backfill up to this time.", "zh_CN": "补抓到这个时间为止。"},
    "help_ingest_audit": {"en": "The platform's own order count per day against the warehouse's (orders by last "
                                "modification).",
                          "zh_CN": "按天对比平台自己的订单数与数据仓库的订单数（按订单最后修改时间计）。"},
    "help_ingest_audit_days": {"en": "Days back, today included (the shop's calendar).",
                               "zh_CN": "往回核对的天数，含今天（按店铺日历）。"},
    "help_ingest_audit_until": {"en": "Audit the days up to this time instead of now (ISO 8601; UTC if no offset).",
                                "zh_CN": "核对到这个时间为止的各天，而不是到现在（ISO 8601；不带时区偏移则按 UTC）。"},
    "help_ingest_rewind": {"en": "Move a shop's watermark back so the next pull reads again from there; who and why "
                                 "are recorded.",
                           "zh_CN": "回退店铺的水位线，下次抓单从该时间重新读取；记录操作人和原因。"},
    "help_ingest_rewind_to": {"en": "New watermark (ISO 8601; UTC if no offset).",
                              "zh_CN": "新的水位线（ISO 8601；不带时区偏移则按 UTC）。"},
    "help_ingest_rewind_by": {"en": "Who moves it (recorded).", "zh_CN": "操作人（会被记录）。"},
    "help_ingest_rewind_reason": {"en": "Why (recorded).", "zh_CN": "原因（会被记录）。"},
    "help_quarantine": {"en": "Orders held back by validation (隔离订单).", "zh_CN": "未通过校验而被隔离的订单。"},
    "help_quarantine_list": {"en": "Open quarantined orders with their reasons, oldest first.",
                             "zh_CN": "未处理的隔离订单及原因，最早的在前。"},
    "help_quarantine_recheck": {"en": "Validate open quarantined orders again; release (and store) the ones that now pass.",
                                "zh_CN": "重新校验未处理的隔离订单；放行（并入库）现在能通过的订单。"},
    "help_notify": {"en": "Notifications to the team's webhook.", "zh_CN": "发往团队 webhook 的通知。"},
    "help_notify_setup": {"en": "Register the webhook and the automations (failed/crashed runs, quarantine spikes, "
                                "critical restock) on the team's Prefect server (SHOPOPS_PREFECT_API_URL / "
                                "PREFECT_API_URL).",
                          "zh_CN": "在团队的 Prefect 服务（SHOPOPS_PREFECT_API_URL / PREFECT_API_URL）上注册 webhook "
                                   "和自动化规则（运行失败/崩溃、隔离订单激增、紧急补货）。"},
    "help_notify_setup_url": {"en": "Webhook URL (default: SHOPOPS_WEBHOOK_URL).",
                              "zh_CN": "webhook 地址（默认：SHOPOPS_WEBHOOK_URL）。"},
    # stock, catalogue, purchase orders
    "help_stock": {"en": "Stock: warehouse counts, reconciliation, marketplace sync, restock (盘点、账实相符、库存同步、补货).",
                   "zh_CN": "库存：盘点、账实相符、库存同步、补货。"},
    "help_stock_import_count": {"en": "Accept a warehouse count: a stocktake per warehouse and a ledger row per SKU that "
                                      "sets its on-hand from the count's moment. Importing the same file again changes "
                                      "nothing.",
                                "zh_CN": "导入仓库盘点：每个仓库一次盘点，每个 SKU 一条库存流水，从盘点时刻起按盘点数设定在库量。"
                                         "重复导入同一文件不会改变任何数据。"},
    "help_stock_import_count_file": {"en": "Count file (.csv/.xlsx): sku, warehouse, counted_qty [, counted_at] "
                                           "(or 商品编码, 仓库, 盘点数量, 盘点时间).",
                                     "zh_CN": "盘点文件（.csv/.xlsx）：商品编码、仓库、盘点数量[、盘点时间]"
                                              "（或 sku、warehouse、counted_qty[、counted_at]）。"},
    "help_stock_reconcile": {"en": "Run reconcile-stock now (the same flow as the hourly deployment; it pushes only as "
                                   "rules.yaml stock.push_enabled / push_dry_run say).",
                             "zh_CN": "立即运行库存核对 reconcile-stock（与每小时的部署是同一个流程；是否推送库存按 "
                                      "rules.yaml 的 stock.push_enabled / push_dry_run）。"},
    "help_stock_reconcile_count_file": {"en": "Warehouse count to compare with the ledger (.csv/.xlsx).",
                                        "zh_CN": "与库存台账对比的仓库盘点文件（.csv/.xlsx）。"},
    "help_stock_reconcile_read_listings": {"en": "Read listing stock from the marketplaces first.",
                                           "zh_CN": "先从各平台读取商品的在售库存。"},
    "help_stock_sync": {"en": "Read every listing, then push the plan floor(available × share) − buffer: a dry run by "
                              "default; --live pushes through each marketplace's API and reads every listing back.",
                        "zh_CN": "读取所有在售商品，再推送计划库存 floor(可用量 × 分配比例) − 缓冲：默认只演练；"
                                 "--live 通过各平台接口真正推送，并逐个回读核对。"},
    "help_stock_sync_live": {"en": "Really push (needs rules.yaml stock.push_enabled: true); without it a dry run logs "
                                   "the pushes and writes nothing.",
                             "zh_CN": "真正推送（需要 rules.yaml 中 stock.push_enabled: true）；不加此项则只演练："
                                      "记录将要推送的内容，不写入任何平台。"},
    "help_stock_sync_overwrite_edited": {"en": "Also overwrite listings edited on the marketplace since our last push "
                                               "(normally reported and left alone).",
                                         "zh_CN": "也覆盖上次推送后在平台端被改动过的商品（默认只报告、不覆盖）。"},
    "help_stock_discrepancies": {"en": "Open stock discrepancies (oldest first): id, kind, SKU, warehouse, shop, the "
                                       "numbers and the advice.",
                                 "zh_CN": "未处理的库存差异（最早的在前）：id、类型、SKU、仓库、店铺、数量及处理建议。"},
    "help_stock_resolve": {"en": "Close open discrepancies a person dealt with (the record stays, with who, when and why).",
                           "zh_CN": "关闭已由人工处理的库存差异（记录保留，并记下处理人、时间和原因）。"},
    "help_stock_resolve_ids": {"en": "Discrepancy ids (`shopops stock discrepancies`).",
                               "zh_CN": "库存差异 id（见 `shopops stock discrepancies`）。"},
    "help_stock_resolve_sku": {"en": "Every open discrepancy of this SKU (repeatable).",
                               "zh_CN": "该 SKU 的全部未处理差异（可重复）。"},
    "help_stock_resolve_by": {"en": "Who resolved it (recorded).", "zh_CN": "处理人（会被记录）。"},
    "help_stock_resolve_note": {"en": "What was done or found (recorded).", "zh_CN": "做了什么或发现了什么（会被记录）。"},
    "help_stock_restock": {"en": "Run restock-alerts now (the same flow as the daily deployment), or for a past day; "
                                 "the run shows in the team's Prefect UI.",
                           "zh_CN": "立即运行补货提醒 restock-alerts（与每天的部署是同一个流程），或为过去某天重算；"
                                    "运行记录显示在团队的 Prefect 界面中。"},
    "help_restock_alias": {"en": "Alias of `shopops stock restock`.", "zh_CN": "`shopops stock restock` 的别名。"},
    "help_catalogue": {"en": "The SKU catalogue (商品档案): SKU, name, colour/size, supplier, cost, case pack, MOQ, bin.",
                       "zh_CN": "商品档案：SKU、名称、颜色/尺码、供应商、成本、箱规、起订量、库位。"},
    "help_catalogue_import": {"en": "Add or update SKUs from the catalogue file, all rows or none; blank cells get the "
                                    "supplier's or rules.yaml's defaults.",
                              "zh_CN": "从商品档案文件新增或更新 SKU，要么全部导入，要么一行不导入；空单元格取供应商或 "
                                       "rules.yaml 中的默认值。"},
    "help_catalogue_import_file": {"en": "Catalogue file (.xlsx/.csv; `shopops templates` writes one).",
                                   "zh_CN": "商品档案文件（.xlsx/.csv；可用 `shopops templates` 生成模板）。"},
    "help_po": {"en": "Purchase orders (采购单) and their deliveries (到货入库) into the stock ledger.",
                "zh_CN": "采购单及其到货入库，记入库存台账。"},
    "help_po_import": {"en": "Store new purchase orders (open): what they still owe is in transit for restock.",
                       "zh_CN": "保存新的采购单（未完结）：尚未到货的数量在补货计算中计为在途。"},
    "help_po_import_file": {"en": "Purchase-order file (.xlsx/.csv), one row per PO line.",
                            "zh_CN": "采购单文件（.xlsx/.csv），每个采购单明细一行。"},
    "help_po_receive": {"en": "Post deliveries: stock on hand goes up, the PO's open quantity down; an over-receipt or an "
                              "unknown PO or SKU refuses the whole file.",
                        "zh_CN": "登记到货：在库量增加，采购单未到数量减少；超量到货、未知的采购单或 SKU 会使整个文件被拒收。"},
    "help_po_receive_file": {"en": "Receipt file (.xlsx/.csv), one row per delivered PO line.",
                             "zh_CN": "到货文件（.xlsx/.csv），每个到货的采购单明细一行。"},
    # promotions
    "help_promo": {"en": "Promotion campaigns (双11, 618, 双12): prepare, start, report, close. A dry run unless --live.",
                   "zh_CN": "促销活动（双11、618、双12）：准备、开始、报表、结束。除非加 --live，否则只演练。"},
    "help_promo_prepare": {"en": "Price and coupon rules vs the 30-day history, reconciliation of the promoted SKUs, "
                                 "readiness by the preparation date (shortfalls to restock).",
                           "zh_CN": "对照近 30 天历史检查价格和优惠券规则，核对参加活动的 SKU 库存，"
                                    "检查备货截止日前的准备情况（缺口转入补货）。"},
    "help_promo_start": {"en": "Campaign mode: promoted shops pulled every minute and the live report every 15 minutes "
                               "during the window (Prefect schedules on the team's server), buffers tightened.",
                         "zh_CN": "进入活动模式：活动期间参加活动的店铺每分钟抓单、每 15 分钟出实时报表"
                                  "（团队 Prefect 服务上的调度），库存缓冲收紧。"},
    "help_promo_report": {"en": "Live report: orders, revenue, units, stock cover, oversell, orders near their deadline.",
                          "zh_CN": "实时报表：订单、销售额、件数、库存可售天数、超卖、临近发货时限的订单。"},
    "help_promo_close": {"en": "Normal cadence back (schedules exactly as before), buffers restored, after-action "
                               "report (.xlsx).",
                         "zh_CN": "恢复日常节奏（调度与活动前完全一致），恢复库存缓冲，生成活动复盘报表（.xlsx）。"},
    # shipping batches
    "help_batch": {"en": "Shipping batches (发货波次): run, list, move a batch, release a hold.",
                   "zh_CN": "发货波次：生成、列出、推进波次、解除暂扣。"},
    "help_batch_run": {"en": "Run shipping-batches now (the same flow as the 09:00 / 14:00 / 17:30 deployment), or "
                             "recompute a past day's plan (nothing written).",
                       "zh_CN": "立即运行发货波次 shipping-batches（与 09:00 / 14:00 / 17:30 的部署是同一个流程），"
                                "或重算过去某天的计划（不写入任何数据）。"},
    "help_batch_run_max_orders": {"en": "Largest batch for this run (default: rules.yaml).",
                                  "zh_CN": "本次运行每个波次的最大订单数（默认：rules.yaml）。"},
    "help_batch_list": {"en": "Batches still in the warehouse (created, picked, packed), newest first.",
                        "zh_CN": "仍在仓库中的波次（已生成、已拣货、已打包），最新的在前。"},
    "help_batch_list_all": {"en": "Also handed-over and cancelled batches.", "zh_CN": "同时列出已交接和已取消的波次。"},
    "help_batch_picked": {"en": "Picking of the batch is done.", "zh_CN": "该波次已拣货完成。"},
    "help_batch_packed": {"en": "The batch's parcels are packed and labelled.", "zh_CN": "该波次的包裹已打包并贴好面单。"},
    "help_batch_handover": {"en": "The carrier collected the parcels: outbound to the stock ledger, tracking numbers to "
                                  "the marketplaces, orders shipped. Again on a handed-over batch: retries refused "
                                  "write-backs.",
                            "zh_CN": "快递已揽收包裹：出库记入库存台账，运单号回传各平台，订单标记为已发货。"
                                     "对已交接的波次再次执行：重试被拒绝的回传。"},
    "help_batch_release_hold": {"en": "A person dealt with a held order (read its remark, fixed the address …): the next "
                                      "run considers it again; a remark it holds is then taken as read.",
                                "zh_CN": "人工已处理被暂扣的订单（已读备注、已改地址……）：下次运行重新考虑该订单，"
                                         "其备注视为已读。"},
    "help_batch_release_hold_order": {"en": "The held order's id.", "zh_CN": "被暂扣订单的 id。"},
    "help_batch_release_hold_shop": {"en": "Its shop id (config/shops.yaml).", "zh_CN": "其店铺 id（config/shops.yaml）。"},
    "help_batch_release_hold_by": {"en": "Who dealt with it (kept with the hold).", "zh_CN": "处理人（与暂扣记录一起保存）。"},
    # monthly settlement
    "help_settle": {"en": "Monthly KPI and commission settlement (绩效考核、提成): `settle [MONTH] [--preset P] "
                          "[--dry-run]`, `settle approve|correct MONTH --by NAME`, `settle show MONTH [--version V]`, "
                          "`settle diff MONTH V1 V2`.",
                    "zh_CN": "月度绩效考核与提成结算：`settle [MONTH] [--preset P] [--dry-run]`、"
                             "`settle approve|correct MONTH --by NAME`、`settle show MONTH [--version V]`、"
                             "`settle diff MONTH V1 V2`。"},
    "help_settle_run": {"en": "Settle a month (the monthly-settlement flow); `shopops settle MONTH` is the same. Without "
                              "--dry-run the version then awaits approval: `shopops settle approve MONTH --by NAME` or "
                              "`shopops settle correct MONTH --by NAME --note …` decides it.",
                        "zh_CN": "结算一个月（monthly-settlement 流程）；`shopops settle MONTH` 与之相同。不加 --dry-run 时，"
                                 "该版本随后等待审批：用 `shopops settle approve MONTH --by NAME` 或 "
                                 "`shopops settle correct MONTH --by NAME --note …` 作出决定。"},
    "help_settle_run_month": {"en": "YYYY-MM (default: the previous month, Asia/Shanghai).",
                              "zh_CN": "月份，YYYY-MM（默认：上个月，按 Asia/Shanghai）。"},
    "help_settle_run_preset": {"en": "Preset of config/rules.yaml (default: default_preset).",
                               "zh_CN": "config/rules.yaml 中的结算方案（默认：default_preset）。"},
    "help_settle_run_dry_run": {"en": "Compute, store a draft and publish the statement; ask nobody.",
                                "zh_CN": "计算、保存草稿并发布结算单；不发起审批。"},
    "help_settle_run_inputs_dir": {"en": "Folder with the input files (default: data/settlement/<month>/).",
                                   "zh_CN": "输入文件所在目录（默认：data/settlement/<月份>/）。"},
    "help_settle_run_correct_final": {"en": "Make a new version of a month whose settlement is already final (it needs "
                                            "its own approval).",
                                      "zh_CN": "为结算已确认的月份生成新版本（新版本需要重新审批）。"},
    "help_settle_run_allow_no_orders": {"en": "Settle a month in which the warehouse has no order (refused otherwise: "
                                              "usually the pull did not run).",
                                        "zh_CN": "允许结算数据仓库中没有订单的月份（否则拒绝：通常是抓单没有运行）。"},
    "help_settle_approve": {"en": "Approve the settlement version awaiting approval: it becomes final. The suspended "
                                  "monthly-settlement run that asked is resumed with the same answer.",
                            "zh_CN": "批准待审批的结算版本，使其成为最终版本。发起审批而暂停的 monthly-settlement "
                                     "运行会以同一决定继续。"},
    "help_settle_approve_by": {"en": "Who approves (required, stored with the decision).",
                               "zh_CN": "审批人（必填，与审批决定一起保存）。"},
    "help_settle_approve_note": {"en": "A remark stored with the approval.", "zh_CN": "与审批一起保存的备注。"},
    "help_settle_correct": {"en": "Request a correction of the settlement version awaiting approval (it is not paid); "
                                  "correct the input files and settle the month again.",
                            "zh_CN": "要求更正待审批的结算版本（不予发放）；改正输入文件后重新结算该月。"},
    "help_settle_correct_by": {"en": "Who decides (required, stored with the decision).",
                               "zh_CN": "决定人（必填，与决定一起保存）。"},
    "help_settle_correct_note": {"en": "What must be corrected (required).", "zh_CN": "需要更正的内容（必填）。"},
    "help_settle_show": {"en": "A stored settlement version: status, inputs hash, each person's figures, the store KPIs.",
                         "zh_CN": "查看已保存的结算版本：状态、输入文件哈希、每人的各项数字、店铺 KPI。"},
    "help_settle_show_version": {"en": "Version number (default: the newest).", "zh_CN": "版本号（默认：最新版本）。"},
    "help_settle_diff": {"en": "What changed between two versions: each input row and each person's figure that differs.",
                         "zh_CN": "两个版本之间的变化：每一行不同的输入和每人不同的数字。"},
    "help_settle_diff_v1": {"en": "The earlier version.", "zh_CN": "较早的版本。"},
    "help_settle_diff_v2": {"en": "The later version.", "zh_CN": "较晚的版本。"},
})


# --- monthly settlement (flows/settlement.py, tasks/settlement.py) -------------------------
MESSAGES.update({
    "st_title": {"en": "Monthly settlement {month} ({preset}), version {version}: {status}",
                 "zh_CN": "{month} 月度结算（{preset}）第 {version} 版：{status}"},
    "st_status_draft": {"en": "draft", "zh_CN": "草稿"},
    "st_status_awaiting_approval": {"en": "awaiting approval", "zh_CN": "待审批"},
    "st_status_correction_requested": {"en": "correction requested", "zh_CN": "要求更正"},
    "st_status_final": {"en": "final", "zh_CN": "已确认"},
    "st_status_superseded": {"en": "superseded", "zh_CN": "已被取代"},
    "st_summary": {"en": "Month **{month}**, preset **{preset}**, version **{version}** ({status}); inputs SHA-256 `{sha}`.",
                   "zh_CN": "月份 **{month}**，方案 **{preset}**，第 **{version}** 版（{status}）；输入 SHA-256 `{sha}`。"},
    "st_totals": {"en": "{people} people; commission total **{total}** yuan.",
                  "zh_CN": "{people} 人；提成合计 **{total}** 元。"},
    "st_new_version": {"en": "A new version was stored.", "zh_CN": "已保存新版本。"},
    "st_log_version": {"en": "settlement {month} ({preset}): version {version}, {status}. {stored}",
                       "zh_CN": "{month} 结算（{preset}）：第 {version} 版，{status}。{stored}"},
    "st_same_inputs": {"en": "Same inputs as version {version} ({status}): no new version was stored.",
                       "zh_CN": "输入与第 {version} 版（{status}）相同：未保存新版本。"},
    "st_already_final": {"en": "Version {version} with these inputs is already final (approved {at} by {by}); nothing to do.",
                         "zh_CN": "相同输入的第 {version} 版已确认（{at} 由 {by} 审批），无需处理。"},
    "st_for_review": {"en": "For review", "zh_CN": "需复核"},
    "st_other_currency": {"en": "Not settled (sales in another currency than CNY): {items}.",
                          "zh_CN": "未计入结算（非人民币销售）：{items}。"},
    "st_units_without_cost": {"en": "{n} units sold have no unit cost in the catalogue: cost of goods is understated and gross profit overstated — add the unit costs and settle again.",
                              "zh_CN": "有 {n} 件已售商品在商品资料中没有单位成本：商品成本偏低、毛利偏高——请补充成本后重新结算。"},
    "st_dry_run": {"en": "Dry run: the version stays a draft and nobody is asked to approve it.",
                   "zh_CN": "试算：该版本保持草稿，不发起审批。"},
    "st_awaiting": {"en": "Waiting for a decision until {deadline} (Asia/Shanghai): in the Prefect UI open this run (Suspended), press Resume and fill in the form; or `shopops settle approve {month} --by NAME` / `shopops settle correct {month} --by NAME --note …`. The wait holds no process: a restart does not lose it.",
                    "zh_CN": "等待审批，截止 {deadline}（北京时间）：在 Prefect 界面打开本运行（Suspended），点击 Resume 并填写表单；或在终端执行 `shopops settle approve {month} --by 姓名` / `shopops settle correct {month} --by 姓名 --note …`。等待不占用进程，重启不会丢失。"},
    "st_decide_on_terminal": {"en": "Settlement {month} version {version} awaits approval (this run has no deployment, so it does not wait itself): decide with `shopops settle approve {month} --by NAME` or `shopops settle correct {month} --by NAME --note …`.",
                              "zh_CN": "{month} 结算第 {version} 版待审批（本运行不属于任何部署，不在运行中等待）：请执行 `shopops settle approve {month} --by 姓名` 或 `shopops settle correct {month} --by 姓名 --note …`。"},
    "st_no_server_no_approval": {"en": "Settlement {month} was not run: the approval cannot be asked without the Prefect server. {why}",
                                 "zh_CN": "{month} 结算未运行：没有 Prefect 服务器就无法发起审批。{why}"},
    "st_no_server_awaiting": {"en": "Version {version} ({preset}) stays awaiting approval: decide it with `shopops settle approve {month} --by NAME` or `shopops settle correct {month} --by NAME --note …` (these need only the warehouse).",
                              "zh_CN": "第 {version} 版（{preset}）仍待审批：请执行 `shopops settle approve {month} --by 姓名` 或 `shopops settle correct {month} --by 姓名 --note …` 决定（只需数据仓库）。"},
    "st_not_resumed_no_server": {"en": "no Prefect server answers at {url}", "zh_CN": "{url} 没有 Prefect 服务器应答"},
    "st_reviewer_required": {"en": "Say who decides: --by NAME (the reviewer is stored with the decision).",
                             "zh_CN": "请写明审批人：--by 姓名（审批人会与决定一起保存）。"},
    "st_note_required": {"en": "A correction needs a note saying what is wrong: --note TEXT.",
                         "zh_CN": "要求更正时必须在备注中写明问题：--note 文本。"},
    "st_not_awaiting": {"en": "Settlement {month} ({preset}) version {version} is {status}, not awaiting approval: nothing to decide. `shopops settle show {month}` shows it; `shopops settle {month}` asks again for a version in correction.",
                        "zh_CN": "{month}（{preset}）结算第 {version} 版状态为{status}，不是待审批：无需决定。`shopops settle show {month}` 可查看；更正中的版本请运行 `shopops settle {month}` 重新发起审批。"},
    "st_decided_resumed": {"en": "The run that asked ({run}) was resumed: it records the same decision and completes.",
                           "zh_CN": "发起审批的运行（{run}）已恢复：它会记录同一决定并结束。"},
    "st_decided_not_resumed": {"en": "The decision is stored. The run that asked ({run}) could not be resumed ({error}); it stays Suspended until its deadline and then fails — the decision stands.",
                               "zh_CN": "决定已保存。发起审批的运行（{run}）无法恢复（{error}）；它将保持 Suspended 直到截止时间后失败——决定依然有效。"},
    "st_previous_note": {"en": "Earlier note on this version: {note}", "zh_CN": "该版本此前的备注：{note}"},
    "st_form": {"en": "**Settlement {month}, version {version}** ({preset}): {people} people, commission total {total} yuan. Statement: {file} (artifact `{artifact}`). Approve it, or request a correction and say in the note what is wrong.",
                "zh_CN": "**{month} 结算第 {version} 版**（{preset}）：{people} 人，提成合计 {total} 元。结算表：{file}（工件 `{artifact}`）。请批准，或要求更正并在备注中写明问题。"},
    # the approval form's fields (flows/settlement.py ApprovalForm)
    "form_approval_decision": {"en": "Decision", "zh_CN": "审批决定"},
    "form_approval_decision_help": {"en": "approve: the settlement becomes final. request_correction: it is not paid; say "
                                          "why in the note.",
                                    "zh_CN": "approve（批准）：结算生效；request_correction（要求更正）：暂不发放，请在备注中写明原因。"},
    "form_approval_note": {"en": "Note", "zh_CN": "备注"},
    "form_approval_note_help": {"en": "What must be corrected (or a remark on the approval).",
                                "zh_CN": "需要更正的内容（或对批准的说明）。"},
    "form_approval_reviewer": {"en": "Reviewer", "zh_CN": "审批人"},
    "form_approval_reviewer_help": {"en": "Your name (required): stored with the decision.",
                                    "zh_CN": "您的姓名（必填）：与审批决定一起保存。"},
    "st_approved": {"en": "Settlement {month} version {version} is final (approved by {by}).",
                    "zh_CN": "{month} 结算第 {version} 版已确认（审批人 {by}）。"},
    "st_correction": {"en": "Correction requested for settlement {month} version {version}: {note}. Correct the input files and run monthly-settlement for {month} again.",
                      "zh_CN": "{month} 结算第 {version} 版被要求更正：{note}。请更正输入文件后重新运行 {month} 的 monthly-settlement。"},
    "st_person_id": {"en": "person id", "zh_CN": "工号"},
    "st_name": {"en": "name", "zh_CN": "姓名"},
    "st_role": {"en": "role", "zh_CN": "岗位"},
    "st_role_manager": {"en": "operations manager", "zh_CN": "电商部经理"},
    "st_role_operations": {"en": "shop operations", "zh_CN": "运营"},
    "st_role_customer_service": {"en": "customer service", "zh_CN": "客服"},
    "st_revenue": {"en": "revenue (yuan)", "zh_CN": "销售额（元）"},
    "st_component": {"en": "component", "zh_CN": "考核项"},
    "st_component_target": {"en": "target achievement", "zh_CN": "目标达成率"},
    "st_component_own_shops_target": {"en": "flagship and C-store target achievement", "zh_CN": "自营旗舰店及C店目标达成率"},
    "st_component_distribution_target": {"en": "distribution-shop target achievement", "zh_CN": "分销专营店目标达成率"},
    "st_component_profitability": {"en": "profitability", "zh_CN": "盈利能力"},
    "st_component_gross_margin": {"en": "gross margin", "zh_CN": "毛利率"},
    "st_coefficient": {"en": "coefficient", "zh_CN": "考核系数"},
    "st_commission": {"en": "commission (yuan)", "zh_CN": "提成（元）"},
    "st_annual_coefficient": {"en": "annual coefficient", "zh_CN": "年度系数"},
    "st_annual_bonus": {"en": "annual bonus (yuan)", "zh_CN": "年终奖（元）"},
    "st_flags": {"en": "flags", "zh_CN": "提示"},
    "st_flag_low_coefficient": {"en": "coefficient below {threshold} for {run} consecutive months ({first} to {month}): "
                                      "for review",
                                "zh_CN": "考核系数连续 {run} 个月低于 {threshold}（{first} 至 {month}）：需复核"},
    "st_flag_negative_commission": {"en": "refunds exceed sales: commission {amount} yuan (a deduction) — check before "
                                          "approving",
                                    "zh_CN": "退款超过销售额：提成 {amount} 元（扣减）——审批前请核对"},
    "st_flag_left": {"en": "left on {left}: no pay for {month}", "zh_CN": "已于 {left} 离职：{month} 不计提成"},
    "st_actual": {"en": "actual (yuan)", "zh_CN": "实际（元）"},
    "st_target": {"en": "target (yuan)", "zh_CN": "目标（元）"},
    "st_measure": {"en": "measure", "zh_CN": "比值"},
    "st_score": {"en": "score", "zh_CN": "得分"},
    "st_weight": {"en": "weight", "zh_CN": "权重"},
    "st_basis": {"en": "measured on", "zh_CN": "计算口径"},
    "st_basis_attributed_cost": {"en": "attributed sales less attributed cost (customer-service stats)",
                                 "zh_CN": "询单转化销售额减询单转化销售成本（客服数据）"},
    "st_basis_shop_margin": {"en": "attributed sales at the gross margin of the shops served (the customer-service "
                                   "stats give no attributed cost)",
                             "zh_CN": "询单转化销售额按所服务店铺的毛利率计算（客服数据未提供询单转化销售成本）"},
    "st_basis_profitability": {"en": "target ratio {ratio}: Σ shop expenses × shop ratio / Σ expenses",
                               "zh_CN": "目标比 {ratio}：Σ 店铺费用 × 店铺目标比 / Σ 费用"},
    "st_note_margin_basis": {"en": "{person} {name}: gross margin measured on {basis}.",
                             "zh_CN": "{person} {name}：毛利率口径为{basis}。"},
    "st_note_profitability": {"en": "Profitability target ratio per shop: {ratios}; a person's target gross profit is "
                                    "the sum over their shops of expenses × the shop's ratio (the ratios weighted by "
                                    "expenses).",
                              "zh_CN": "各店铺利润率目标比：{ratios}；个人的目标毛利为其各店铺费用 × 该店铺目标比之和"
                                       "（按费用加权）。"},
    "st_note_default_ratio": {"en": "{ratio} for every shop", "zh_CN": "所有店铺均为 {ratio}"},
    "st_note_ratio_overrides": {"en": "{ratio} by default, {overrides}", "zh_CN": "默认 {ratio}，{overrides}"},
    "st_shop": {"en": "shop", "zh_CN": "店铺"},
    "st_channel": {"en": "channel", "zh_CN": "渠道"},
    "st_channel_own": {"en": "own (flagship / C-store)", "zh_CN": "自营"},
    "st_channel_distribution": {"en": "distribution", "zh_CN": "分销"},
    "st_placed": {"en": "placed (yuan)", "zh_CN": "下单金额（元）"},
    "st_refunded": {"en": "refunded (yuan)", "zh_CN": "退款（元）"},
    "st_late_refunded": {"en": "late refunds, clawback (yuan)", "zh_CN": "跨月退款（追回，元）"},
    "st_cost_of_goods": {"en": "cost of goods (yuan)", "zh_CN": "商品成本（元）"},
    "st_gross_profit": {"en": "gross profit (yuan)", "zh_CN": "毛利（元）"},
    "st_expenses": {"en": "expenses (yuan)", "zh_CN": "费用（元）"},
    "st_orders": {"en": "orders", "zh_CN": "订单数"},
    "st_aov": {"en": "average order value (yuan)", "zh_CN": "客单价（元）"},
    "st_refund_rate": {"en": "refund rate", "zh_CN": "退款率"},
    "st_repeat_purchase_rate": {"en": "repeat-purchase rate", "zh_CN": "复购率"},
    "st_on_time_shipment_share": {"en": "shipped within deadline", "zh_CN": "按时发货率"},
    "st_gross_margin": {"en": "gross margin", "zh_CN": "毛利率"},
    "st_roi": {"en": "ROI (gross profit / marketing)", "zh_CN": "ROI（毛利/推广费）"},
    "st_oversell_count": {"en": "oversold orders", "zh_CN": "超卖单数"},
    "st_visitors": {"en": "visitors", "zh_CN": "访客数"},
    "st_conversion_rate": {"en": "conversion rate", "zh_CN": "转化率"},
    "st_new_buyers": {"en": "new buyers", "zh_CN": "新客数"},
    "st_new_customer_cost": {"en": "new-customer cost (yuan)", "zh_CN": "新客成本（元）"},
    "st_dsr": {"en": "DSR", "zh_CN": "DSR评分"},
    "st_conversations": {"en": "conversations", "zh_CN": "接待人数"},
    "st_avg_response_s": {"en": "average response (s)", "zh_CN": "平均响应时间（秒）"},
    "st_cs_conversion_rate": {"en": "inquiry conversion", "zh_CN": "询单转化率"},
    "st_attributed_sales": {"en": "attributed sales (yuan)", "zh_CN": "询单转化销售额（元）"},
    "st_achievement": {"en": "achievement", "zh_CN": "达成率"},
    "st_asked_elsewhere": {"en": "Version {version} is already waiting for approval in flow run {run}: decide there (Resume on that run). This run does not ask again.",
                           "zh_CN": "第 {version} 版已在流程运行 {run} 中等待审批：请在该运行中决定（Resume）。本次运行不再重复提问。"},
    "st_diff_header": {"en": "Settlement {month}: version {v1} → {v2}, {n} difference(s):", "zh_CN": "结算 {month}：第 {v1} 版 → 第 {v2} 版，{n} 处不同："},
    "st_versions": {"en": "Versions: {versions}", "zh_CN": "全部版本：{versions}"},
    "st_kpis_heading": {"en": "Store KPIs", "zh_CN": "店铺指标"},
    "st_cli_result": {"en": "{month} ({preset}): version {version}, {status}.", "zh_CN": "{month}（{preset}）：第 {version} 版，{status}。"},
})


# --- stock sync and purchase suggestions (flows/stock.py) -----------------------------------
MESSAGES.update({
    "stk_live_pushes": {"en": "Live stock sync: {confirmed} pushed and confirmed by reading back, {mismatch} read back "
                              "different from what was pushed, {failed} failed (sheet 'pushes').",
                        "zh_CN": "库存同步（实际推送）：{confirmed} 条推送并回读确认，{mismatch} 条回读与推送不一致，"
                                 "{failed} 条失败（见 pushes 表）。"},
    "stk_todo_edited": {"en": "{n} listing(s) were edited on the marketplace since our last push and were not overwritten "
                              "(sheet 'edited_on_marketplace'): set them back in the back-office, or let shopops "
                              "overwrite them with `shopops stock sync --live --overwrite-edited`.",
                        "zh_CN": "{n} 个商品在上次推送后被人在平台后台修改，本次未覆盖（见 edited_on_marketplace 表）："
                                 "请在后台改回，或用 `shopops stock sync --live --overwrite-edited` 让 shopops 覆盖。"},
    "stk_todo_push_problems": {"en": "{n} push(es) failed or read back a different quantity (sheet 'pushes', column "
                                     "'reply'): check the listing in the back-office, then rerun `shopops stock sync --live`.",
                               "zh_CN": "{n} 条推送失败或回读数量不一致（见 pushes 表的 reply 列）：请在平台后台核对该商品后重新运行 "
                                        "`shopops stock sync --live`。"},
    "stk_outcome": {"en": "outcome", "zh_CN": "结果"},
    "stk_before_qty": {"en": "before", "zh_CN": "推送前"},
    "stk_after_qty": {"en": "after (read back)", "zh_CN": "推送后（回读）"},
    "stk_reply": {"en": "marketplace reply", "zh_CN": "平台回复"},
    "stk_share_errors": {"en": "Allocation shares above 1 — fix the listings, nothing was pushed for these SKUs:",
                         "zh_CN": "分配比例之和超过 1 — 请修正商品设置，这些 SKU 未推送："},
    "stk_see_report": {"en": "See the reconcile-stock report (summary and sheet 'push_plan').",
                       "zh_CN": "详见 reconcile-stock 报告（摘要与 push_plan 表）。"},
    "rs_po_title": {"en": "Purchase suggestions {day}", "zh_CN": "采购建议 {day}"},
    "rs_po_summary": {"en": "{lines} SKU(s) to order from {suppliers} supplier(s), one sheet per supplier.",
                      "zh_CN": "向 {suppliers} 家供应商采购 {lines} 个 SKU，每家供应商一张表。"},
    "rs_no_supplier": {"en": "no supplier", "zh_CN": "未指定供应商"},
    "rs_notified": {"en": "Webhook ({format}): {n} alert(s) sent in one message.",
                    "zh_CN": "Webhook（{format}）：{n} 条提醒已合并为一条消息发送。"},
    "rs_notify_failed": {"en": "The webhook could not be reached ({error}); the alerts are stored and shown here. "
                               "Check SHOPOPS_WEBHOOK_URL.",
                         "zh_CN": "Webhook 无法送达（{error}）；提醒已保存并在此显示。请检查 SHOPOPS_WEBHOOK_URL。"},
    "rs_message_title": {"en": "Restock alerts {day}: {critical} critical, {warning} warning, {overstock} overstock",
                         "zh_CN": "补货提醒 {day}：紧急 {critical}，预警 {warning}，滞销 {overstock}"},
    "rs_message_more": {"en": "- … {n} more in the run's report", "zh_CN": "- … 另有 {n} 条，见本次运行的报告"},
    "rs_overstock_line": {"en": "- **overstock (滞销)**: {n} SKU(s) with more than the overstock cover, nothing to "
                                "order — consider a promotion or stopping purchases: {skus}",
                          "zh_CN": "- **滞销**：{n} 个 SKU 库存超过滞销天数，无需采购，可考虑促销或暂停采购：{skus}"},
    "rs_overstock_more": {"en": " … and {n} more (see the report)", "zh_CN": " … 等另外 {n} 个（见报告）"},
    "rs_level_critical": {"en": "critical", "zh_CN": "紧急"},
    "rs_level_warning": {"en": "warning", "zh_CN": "预警"},
    "rs_level_overstock": {"en": "overstock", "zh_CN": "滞销"},
})


# --- promotion campaigns (flows/promotion.py, shopops/cli_promo.py) -------------------------
MESSAGES.update({
    # the custom-run form of promotion-campaign (its parameters, flows/promotion.py)
    "form_promotion_phase": {"en": "Phase", "zh_CN": "阶段"},
    "form_promotion_phase_help": {"en": "prepare (rule checks, reconciliation, readiness) → start (campaign mode: every-minute "
                                        "pull, 15-minute report) → report (live figures) → close (normal cadence back, "
                                        "after-action report). Each phase may be run again.",
                                  "zh_CN": "prepare（准备：规则检查、盘点核对、备货）→ start（开始：活动模式，每分钟抓单、每 15 分钟报表）"
                                           "→ report（实时数据）→ close（结束：恢复正常频率并复盘）。每个阶段都可以重复运行。"},
    "form_promotion_name": {"en": "Campaign", "zh_CN": "活动名称"},
    "form_promotion_name_help": {"en": "The campaign's name, as in its file (e.g. double11-2026).",
                                 "zh_CN": "活动名称，与活动文件中的一致（例如 double11-2026）。"},
    "form_promotion_dry_run": {"en": "Dry run", "zh_CN": "试运行"},
    "form_promotion_dry_run_help": {"en": "Compute and report only; change no state, schedule, buffer or alert.",
                                    "zh_CN": "只计算和报告；不改动状态、调度、库存缓冲或预警。"},
    "form_promotion_now": {"en": "Run at", "zh_CN": "运行时刻"},
    "form_promotion_now_help": {"en": "The moment the phase runs at (UTC); empty means now.",
                                "zh_CN": "该阶段按哪个时刻运行（UTC）；留空表示现在。"},
    "pr_dry_run": {"en": "**Dry run**: figures computed, nothing changed (no state, schedule, buffer or alert).",
                   "zh_CN": "**试运行**：只计算和报告，不做任何更改（状态、调度、缓冲、预警均未改动）。"},
    "pr_refuse_prepare_running": {"en": "Campaign {name} is running: prepare comes before start. Run `report` for live figures or `close` to end it.",
                                  "zh_CN": "活动 {name} 正在进行：准备阶段须在开始之前。查看实时数据请运行 `report`，结束请运行 `close`。"},
    "pr_refuse_prepare_closed": {"en": "Campaign {name} is closed; preparing it again would change nothing. Define a new campaign file for the next one.",
                                 "zh_CN": "活动 {name} 已结束，无法再次准备。下一次活动请新建活动文件。"},
    "pr_refuse_start_defined": {"en": "Campaign {name} was never prepared: run `prepare` first (rule checks, reconciliation, readiness).",
                                "zh_CN": "活动 {name} 尚未准备：请先运行 `prepare`（规则检查、盘点核对、备货）。"},
    "pr_refuse_start_closed": {"en": "Campaign {name} is closed and cannot start again.",
                               "zh_CN": "活动 {name} 已结束，不能再次开始。"},
    "pr_refuse_report_defined": {"en": "Campaign {name} has not started: run `prepare` and `start` first.",
                                 "zh_CN": "活动 {name} 尚未开始：请先运行 `prepare` 和 `start`。"},
    "pr_refuse_report_prepared": {"en": "Campaign {name} is prepared but not started: run `start` first.",
                                  "zh_CN": "活动 {name} 已准备但未开始：请先运行 `start`。"},
    "pr_refuse_close_defined": {"en": "Campaign {name} never started: nothing to close.",
                                "zh_CN": "活动 {name} 从未开始：无需结束。"},
    "pr_refuse_close_prepared": {"en": "Campaign {name} is prepared but not started: nothing to close (run `start` when the window comes).",
                                 "zh_CN": "活动 {name} 已准备但未开始：无需结束（活动开始时运行 `start`）。"},
    "pr_refuse_start_not_ready": {"en": "Campaign {name} cannot start: its last prepare found price/coupon rule errors or an unclean reconciliation. Fix them (see the prepare report) and run `prepare` again.",
                                  "zh_CN": "活动 {name} 不能开始：上次准备发现价格/优惠券规则错误或盘点不一致。请按准备报告修正后重新运行 `prepare`。"},
    "pr_refuse_start_changed": {"en": "The file of campaign {name} changed since it was prepared: run `prepare` again before `start`.",
                                "zh_CN": "活动 {name} 的配置文件在准备之后有改动：请在 `start` 之前重新运行 `prepare`。"},
    "pr_rule_price_above_list_share": {"en": "{sku}: campaign price {price} is above the allowed {limit} (50 % of list price {list}).",
                                       "zh_CN": "{sku}：活动价 {price} 高于允许的 {limit}（吊牌价 {list} 的 50%）。"},
    "pr_rule_price_not_below_history_low": {"en": "{sku}: campaign price {price} is not below the 30-day low {reference} (seen {at}); at most {limit}.",
                                            "zh_CN": "{sku}：活动价 {price} 不低于近 30 天最低价 {reference}（{at}）；最高应为 {limit}。"},
    "pr_rule_no_price_history": {"en": "{sku}: no price seen in the 30 days before the window, so the 30-day-low rule cannot be checked; pull the shops' orders for that period or record listing prices, then prepare again.",
                                 "zh_CN": "{sku}：活动前 30 天没有价格记录，无法核对 30 天最低价规则；请补抓该时段订单或记录商品价格后重新准备。"},
    "pr_rule_coupon_not_multiple": {"en": "{sku}: coupon {coupon} is not a multiple of {limit}.",
                                    "zh_CN": "{sku}：优惠券 {coupon} 不是 {limit} 的整数倍。"},
    "pr_rule_coupon_above_max": {"en": "{sku}: coupon {coupon} is above the maximum {limit}.",
                                 "zh_CN": "{sku}：优惠券 {coupon} 超过上限 {limit}。"},
    "pr_rule_coupon_above_price_share": {"en": "{sku}: coupon {coupon} is above the recommended {limit} (20 % of the campaign price {price}).",
                                         "zh_CN": "{sku}：优惠券 {coupon} 超过建议的 {limit}（活动价 {price} 的 20%）。"},
    "pr_rule_other_discount_before": {"en": "{sku}: sold at {reference} (below list price {list}) on {at}, within the month before the campaign: another discount activity?",
                                      "zh_CN": "{sku}：{at} 以 {reference} 售出（低于吊牌价 {list}），在活动前一个月内：是否有其他折扣活动？"},
    "pr_prepare_title": {"en": "Promotion {name}: preparation", "zh_CN": "促销活动 {name}：活动准备"},
    "pr_prepare_summary": {"en": "**{title}** ({name}), preparation date {prep}: {price_errors} price/coupon errors, {price_warnings} warnings; {discrepancies} stock discrepancies found now, {open_discrepancies} still open; {shortfall_skus} SKUs short by {shortfall_units} units in total; {restock_alerts} restock alerts stored.",
                           "zh_CN": "**{title}**（{name}），备货截止日 {prep}：价格/优惠券错误 {price_errors} 条，提示 {price_warnings} 条；本次发现库存差异 {discrepancies} 条，未处理 {open_discrepancies} 条；{shortfall_skus} 个 SKU 共缺 {shortfall_units} 件；已写入补货预警 {restock_alerts} 条。"},
    "pr_prepare_shops": {"en": "Listings and their discrepancies, prices and expected demand: the campaign's shops only "
                               "({shops}); stock readiness: available stock (on hand − owed to paid orders) of every "
                               "warehouse plus purchase orders due by the preparation date.",
                         "zh_CN": "商品链接及其库存差异、价格与预计销量只统计活动店铺（{shops}）；备货按全部仓库的可用库存"
                                  "（在库 − 已付款待发占用）加截止日前到货的采购单计算。"},
    "pr_reconciliation_clean": {"en": "Reconciliation of the promoted SKUs: clean.", "zh_CN": "活动商品盘点核对：一致。"},
    "pr_reconciliation_not_clean": {"en": "Reconciliation of the promoted SKUs: **not clean** — resolve the discrepancies below before the campaign (overselling hurts the DSR).",
                                    "zh_CN": "活动商品盘点核对：**不一致**——请在活动前处理下列差异（超卖会严重影响 DSR）。"},
    "pr_ready_to_start": {"en": "Ready to start (shortfalls, if any, are with restock).", "zh_CN": "可以开始（如有缺货已转补货）。"},
    "pr_not_ready_to_start": {"en": "**Not ready to start**: fix the errors below and run prepare again.",
                              "zh_CN": "**不能开始**：请修正下列错误后重新运行 prepare。"},
    "pr_todo_discrepancy": {"en": "{sku}: {kind} in {shop}, difference {difference}.", "zh_CN": "{sku}：{shop} {kind}，差异 {difference}。"},
    "pr_todo_open_discrepancies": {"en": "{n} earlier stock discrepancies of the promoted SKUs are still open ({skus}): resolve them.",
                                   "zh_CN": "活动商品仍有 {n} 条未处理的库存差异（{skus}）：请处理。"},
    "pr_todo_read_error": {"en": "Listing stock could not be read: {error}", "zh_CN": "无法读取商品库存：{error}"},
    "pr_kind_promoted": {"en": "promoted item", "zh_CN": "活动商品"},
    "pr_kind_gift": {"en": "gift", "zh_CN": "赠品"},
    "pr_todo_shortfall": {"en": "{sku} ({kind}): {short} units short of the readiness target; restock {qty} ({level}; order by {order_by} to arrive by the preparation date).",
                          "zh_CN": "{sku}（{kind}）：距备货目标缺 {short} 件；建议补货 {qty} 件（{level}；须在 {order_by} 前下单才能在备货截止日前到货）。"},
    "pr_shortfall_reason": {"en": "campaign readiness: {short} units short of the target by {prep}; an order today arrives "
                                  "{arrives} (lead time {lead} d)",
                            "zh_CN": "活动备货：距 {prep} 的备货目标缺 {short} 件；今天下单 {arrives} 到货（采购周期 {lead} 天）"},
    "pr_log_done": {"en": "promotion-campaign {phase} {name} ({status}): {counts}",
                    "zh_CN": "促销活动 {name} {phase}（{status}）：{counts}"},
    "pr_shortfall_event": {"en": "{sku}: campaign {campaign} is {short} units short; restock {qty}.",
                           "zh_CN": "{sku}：活动 {campaign} 缺货 {short} 件；建议补货 {qty} 件。"},
    "pr_start_title": {"en": "Promotion {name}: campaign mode", "zh_CN": "促销活动 {name}：活动模式"},
    "pr_start_summary": {"en": "Campaign mode for {name} from {start} to {end}: shops {shops} pulled every {pull} min, live report every {report} min; stock-sync buffer {buffer} units on {listings} listings (the rest already held at least that).",
                         "zh_CN": "{name} 活动模式 {start} 至 {end}：店铺 {shops} 每 {pull} 分钟抓单，实时报表每 {report} 分钟；{listings} 个商品的库存同步缓冲设为 {buffer} 件（其余已不少于此数）。"},
    "pr_live_title": {"en": "Promotion {name}: live report", "zh_CN": "促销活动 {name}：实时报表"},
    "pr_live_summary": {"en": "{name} as of {as_of}: {orders} orders, revenue {revenue}, {units} promoted units; {oversold_skus} SKUs oversold, {oversell_records} open oversell records; {near_deadline} orders near or past their shipping deadline.",
                        "zh_CN": "{name} 截至 {as_of}：订单 {orders} 笔，销售额 {revenue}，活动商品 {units} 件；超卖 SKU {oversold_skus} 个，未处理超卖记录 {oversell_records} 条；临近或超过发货时限的订单 {near_deadline} 笔。"},
    "pr_live_not_begun": {"en": "The window has not begun (starts {start}).", "zh_CN": "活动尚未开始（{start} 开始）。"},
    "pr_todo_oversold": {"en": "{sku}: oversold by {units} units — tell the buyers and stop the listing or restock.",
                         "zh_CN": "{sku}：超卖 {units} 件——请通知买家并下架或补货。"},
    "pr_todo_near_deadline": {"en": "{n} promoted orders are near or past their shipping deadline (table near_deadline).",
                              "zh_CN": "{n} 笔活动订单临近或已超过发货时限（见 near_deadline 表）。"},
    "pr_close_title": {"en": "Promotion {name}: after-action report", "zh_CN": "促销活动 {name}：活动复盘"},
    "pr_close_summary": {"en": "{name}: {orders} orders, revenue {revenue} ({uplift}× the baseline: same weekday of the {weeks} prior weeks), AOV {aov}, refund rate {refund}, {stock_outs} SKUs out of stock, {late} late shipments.",
                         "zh_CN": "{name}：订单 {orders} 笔，销售额 {revenue}（为基线的 {uplift} 倍；基线为前 {weeks} 周同一天的平均），客单价 {aov}，退款率 {refund}，断货 SKU {stock_outs} 个，延迟发货 {late} 笔。"},
    "pr_schedules_restored": {"en": "Normal cadence restored: the deployments' schedules are exactly as before the campaign.",
                              "zh_CN": "已恢复正常频率：各部署的调度与活动前完全一致。"},
    "pr_schedules_differ": {"en": "**The schedules differ from before the campaign** (see below).", "zh_CN": "**调度与活动前不一致**（见下）。"},
    "pr_todo_schedules_differ": {"en": "Check the schedules of pull-orders and promotion-campaign in the UI (Deployments) and run close again.",
                                 "zh_CN": "请在界面（部署）检查 pull-orders 与 promotion-campaign 的调度，然后重新运行 close。"},
    "pr_metric_orders": {"en": "orders", "zh_CN": "订单数"},
    "pr_metric_units": {"en": "units (promoted SKUs)", "zh_CN": "件数（活动商品）"},
    "pr_metric_revenue_minor": {"en": "revenue (yuan)", "zh_CN": "销售额（元）"},
    "pr_metric_aov_minor": {"en": "average order value (yuan)", "zh_CN": "客单价（元）"},
    "pr_metric_refund_rate": {"en": "refund rate", "zh_CN": "退款率"},
    "pr_metric_stock_outs": {"en": "SKUs out of stock", "zh_CN": "断货 SKU 数"},
    "pr_metric_late_shipments": {"en": "late shipments", "zh_CN": "延迟发货数"},
    "pr_col_sku": {"en": "SKU", "zh_CN": "SKU"},
    "pr_col_rule": {"en": "rule", "zh_CN": "规则"},
    "pr_col_severity": {"en": "severity", "zh_CN": "级别"},
    "pr_col_list_price_minor": {"en": "list price (yuan)", "zh_CN": "吊牌价（元）"},
    "pr_col_campaign_price_minor": {"en": "campaign price (yuan)", "zh_CN": "活动价（元）"},
    "pr_col_coupon_minor": {"en": "coupon (yuan)", "zh_CN": "优惠券（元）"},
    "pr_col_limit_minor": {"en": "limit (yuan)", "zh_CN": "限额（元）"},
    "pr_col_reference_minor": {"en": "reference price (yuan)", "zh_CN": "参考价（元）"},
    "pr_col_reference_at": {"en": "seen at", "zh_CN": "出现时间"},
    "pr_col_kind": {"en": "kind", "zh_CN": "类型"},
    "pr_col_expected_units": {"en": "expected units", "zh_CN": "预计销量"},
    "pr_col_demand_source": {"en": "expected from", "zh_CN": "预计依据"},
    "pr_col_required_units": {"en": "required by prep date", "zh_CN": "备货目标"},
    "pr_col_on_hand": {"en": "on hand", "zh_CN": "在库"},
    "pr_col_reserved": {"en": "owed to paid orders", "zh_CN": "已付款待发占用"},
    "pr_col_inbound_before_prep": {"en": "inbound by prep date", "zh_CN": "截止日前到货"},
    "pr_col_inbound_after_prep": {"en": "inbound later", "zh_CN": "截止日后到货"},
    "pr_col_ready_units": {"en": "ready", "zh_CN": "可备货"},
    "pr_col_shortfall_units": {"en": "short", "zh_CN": "缺口"},
    "pr_col_ready": {"en": "ready?", "zh_CN": "是否达标"},
    "pr_col_level": {"en": "level", "zh_CN": "级别"},
    "pr_col_suggested_qty": {"en": "restock qty", "zh_CN": "建议补货"},
    "pr_col_order_by": {"en": "order by", "zh_CN": "最晚下单日"},
    "pr_col_orders": {"en": "orders", "zh_CN": "订单数"},
    "pr_col_units": {"en": "units", "zh_CN": "件数"},
    "pr_col_revenue_minor": {"en": "revenue (yuan)", "zh_CN": "销售额（元）"},
    "pr_col_available": {"en": "available", "zh_CN": "可用库存"},
    "pr_col_units_per_hour": {"en": "units/hour", "zh_CN": "每小时件数"},
    "pr_col_cover_hours": {"en": "cover (hours)", "zh_CN": "可售小时数"},
    "pr_col_oversold_units": {"en": "oversold", "zh_CN": "超卖件数"},
    "pr_col_limit_left": {"en": "limited quantity left", "zh_CN": "限量剩余"},
    "pr_col_hours_left": {"en": "hours to deadline", "zh_CN": "距发货时限（小时）"},
    "pr_col_deadline": {"en": "shipping deadline", "zh_CN": "发货时限"},
    "pr_col_metric": {"en": "metric", "zh_CN": "指标"},
    "pr_col_campaign": {"en": "campaign", "zh_CN": "活动"},
    "pr_col_baseline": {"en": "baseline", "zh_CN": "基线"},
    "pr_col_uplift": {"en": "× baseline", "zh_CN": "相对基线倍数"},
    "pr_col_period": {"en": "period", "zh_CN": "时段"},
    "pr_unknown_campaign": {"en": "There is no campaign '{name}' in {folder}; known campaigns: {known}. Add {folder}/<name>.yaml and run `shopops config check`.",
                            "zh_CN": "{folder} 中没有名为 '{name}' 的促销活动；已有活动：{known}。如需新增，请添加 {folder}/<名称>.yaml 并运行 `shopops config check`。"},
    "pr_which_campaign": {"en": "Which campaign? Name one: {known} (e.g. `shopops promo prepare {first}`).",
                          "zh_CN": "请指定促销活动：{known}（例如 `shopops promo prepare {first}`）。"},
    "pr_no_campaigns": {"en": "(none)", "zh_CN": "（无）"},
    "pr_cli_dry_run_hint": {"en": "Dry run (the default): nothing was changed. Run it for real with `shopops promo {phase} {name} --live`.",
                            "zh_CN": "试运行（默认）：未做任何更改。正式执行：`shopops promo {phase} {name} --live`。"},
    "pr_cli_done": {"en": "{phase} {name}: {status}. Report: artifact {artifact}", "zh_CN": "{phase} {name}：{status}。报表：工件 {artifact}"},
})


# --- shipping batches (flows/shipping.py, tasks/shipping.py, shopops/cli_batch.py) ----------
MESSAGES.update({
    "ship_title": {"en": "Shipping batches {at}", "zh_CN": "发货波次 {at}"},
    "ship_summary": {"en": "**{batches}** batches, **{orders}** orders, **{units}** units; {considered} orders considered, "
                           "**{held}** held, **{pulled_out}** pulled out of earlier batches; {near_deadline} near and "
                           "{past_deadline} past their shipping deadline.",
                     "zh_CN": "**{batches}** 个波次，**{orders}** 单，**{units}** 件；本次处理 {considered} 单，暂扣 **{held}** 单，"
                              "从已建波次中撤出 **{pulled_out}** 单；临近发货时限 {near_deadline} 单，已超时 {past_deadline} 单。"},
    "ship_promotion_gifts": {"en": "Running promotion gifts: {gifts}.", "zh_CN": "当前促销赠品：{gifts}。"},
    "ship_waiting_merge": {"en": "{n} order(s) paid less than {minutes} min ago wait for a companion order of the same "
                                 "buyer and address (合单); the next run batches them.",
                           "zh_CN": "{n} 单付款不足 {minutes} 分钟，等待同一买家同一地址的后续订单合单；下次运行时再建波次。"},
    "ship_todo_pulled": {"en": "{n} order(s) were pulled out of their batch (cancelled or refunded after batching): take "
                               "them off the shelf cart; their papers were written again without them.",
                         "zh_CN": "{n} 单已从波次中撤出（建波次后取消或退款）：请从拣货车上取下，波次单据已重新生成。"},
    "ship_todo_held": {"en": "{n} order(s) held: {reason}", "zh_CN": "暂扣 {n} 单：{reason}"},
    "ship_todo_past_deadline": {"en": "{n} order(s) are past their shipping deadline: ship them first or tell the buyer.",
                                "zh_CN": "{n} 单已超过发货时限：请优先发货或联系买家。"},
    "ship_documents": {"en": "Papers per batch", "zh_CN": "各波次单据"},
    "ship_more_batches": {"en": "… and {n} more batches: all papers are in {folder}",
                          "zh_CN": "……另有 {n} 个波次：全部单据在 {folder}"},
    "ship_doc_pick_list": {"en": "pick list", "zh_CN": "拣货单"},
    "ship_doc_packing_slips": {"en": "packing slips", "zh_CN": "发货单"},
    "ship_doc_manifest": {"en": "carrier manifest", "zh_CN": "交接清单"},
    "ship_moved_title": {"en": "Batch {batch_id}: {status}", "zh_CN": "波次 {batch_id}：{status}"},
    "ship_moved": {"en": "Batch `{batch_id}` is now **{status}**; {pulled_out} order(s) pulled out, {ledger_rows} outbound "
                         "ledger row(s) posted, {confirmed} tracking number(s) written back, {write_back_failed} write-back(s) failed.",
                   "zh_CN": "波次 `{batch_id}` 现为 **{status}**；撤出 {pulled_out} 单，出库登记 {ledger_rows} 行，回传运单号 "
                            "{confirmed} 单，回传失败 {write_back_failed} 单。"},
    "ship_todo_write_back": {"en": "Some marketplaces did not take the tracking number (below). The parcels have left; fix the "
                                   "cause (credentials, order state) and run `shopops batch handover {batch_id}` again: it "
                                   "retries only those orders.",
                             "zh_CN": "部分平台未接收运单号（见下）。包裹已发出；请排除原因（授权、订单状态）后再次运行 "
                                      "`shopops batch handover {batch_id}`：只会重试这些订单。"},
    "ship_cli_moved": {"en": "Batch {batch_id}: {status}.", "zh_CN": "波次 {batch_id}：{status}。"},
    "batch_step_cancelled": {"en": "batch {batch_id} is cancelled (every order was pulled out); it cannot be {step}",
                             "zh_CN": "波次 {batch_id} 已取消（所有订单均已撤出），不能再变为“{step}”"},
    "batch_step_next": {"en": "its next step is '{step}'", "zh_CN": "下一步应为“{step}”"},
    "batch_step_finished": {"en": "it is finished", "zh_CN": "它已全部完成"},
    "batch_step_illegal": {"en": "batch {batch_id} is '{status}', so it cannot become '{step}': {then} (steps: {steps})",
                           "zh_CN": "波次 {batch_id} 当前为“{status}”，不能变为“{step}”：{then}（步骤：{steps}）"},
    "batch_unknown_step": {"en": "unknown step '{action}'; use one of {actions}", "zh_CN": "未知步骤 '{action}'；可用：{actions}"},
    "batch_not_found": {"en": "there is no batch {batch_id}; `shopops batch list` shows the batches",
                        "zh_CN": "没有波次 {batch_id}；`shopops batch list` 可列出所有波次"},
    "batch_run_next": {"en": "; run `{command}`", "zh_CN": "；请运行 `{command}`"},
    "batch_moved_meanwhile": {"en": "batch {batch_id} was moved by someone else meanwhile; `shopops batch list` shows "
                                    "where it is now",
                              "zh_CN": "波次 {batch_id} 在此期间已被他人推进；`shopops batch list` 可查看其当前状态"},
    "ship_cli_released": {"en": "Released {n} hold(s) of {order}; the next shipping-batches run considers it again.",
                          "zh_CN": "已解除 {order} 的 {n} 条暂扣；下次发货波次运行会重新处理该订单。"},
    "ship_reason_remark_needs_person": {"en": "remark needs a person", "zh_CN": "备注需人工处理"},
    "ship_reason_address_incomplete": {"en": "address incomplete", "zh_CN": "地址不完整"},
    "ship_reason_presale_balance_unpaid": {"en": "presale balance unpaid", "zh_CN": "预售尾款未付"},
    "ship_reason_refund_in_progress": {"en": "refund in progress", "zh_CN": "退款中"},
    "ship_reason_unknown_sku": {"en": "SKU unknown to the catalogue", "zh_CN": "商品编码不在商品档案中"},
    "ship_reason_out_of_stock": {"en": "out of stock", "zh_CN": "缺货"},
    # each hold reason in words (domain/batching.py builds them as domain.text.Text)
    "hold_buyer_remark_mentions": {"en": "buyer remark mentions {words}: read it before shipping",
                                   "zh_CN": "买家留言提到 {words}：发货前请先阅读"},
    "hold_seller_remark_mentions": {"en": "seller remark mentions {words}: read it before shipping",
                                    "zh_CN": "卖家备注提到 {words}：发货前请先阅读"},
    "hold_address_missing": {"en": "{parts} missing", "zh_CN": "缺少{parts}"},
    "hold_address_province": {"en": "province", "zh_CN": "省"},
    "hold_address_city": {"en": "city", "zh_CN": "市"},
    "hold_address_address_masked": {"en": "street address", "zh_CN": "详细地址"},
    "hold_presale_unpaid": {"en": "presale: only the deposit is paid, the balance is not",
                            "zh_CN": "预售：只付了定金，尾款未付"},
    "hold_line_refund": {"en": "line {line} ({sku}): refund {refund}", "zh_CN": "第 {line} 行（{sku}）：退款状态 {refund}"},
    "hold_order_refunding": {"en": "order is refunding", "zh_CN": "订单退款中"},
    "hold_sku_unknown": {"en": "line {line}: SKU '{sku}' is not in the catalogue",
                         "zh_CN": "第 {line} 行：商品编码 '{sku}' 不在商品档案中"},
    "hold_sku_missing": {"en": "line {line} has no SKU", "zh_CN": "第 {line} 行没有商品编码"},
    "hold_short_none_left": {"en": "SKU {sku}: needs {needed}, none left in any warehouse",
                             "zh_CN": "商品 {sku}：需要 {needed} 件，所有仓库均无库存"},
    "hold_short_in": {"en": "SKU {sku}: needs {needed}, {units} short in {warehouse}; left: {left}",
                      "zh_CN": "商品 {sku}：需要 {needed} 件，{warehouse} 缺 {units} 件；其他仓库余量：{left}"},
    "hold_short": {"en": "SKU {sku}: needs {needed}, {units} short; left: {left}",
                   "zh_CN": "商品 {sku}：需要 {needed} 件，缺 {units} 件；各仓库余量：{left}"},
    "hold_shipped_in_part": {"en": "shipped in part, the rest held: {detail}", "zh_CN": "部分发货，其余暂扣：{detail}"},
    "hold_cannot_ship_whole": {"en": "cannot ship it whole: {detail}", "zh_CN": "无法整单发货：{detail}"},
    # why an order left its batch (tasks/shipping.py PULL_OUT_REASONS)
    "pull_out_cancelled": {"en": "cancelled after batching", "zh_CN": "建波次后已取消"},
    "pull_out_refunded": {"en": "refunded after batching", "zh_CN": "建波次后已退款"},
    "pull_out_refunding": {"en": "refund requested after batching", "zh_CN": "建波次后申请退款"},
    "pull_out_shipped": {"en": "shipped outside this batch (marketplace back office?)",
                         "zh_CN": "已在本波次之外发货（平台后台操作？）"},
    "pull_out_completed": {"en": "shipped outside this batch (marketplace back office?)",
                           "zh_CN": "已在本波次之外发货（平台后台操作？）"},
    "pull_out_pending_payment": {"en": "no longer paid", "zh_CN": "订单已不是已付款状态"},
    "pull_out_refund_requested": {"en": "refund requested after batching: {detail}", "zh_CN": "建波次后申请退款：{detail}"},
    "pull_out_lines_refunded": {"en": "refunded after batching: {lines}", "zh_CN": "建波次后已退款：{lines}"},
    # headings of the report tables and the papers
    "ship_batch_id": {"en": "batch", "zh_CN": "波次号"},
    "ship_warehouse": {"en": "warehouse", "zh_CN": "仓库"},
    "ship_pulled_out": {"en": "orders pulled out", "zh_CN": "撤出订单数"},
    "ship_ledger_rows": {"en": "outbound ledger rows", "zh_CN": "出库登记行数"},
    "ship_confirmed": {"en": "tracking numbers written back", "zh_CN": "已回传运单号"},
    "ship_write_back_failed": {"en": "write-backs failed", "zh_CN": "回传失败"},
    "ship_carrier": {"en": "carrier", "zh_CN": "快递公司"},
    "ship_kind": {"en": "single / multi item", "zh_CN": "单件/多件"},
    "ship_orders": {"en": "orders", "zh_CN": "订单数"},
    "ship_units": {"en": "units", "zh_CN": "件数"},
    "ship_reason": {"en": "reason", "zh_CN": "原因"},
    "ship_reasons": {"en": "reasons", "zh_CN": "暂扣原因"},
    "ship_reason_details": {"en": "details", "zh_CN": "说明"},
    "ship_released": {"en": "stock released (SKU@warehouse ×units)", "zh_CN": "释放库存（商品@仓库 ×件）"},
    "ship_platform": {"en": "platform", "zh_CN": "平台"},
    "ship_shop_id": {"en": "shop", "zh_CN": "店铺"},
    "ship_order_id": {"en": "order", "zh_CN": "订单号"},
    "ship_order_ids": {"en": "orders in the parcel", "zh_CN": "包裹内订单"},
    "ship_status": {"en": "status", "zh_CN": "状态"},
    "ship_paid_at": {"en": "paid", "zh_CN": "付款时间"},
    "ship_deadline": {"en": "ship by", "zh_CN": "最晚发货"},
    "ship_hours_left": {"en": "hours left", "zh_CN": "剩余小时"},
    "ship_held_for": {"en": "held for", "zh_CN": "暂扣原因"},
    "ship_bin_location": {"en": "bin", "zh_CN": "库位"},
    "ship_sku": {"en": "SKU", "zh_CN": "商品编码"},
    "ship_name": {"en": "item", "zh_CN": "商品名称"},
    "ship_variant": {"en": "colour / size", "zh_CN": "颜色/尺码"},
    "ship_merge_key": {"en": "parcel (merge key)", "zh_CN": "合单号"},
    "ship_receiver_name_masked": {"en": "receiver", "zh_CN": "收件人"},
    "ship_receiver_phone_masked": {"en": "phone", "zh_CN": "电话"},
    "ship_ship_to": {"en": "address", "zh_CN": "收货地址"},
    "ship_buyer_remark": {"en": "buyer remark", "zh_CN": "买家留言"},
    "ship_seller_remark": {"en": "seller remark", "zh_CN": "卖家备注"},
    "ship_items": {"en": "items", "zh_CN": "商品"},
    "ship_gifts": {"en": "gifts", "zh_CN": "赠品"},
    "ship_missing_gifts": {"en": "gifts missing", "zh_CN": "缺少的赠品"},
    "ship_missing_units": {"en": "units missing", "zh_CN": "缺少件数"},
    "ship_gift_missing": {"en": "gift out of stock, not in the parcel: {gifts}", "zh_CN": "赠品缺货，未随包裹发出：{gifts}"},
    "ship_todo_missing_gifts": {"en": "{n} order(s) ship without a gift that is out of stock (table “gifts missing”): "
                                      "send it later or tell the buyer.",
                                "zh_CN": "{n} 单因赠品缺货未带赠品发出（见“缺少的赠品”表）：请补发或告知买家。"},
    "ship_tracking_no": {"en": "tracking number", "zh_CN": "运单号"},
    "ship_province": {"en": "province", "zh_CN": "省"},
    "ship_city": {"en": "city", "zh_CN": "市"},
    "ship_district": {"en": "district", "zh_CN": "区"},
})

# --- the CLI's one error handler (shopops/cli_errors.py), config and input checks (issue 19) --
MESSAGES.update({
    "cli_bad_settings": {"en": "A SHOPOPS_ setting (environment variable or .env file) is not valid:\n{problems}\n"
                               "Fix or unset it, then run the command again.",
                         "zh_CN": "SHOPOPS_ 设置（环境变量或 .env 文件）无效：\n{problems}\n请修正或删除该设置后重新运行命令。"},
    "cli_not_migrated": {"en": "The warehouse at {url} has no tables or an older schema. Run `shopops db upgrade`, "
                               "then run the command again.",
                         "zh_CN": "数据仓库 {url} 尚未建表或结构版本过旧。请先运行 `shopops db upgrade`，再重新运行命令。"},
    "cli_not_utf8": {"en": "A file could not be read as text ({error}). Save it as UTF-8 and try again.",
                     "zh_CN": "文件无法按文本读取（{error}）。请另存为 UTF-8 编码后重试。"},
    "cli_os_error": {"en": "{error}. Check the path and its permissions.",
                     "zh_CN": "{error}。请检查路径及其权限。"},
    # the CLI's own lines (shopops/cli.py, cli_batch.py, cli_promo.py)
    "cli_flow_failed": {"en": "{flow} failed; see the run's log and report", "zh_CN": "{flow} 运行失败；请查看该运行的日志和报表"},
    "cli_pull_row": {"en": "{shop} {status}  new {new}  updated {updated}  quarantined {quarantined}",
                     "zh_CN": "{shop} {status}  新订单 {new}  更新 {updated}  隔离 {quarantined}"},
    "cli_no_id": {"en": "(no id)", "zh_CN": "（无订单号）"},
    "cli_quarantine_open": {"en": "{n} open", "zh_CN": "未处理 {n} 条"},
    "cli_first_shown": {"en": " (first {n} shown)", "zh_CN": "（显示前 {n} 条）"},
    "cli_recheck_done": {"en": "checked {checked}: released {released}, still open {still_open}",
                         "zh_CN": "已复查 {checked} 条：放行 {released} 条，仍隔离 {still_open} 条"},
    "cli_no_webhook": {"en": "No webhook URL: pass --url or set SHOPOPS_WEBHOOK_URL.",
                       "zh_CN": "没有 Webhook 地址：请用 --url 指定，或设置 SHOPOPS_WEBHOOK_URL。"},
    "cli_automation": {"en": "automation: {name}", "zh_CN": "自动化：{name}"},
    "cli_batch_row": {"en": "{batch} {status}  {orders} orders {units} units  created {created}",
                      "zh_CN": "{batch} {status}  {orders} 单 {units} 件  创建于 {created}"},
    "cli_batches": {"en": "{n} batch(es)", "zh_CN": "共 {n} 个波次"},
    "cli_pulled_out": {"en": "pulled out {order}: {reason}", "zh_CN": "已撤出 {order}：{reason}"},
    "cli_no_open_hold": {"en": "{order} has no open hold; `shopops batch run` lists the held orders in its report",
                         "zh_CN": "{order} 没有未解除的暂扣；`shopops batch run` 的报表列出所有暂扣订单"},
    # the Prefect server the CLI talks to (shopops/prefect_api.py, issue 23 #7)
    "pf_unreachable": {"en": "No Prefect server answers at {url} ({source}; {error}). This command runs on the team's "
                             "Prefect server and starts no throwaway one. Start the demo with `shopops demo` (its server "
                             "is {demo}), or point the CLI at your server: SHOPOPS_PREFECT_API_URL=http://HOST:4200/api "
                             "(or PREFECT_API_URL).",
                       "zh_CN": "{url} 没有 Prefect 服务器应答（{source}；{error}）。此命令在团队的 Prefect 服务器上运行，"
                                "不会自行启动临时服务器。请用 `shopops demo` 启动演示环境（其服务器为 {demo}），"
                                "或把 CLI 指向你们的服务器：SHOPOPS_PREFECT_API_URL=http://主机:4200/api（或 PREFECT_API_URL）。"},
    "pf_source_env": {"en": "from PREFECT_API_URL", "zh_CN": "来自 PREFECT_API_URL"},
    "pf_source_profile": {"en": "from the active Prefect profile's PREFECT_API_URL",
                          "zh_CN": "来自当前 Prefect 配置档案的 PREFECT_API_URL"},
    "pf_source_option": {"en": "from --prefect-api-url", "zh_CN": "来自 --prefect-api-url"},
    "pf_source_setting": {"en": "from SHOPOPS_PREFECT_API_URL", "zh_CN": "来自 SHOPOPS_PREFECT_API_URL"},
    "pf_source_demo": {"en": "the running demo's server", "zh_CN": "正在运行的演示环境的服务器"},
    "pf_source_default": {"en": "the demo's default address", "zh_CN": "演示环境的默认地址"},
    "cli_unexpected": {"en": "The command stopped on an unexpected error: {kind}: {error}. If it happens again, "
                             "run the same command with SHOPOPS_DEBUG=1 and report its output.",
                       "zh_CN": "命令因意外错误停止：{kind}：{error}。如再次出现，请用 SHOPOPS_DEBUG=1 "
                                "重新运行同一命令并把输出报告给开发人员。"},
    # settlement entry checks (flows/settlement.py, tasks/settlement.py)
    "st_month_not_ended": {"en": "Month {month} has not ended yet (it ends {end}): its orders and refunds are still "
                                 "coming in. Settle it after the month ends (§5: settlement after month end).",
                           "zh_CN": "{month} 尚未结束（结束于 {end}）：订单和退款仍在产生。请在月末之后再结算（§5：月结在月末之后进行）。"},
    "st_no_orders": {"en": "The warehouse has no orders placed in {month}: usually the order pull did not run for that "
                           "month. Run `shopops ingest --since …` for it and settle again; if the month really had no "
                           "sales, run the settlement with --allow-no-orders.",
                     "zh_CN": "数据仓库中没有 {month} 下单的订单：通常是该月的订单抓取没有运行。请用 `shopops ingest --since …` "
                              "补抓后重新结算；如该月确实没有销售，请加 --allow-no-orders 运行结算。"},
    "st_unattributed": {"en": "{shop}: {amount} yuan of revenue in {month} is attributed to nobody on the roster (no "
                              "operations person ran the shop this month), so it is in no one's commission but the "
                              "manager's. Add the shop to the roster (column shops) and settle again, or confirm it is "
                              "meant so.",
                        "zh_CN": "{shop}：{month} 的 {amount} 元营业额未归属名单中的任何人（本月没有运营人员负责该店铺），"
                                 "除经理外不计入任何人的提成。请在人员名单（负责店铺列）中补上该店铺后重新结算，或确认本应如此。"},
})


# --- ingestion completeness, audit, rewind, token expiry (issue 18) ----------------------------
MESSAGES.update({
    "col_orders_expected": {"en": "platform count", "zh_CN": "平台计数"},
    "col_orders_captured": {"en": "captured", "zh_CN": "实际抓取"},
    "col_incomplete_windows": {"en": "incomplete windows", "zh_CN": "不完整窗口"},
    "todo_incomplete": {"en": "{shop}: incomplete — {error}",
                        "zh_CN": "{shop}：抓取不完整（订单数少于平台计数，水位线未越过该窗口）— {error}"},
    "pull_incomplete": {"en": "incomplete pull for: {shops} (fewer orders than the platform counts; the watermark "
                              "stays before those windows)",
                        "zh_CN": "以下店铺抓取不完整：{shops}（订单数少于平台计数，水位线停在这些窗口之前）"},
    "au_title": {"en": "Ingestion audit of {shop}: the platform's count per day against the warehouse",
                 "zh_CN": "{shop} 抓取核对：平台每日计数与数据仓库对比"},
    "au_col_day": {"en": "day ({zone})", "zh_CN": "日期（{zone}）"},
    "au_col_platform": {"en": "platform count", "zh_CN": "平台计数"},
    "au_col_warehouse": {"en": "warehouse", "zh_CN": "数据仓库"},
    "au_col_difference": {"en": "difference", "zh_CN": "差额"},
    "au_no_count": {"en": "(no count)", "zh_CN": "（平台不提供计数）"},
    "au_all_match": {"en": "Every day matches.", "zh_CN": "每天的订单数都一致。"},
    "au_mismatch": {"en": "{n} day(s) differ: rewind the watermark before the first of them (`shopops ingest rewind "
                          "--shop {shop} --to …`) and pull again.",
                    "zh_CN": "{n} 天不一致：请把水位线回退到其中最早一天之前（`shopops ingest rewind --shop {shop} --to …`）"
                             "后重新抓取。"},
    "au_counts_by_modified": {"en": "Orders counted by their last modification time, as the platform's incremental "
                                    "API counts them.",
                              "zh_CN": "按订单最后修改时间计数（与平台增量接口一致）。"},
    "rw_done": {"en": "Watermark of {shop} moved back from {before} to {to} by {by} ({reason}); the next pull "
                      "reads from there.",
                "zh_CN": "{shop} 的水位线已由 {by} 从 {before} 回退到 {to}（原因：{reason}）；下次抓取从该时间开始。"},
    "rw_refused": {"en": "Watermark not moved: {why}", "zh_CN": "水位线未回退：{why}"},
    "tok_title": {"en": "Access tokens", "zh_CN": "访问令牌"},
    "tok_col_shop": {"en": "shop", "zh_CN": "店铺"},
    "tok_col_expires_at": {"en": "expires", "zh_CN": "到期时间"},
    "tok_col_days_left": {"en": "days left", "zh_CN": "剩余天数"},
    "tok_expiring": {"en": "{shop}: the access token expires on {at} ({days} day(s) left): renew the shop's "
                           "authorisation in the platform's seller centre and update its credentials",
                     "zh_CN": "{shop}：访问令牌将于 {at} 到期（剩 {days} 天）：请在平台后台重新授权并更新该店铺的凭证"},
    "tok_expired": {"en": "{shop}: the access token expired on {at}: pulls fail until the shop is authorised "
                          "again and its credentials updated",
                    "zh_CN": "{shop}：访问令牌已于 {at} 过期：重新授权并更新凭证前，抓单会失败"},
    "tok_unknown": {"en": "{shop}: the credentials carry no expires_at: its token's expiry cannot be watched",
                    "zh_CN": "{shop}：凭证中没有 expires_at，无法提醒令牌到期"},
    "tok_refresh_failed": {
        "en": "{shop} ({platform}): the access token could not be renewed ({detail}); the watermark did not move. "
              "Authorise the app again in the {platform} seller back office and put the new access_token, "
              "refresh_token and expires_at into the shop's credentials; the next pull then goes on from where "
              "this one stopped",
        "zh_CN": "{shop}（{platform}）：访问令牌刷新失败（{detail}）；水位线未前移。请在{platform}商家后台重新授权本应用，"
                 "并把新的 access_token、refresh_token 和 expires_at 写入该店铺的凭证；下次抓单会从本次停下处继续"},
})


# --- .xlsx sheet names and workbook furniture (tasks/reporting.py) --------------------------
#: ``sheet_<table>`` names a report's sheet; English keeps the table's own name. A table with
#: no entry (a supplier's name in the purchase suggestions) is its own sheet name.
_SHEETS = {
    "findings": "巡检发现", "unshipped": "昨日未发货", "out_of_stock": "缺货", "deadline": "发货时限",
    "logistics": "物流异常", "batches": "波次", "held_by_reason": "暂扣原因", "held": "暂扣订单",
    "pulled_out": "拆出订单", "missing_gifts": "缺少赠品", "batch": "本波次", "people": "人员提成",
    "components": "提成构成", "shops": "店铺", "store_kpis": "店铺KPI", "cs_kpis": "客服KPI",
    "tables": "数据表", "tokens": "授权令牌", "discrepancies": "库存差异", "push_plan": "推送计划",
    "edited_on_marketplace": "平台端被改动", "pushes": "推送记录", "positions": "库存结存",
    "suggestions": "补货建议", "violations": "价格违规", "readiness": "准备情况",
    "listing_buffers_before": "调整前库存缓冲", "skus": "商品", "near_deadline": "临近截止",
    "comparison": "活动对比", "periods": "时段", "pick-list": "拣货单", "packing-slips": "发货单",
    "manifest": "交接清单",
}
MESSAGES.update({f"sheet_{name}": {"en": name, "zh_CN": zh} for name, zh in _SHEETS.items()})
MESSAGES.update({
    "xlsx_total": {"en": "Total", "zh_CN": "合计"},
    "report_table_description": {"en": "{title} — {table} ({rows} rows; full table in {file})",
                                 "zh_CN": "{title} — {table}（{rows} 行；完整数据见 {file}）"},
    "xlsx_page": {"en": "Page &P of &N", "zh_CN": "第 &P 页，共 &N 页"},
    "report_link_local": {"en": "This link opens only on the server machine: set SHOPOPS_REPORTS_URL to the "
                                "reports server (see docs/RUNBOOK.md) for links that open in any browser.",
                          "zh_CN": "此链接只能在服务器本机打开：设置 SHOPOPS_REPORTS_URL 指向报表服务"
                                   "（见 docs/RUNBOOK.md）后，任何浏览器都能打开。"},
    "reports_server_needs_login": {
        "en": "The reports server will not serve {host} (beyond this machine) without a login: set "
              "PREFECT_SERVER_API_AUTH_STRING=user:password, the same login as the Prefect UI, or bind to 127.0.0.1.",
        "zh_CN": "报表服务不会在没有登录的情况下对 {host}（本机以外）开放：请设置 PREFECT_SERVER_API_AUTH_STRING=用户名:密码"
                 "（与 Prefect 界面相同的登录），或只绑定 127.0.0.1。"},
    "reports_server_listening": {"en": "Reports served read-only on {url} (folder {folder}).",
                                 "zh_CN": "报表只读服务已启动：{url}（目录 {folder}）。"},
})


# --- how times, money and ratios are written for a person (issue 23 #1, #3) ------------------
_ZONES: dict[tuple, str] = {}
DEFAULT_ZONE = "Asia/Shanghai"


def display_zone() -> str:
    """The zone every time a person reads is shown in: rules.yaml orders.default_timezone (the
    default when the configuration cannot be read, so a report is never lost to it)."""
    from config.settings import get_settings

    rules = get_settings().config_dir / "rules.yaml"
    try:
        key = (str(rules), rules.stat().st_mtime_ns)
    except OSError:
        return DEFAULT_ZONE
    if key not in _ZONES:
        import yaml

        try:
            zone = ((yaml.safe_load(rules.read_text(encoding="utf-8")) or {}).get("orders") or {}).get(
                "default_timezone") or DEFAULT_ZONE
        except (OSError, yaml.YAMLError, AttributeError):
            zone = DEFAULT_ZONE
        _ZONES[key] = str(zone)
    return _ZONES[key]


def when(value: object, zone: str | None = None) -> str:
    """A moment for a person: "2026-12-05 09:30" in the shop's zone; empty → ""."""
    from domain.timeutil import local_text

    return local_text(value, zone or display_zone())


def _missing(value: object) -> bool:
    try:
        import pandas as pd

        return value is None or value == "" or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def yuan(minor: object) -> str:
    """Minor units (fen) → "1,234.56" (yuan, two decimals, thousands separators); empty/NaN → ""."""
    from decimal import Decimal, ROUND_HALF_UP

    if _missing(minor):
        return ""
    amount = (Decimal(str(minor)) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{amount:,.2f}"


def percent(ratio: object, digits: int = 1) -> str:
    """A ratio (0.125) → "12.5%"; empty/NaN → ""."""
    if _missing(ratio):
        return ""
    return f"{float(ratio) * 100:,.{digits}f}%"


def number(value: object, digits: int = 1) -> str:
    """A statistic rounded for reading ("1,234.6"); whole numbers without decimals; empty/NaN → ""."""
    if _missing(value):
        return ""
    value = float(value)
    return f"{value:,.0f}" if value == int(value) else f"{value:,.{digits}f}"
