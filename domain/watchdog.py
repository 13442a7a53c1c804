"""The watchdog's rules: business staleness read from the warehouse, not from Prefect's run
states (Prefect's own crash detection misses a run whose process died; upstream #21932,
#20887, #18838). Pure: frames in, findings out.

A finding is one thing a person should look at now: a shop not completely pulled for several
cadences, a batch still in the warehouse long after it was made, stock pushes failing, a
settlement whose approval deadline is close, a run Running for longer than any run takes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

#: finding kinds, in the order a report lists them
KINDS = ("shop_stale", "batch_past_cutoff", "push_failing", "approval_due", "run_stuck")


@dataclass(frozen=True)
class WatchdogRules:
    pull_cadence_minutes: int
    stale_pull_cadences: int
    batch_cutoff_hours: float
    push_failure_window_hours: float
    approval_warning_days: float
    run_stuck_minutes: float
    confirmation_day: int
    timezone: str


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str          # shop id, batch id, month, flow run name …
    since: datetime | None
    detail: dict


def approval_deadline(month: str, zone: str, confirmation_day: int) -> datetime:
    """End of the confirmation day of the month after ``month`` (§5 "confirmation by the 15th")."""
    year, number = int(month[:4]), int(month[5:])
    year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return datetime(year, number, confirmation_day, tzinfo=ZoneInfo(zone)) + timedelta(days=1)


def find(now: datetime, rules: WatchdogRules, *, shops: pd.DataFrame, batches: pd.DataFrame,
         pushes: pd.DataFrame, settlements: pd.DataFrame, runs: pd.DataFrame) -> list[Finding]:
    """``shops``: shop_id, pulled_until (the watermark: everything before it is proven pulled;
    NaT: never). ``batches``: batch_id, status, created_at (live ones). ``pushes``: shop_id,
    outcome, pushed_at. ``settlements``: month, preset, version, status. ``runs``: name,
    flow_name, state, start_time (runs Running now)."""
    found: list[Finding] = []
    stale_after = timedelta(minutes=rules.pull_cadence_minutes * rules.stale_pull_cadences)
    for row in shops.itertuples(index=False):
        pulled = row.pulled_until if pd.notna(row.pulled_until) else None
        if pulled is None or now - pulled > stale_after:
            found.append(Finding("shop_stale", row.shop_id, pulled, {
                "minutes": None if pulled is None else int((now - pulled).total_seconds() // 60),
                "limit": int(stale_after.total_seconds() // 60)}))
    cutoff = timedelta(hours=rules.batch_cutoff_hours)
    for row in batches.itertuples(index=False):
        if now - row.created_at > cutoff:
            found.append(Finding("batch_past_cutoff", row.batch_id, row.created_at, {
                "status": row.status, "hours": round((now - row.created_at).total_seconds() / 3600, 1),
                "limit": rules.batch_cutoff_hours}))
    recent = pushes[(pushes["pushed_at"] >= now - timedelta(hours=rules.push_failure_window_hours))
                    & pushes["outcome"].isin(["failed", "mismatch"])] if len(pushes) else pushes
    for shop_id, rows in (recent.groupby("shop_id", sort=True) if len(recent) else []):
        found.append(Finding("push_failing", shop_id, rows["pushed_at"].min(), {
            "failed": int((rows["outcome"] == "failed").sum()), "mismatch": int((rows["outcome"] == "mismatch").sum()),
            "hours": rules.push_failure_window_hours}))
    waiting = settlements[settlements["status"] == "awaiting_approval"] if len(settlements) else settlements
    for row in waiting.itertuples(index=False):
        deadline = approval_deadline(row.month, rules.timezone, rules.confirmation_day)
        left = deadline - now
        if left <= timedelta(days=rules.approval_warning_days):
            found.append(Finding("approval_due", f"{row.month} {row.preset} v{row.version}", None, {
                "deadline": deadline, "hours_left": round(left.total_seconds() / 3600, 1)}))
    stuck = timedelta(minutes=rules.run_stuck_minutes)
    for row in runs.itertuples(index=False):
        if pd.notna(row.start_time) and now - row.start_time > stuck:
            found.append(Finding("run_stuck", f"{row.flow_name}/{row.name}", row.start_time, {
                "minutes": int((now - row.start_time).total_seconds() // 60), "limit": int(rules.run_stuck_minutes)}))
    return sorted(found, key=lambda f: (KINDS.index(f.kind), f.subject))
