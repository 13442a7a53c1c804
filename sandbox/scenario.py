"""Scenario files (``config/scenarios/*.yaml``): what world the sandbox marketplace simulates.

A scenario fixes everything the generator draws from — seed, period, shops, volume and its
hourly shape, the shares of refunds, cancellations, presales, gifts and remarks, how late the
late changes come, and the faults the server injects — so the same file always yields the
same world. A bad file is refused with the file and the key named, because scenarios are
edited by hand for demos and benchmarks.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "config" / "scenarios"

SandboxPlatform = Literal["taobao", "jd", "pdd", "douyin", "shopify", "amazon"]


def _share(default: float = 0.0):
    return Field(default=default, ge=0, le=1)


class _Strict(BaseModel):
    """Unknown keys are typos: refuse them rather than silently use a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ShopSpec(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    platform: SandboxPlatform
    name: str
    timezone: str = "Asia/Shanghai"
    currency: Literal["CNY", "USD"] = "CNY"
    #: this shop's share of the scenario's orders (normalised over all shops)
    volume_weight: float = Field(default=1.0, gt=0)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not a time zone name (e.g. Asia/Shanghai, UTC)") from None
        return value


class Surge(_Strict):
    """A campaign rush: between ``start`` and ``end`` the hourly rate is multiplied."""

    start: datetime
    end: datetime
    multiplier: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Surge":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class LateChanges(_Strict):
    """How long after an event the next one comes (uniform between the two bounds)."""

    pay_delay_minutes: tuple[float, float] = (0, 15)
    ship_delay_hours: tuple[float, float] = (2, 48)
    complete_delay_days: tuple[float, float] = (5, 10)
    refund_request_delay_days: tuple[float, float] = (1, 7)
    refund_settle_delay_days: tuple[float, float] = (0.5, 3)
    cancel_delay_minutes: tuple[float, float] = (15, 60)
    presale_balance_delay_days: tuple[float, float] = (3, 10)

    @field_validator("*")
    @classmethod
    def _bounds(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if low < 0 or high < low:
            raise ValueError(f"needs 0 <= low <= high, got [{low}, {high}]")
        return value


class FaultShares(_Strict):
    """Share of API requests that get each fault; all default to none."""

    seed: int = 0
    server_error: float = _share()
    throttle: float = _share()
    truncated_body: float = _share()
    slow: float = _share()
    duplicate_rows: float = _share()
    slow_seconds: float = Field(default=5.0, ge=0)
    throttle_retry_after_seconds: int = Field(default=1, ge=0)
    clock_skew_seconds: float = 0.0
    #: parameters of the forced hostile answers (``sandbox.faults.FORCED_KINDS``)
    redirect_url: str = ""
    drip_seconds: float = Field(default=30.0, ge=0)
    oversized_body_bytes: int = Field(default=25 * 1024 * 1024, ge=0)

    @model_validator(mode="after")
    def _total(self) -> "FaultShares":
        total = self.server_error + self.throttle + self.truncated_body + self.slow + self.duplicate_rows
        if total > 1:
            raise ValueError(f"fault shares sum to {total:.3f}; they must sum to <= 1")
        return self


class Scenario(_Strict):
    name: str
    seed: int
    start: datetime
    #: up to a quarter and a bit: the demo keeps 92 days of history for restock demand
    days: float = Field(gt=0, le=120)
    shops: list[ShopSpec] = Field(min_length=1)
    orders_per_day: int = Field(gt=0)
    #: relative order rate per local hour 0..23 (Beijing time unless ``curve_timezone``)
    hourly_curve: list[float] = Field(min_length=24, max_length=24)
    curve_timezone: str = "Asia/Shanghai"
    surges: list[Surge] = []
    #: probability of an order having 1, 2, 3 … paid lines
    line_count_weights: list[float] = Field(default=[0.62, 0.24, 0.09, 0.05], min_length=1)
    max_quantity: int = Field(default=3, ge=1)
    refund_rate: float = Field(default=0.08, ge=0.05, le=0.15)
    cancellation_rate: float = _share()
    presale_share: float = _share()
    gift_share: float = _share()
    remark_share: float = _share()
    buyers: int = Field(default=20000, gt=0)
    late_changes: LateChanges = LateChanges()
    faults: FaultShares = FaultShares()
    #: ± minutes a signed request's timestamp may differ from the server clock
    timestamp_tolerance_minutes: float = Field(default=10, gt=0)
    #: JD's own rule is stricter (±6 min); a scenario that widens the others (the benchmark's
    #: replay of recorded requests) widens this one too
    jd_timestamp_tolerance_minutes: float = Field(default=6, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _end_instead_of_days(cls, data):
        """``end`` may be given instead of ``days`` (a period such as 11-11 00:00 to 11-12 00:00)."""
        if isinstance(data, dict) and "end" in data:
            if "days" in data:
                raise ValueError("give either end or days, not both")
            data = dict(data)
            end, start = data.pop("end"), data.get("start")
            try:
                data["days"] = (_aware_datetime(end) - _aware_datetime(start)).total_seconds() / 86400
            except (TypeError, ValueError) as exc:
                raise ValueError(f"start and end must be date-times with a UTC offset ({exc})") from None
        return data

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-11-11T00:00:00+08:00")
        return value.astimezone(timezone.utc)

    @field_validator("hourly_curve")
    @classmethod
    def _positive_curve(cls, value: list[float]) -> list[float]:
        if any(v < 0 for v in value) or sum(value) <= 0:
            raise ValueError("hourly weights must be >= 0 with a positive sum")
        return value

    @model_validator(mode="after")
    def _unique_shops(self) -> "Scenario":
        ids = [s.id for s in self.shops]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"shop ids must be unique; repeated: {', '.join(duplicates)}")
        return self

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    def shop(self, shop_id: str) -> ShopSpec:
        for shop in self.shops:
            if shop.id == shop_id:
                return shop
        raise KeyError(f"unknown shop '{shop_id}'; this scenario has: {', '.join(s.id for s in self.shops)}")


def _aware_datetime(value) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"{value} has no UTC offset")
    return parsed


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and each bad key."""


def _key_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def scenario_path(name_or_path: str | Path) -> Path:
    """``smoke`` → ``config/scenarios/smoke.yaml``; an existing path is used as given."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate
    return SCENARIO_DIR / f"{name_or_path}.yaml"


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read and check a scenario; raise :class:`ScenarioError` naming the file and keys."""
    path = scenario_path(name_or_path)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
        raise ScenarioError(f"{path}: no such scenario file (known scenarios: {known})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: (top level): expected a mapping of scenario keys")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [f"{path}: {_key_path(err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ScenarioError("bad scenario:\n  - " + "\n  - ".join(problems)) from None
