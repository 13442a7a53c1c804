"""Schemas of the YAML files in ``config/`` and the loader that checks them.

A bad file stops the program at start with one message per mistake, each naming the file,
the key (as a path such as ``shops[2].platform``) and what is wrong, so that operations
staff can fix it without reading Python.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, create_model, field_validator,
                      model_validator)

from domain.canonical import PLATFORMS

Platform = Literal["taobao", "jd", "pdd", "douyin", "shopify", "amazon", "file"]
assert set(Platform.__args__) == set(PLATFORMS)  # one list of platforms, kept in domain


class Strict(BaseModel):
    """Unknown keys are mistakes (a typo would otherwise silently fall back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not a time zone name (e.g. Asia/Shanghai, UTC)") from None
    return value


Share = Field(ge=0, le=1)
Units = Field(ge=0)


# --- shops.yaml -------------------------------------------------------------------------

class StockSyncDefaults(Strict):
    allocation_share: float = Field(default=1.0, ge=0, le=1, description="share of available stock, 0..1")
    buffer: int = Field(default=0, ge=0, description="units held back")


class ShopConfig(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="stable shop id, lower-case-with-dashes")
    platform: Platform
    name: str
    timezone: str = "Asia/Shanghai"
    enabled: bool = True
    credentials_block: str | None = None
    base_url: str | None = None
    max_window_minutes: int | None = Field(default=None, gt=0)
    page_size: int | None = Field(default=None, gt=0)
    stock_sync: StockSyncDefaults = StockSyncDefaults()
    #: file-import shops (platform ``file``): how the back-office export's columns map onto
    #: order fields (``columns``, ``status_map``, ``timezone``, ``money_unit`` … — see
    #: connectors/file_import.py); ``base_url`` is then the export folder as ``file:///…``
    column_mapping: dict[str, Any] | None = None
    #: connector settings beyond the platform defaults (throttle_rate_per_s, timeout_s, sign_method …)
    connector_options: dict[str, Any] = {}

    _zone = field_validator("timezone")(classmethod(lambda cls, v: _check_zone(v)))

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not value.startswith(("http://", "https://", "file://")):
            raise ValueError(f"'{value}' is not an http(s) URL (or file:///folder for a file-import shop)")
        platform = info.data.get("platform")
        if value is not None and value.startswith("file://") and platform not in (None, "file"):
            raise ValueError(f"'{value}' is a folder; a {platform} shop needs its API's http(s) URL "
                             "(a folder of exports is platform: file)")
        return value

    @field_validator("credentials_block")
    @classmethod
    def _block_name(cls, value: str | None) -> str | None:
        # runs only when the key is written: ``credentials_block:`` with nothing after it is a name left out
        if value is None or not value.strip():
            raise ValueError("empty; name the Prefect Secret block that holds the shop's credentials, or remove "
                             "the key and set SHOPOPS_CRED_<SHOP_ID>")
        return value

    @model_validator(mode="after")
    def _file_shop(self) -> "ShopConfig":
        if self.platform == "file" and (not self.column_mapping or not (self.base_url or "").startswith("file://")):
            raise ValueError(f"file-import shop '{self.id}' needs base_url: file:///<export folder> and a column_mapping")
        return self


#: ``connector_options`` every platform takes (connectors/base.py ConnectorSettings; max_window and
#: safety_lag are set by max_window_minutes and the platform), with their types
COMMON_CONNECTOR_OPTIONS: dict[str, Any] = dict(
    page_size=(int, Field(default=None, gt=0)),
    timeout_s=(float, Field(default=None, gt=0)),
    max_retries=(int, Field(default=None, ge=0)),
    backoff_base_s=(float, Field(default=None, ge=0)),
    backoff_cap_s=(float, Field(default=None, ge=0)),
    throttle_rate_per_s=(float, Field(default=None, gt=0)),
    throttle_burst=(int, Field(default=None, ge=1)),
    max_throttle_waits=(int, Field(default=None, ge=0)),
    max_throttle_wait_s=(float, Field(default=None, ge=0)),
    # the bounds of a pull (issue 19 #6, #8): connection, one answer, its size, one window, pages
    connect_timeout_s=(float, Field(default=None, gt=0)),
    call_deadline_s=(float, Field(default=None, gt=0)),
    max_body_bytes=(int, Field(default=None, gt=0)),
    window_deadline_s=(float, Field(default=None, gt=0)),
    page_overrun=(int, Field(default=None, ge=0)),
    max_pages=(int, Field(default=None, gt=0)),
    # Amazon's listings-items bucket; harmless elsewhere (config/overlay.py sets it on every shop)
    items_rate_per_s=(float, Field(default=None, gt=0)),
)
#: the options each platform's connector reads beyond those (see each connector's docstring)
PLATFORM_CONNECTOR_OPTIONS: dict[str, dict[str, Any]] = dict(
    taobao=dict(sign_method=(Literal["md5", "hmac", "hmac-sha256"], None), fields=(str, None),
                full_info=(Literal["partial", "always", "never"], None), full_info_fields=(list[str], None)),
    jd=dict(order_states=(str, None), date_type=(str, None), oauth_url=(str, None)),
    pdd=dict(is_lucky_flag=(int, None), order_status=(int, None), refund_status=(int, None)),
    douyin=dict(sign_method=(Literal["md5", "hmac-sha256"], None)),
    shopify=dict(api_version=(str, None), fields=(str, None), location_id=(int | str, None)),
    amazon=dict(marketplace_ids=(list[str], None), seller_id=(str, None), product_type=(str, None),
                lwa_token_url=(str, None), lwa_refresh_margin_s=(float, Field(default=None, ge=0))),
    file={},
)
_CONNECTOR_OPTION_MODELS = {
    platform: create_model(f"{platform.title()}ConnectorOptions", __config__=ConfigDict(extra="forbid", strict=False),
                           **COMMON_CONNECTOR_OPTIONS, **extra)
    for platform, extra in PLATFORM_CONNECTOR_OPTIONS.items()}


def _check_connector_options(data: Any, display: str, problems: list[ConfigProblem]) -> None:
    """Each shop's ``connector_options`` against its platform's keys and types (read from the
    raw file, so every shop is checked even when another entry has a different mistake)."""
    shops = data.get("shops") if isinstance(data, dict) else None
    for i, shop in enumerate(shops if isinstance(shops, list) else []):
        if not isinstance(shop, dict) or not isinstance(shop.get("connector_options"), dict):
            continue  # not a mapping: the shop's own validation names it
        model = _CONNECTOR_OPTION_MODELS.get(shop.get("platform"))
        if model is None:
            continue
        try:
            model.model_validate(shop["connector_options"])
        except ValidationError as exc:
            for err in exc.errors():
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    known = ", ".join(sorted({*COMMON_CONNECTOR_OPTIONS, *PLATFORM_CONNECTOR_OPTIONS[shop['platform']]}))
                    msg = f"unknown key for a {shop['platform']} shop (a typo?); known: {known}"
                elif "input" in err and not isinstance(err["input"], (dict, list)):
                    msg = f"{msg} (got {err['input']!r})"
                key = _name_shop_entries(("shops", i, "connector_options", *err["loc"]), data)
                problems.append(ConfigProblem(file=display, key=key, message=msg))


class ShopsFile(Strict):
    shops: list[ShopConfig]

    @model_validator(mode="after")
    def _unique_and_shares(self) -> "ShopsFile":
        seen: set[str] = set()
        for shop in self.shops:
            if shop.id in seen:
                raise ValueError(f"shop id '{shop.id}' appears twice; ids must be unique")
            seen.add(shop.id)
        total = sum(s.stock_sync.allocation_share for s in self.shops if s.enabled)
        if total > 1 + 1e-9:
            raise ValueError(
                f"stock_sync.allocation_share of the enabled shops sums to {total:.2f}; "
                "shares of one SKU's listings must sum to at most 1"
            )
        return self


# --- suppliers.yaml ---------------------------------------------------------------------

class SupplierConfig(Strict):
    id: str
    name: str
    lead_time_days: int = Field(ge=0, description="days from order to arrival")
    case_pack: int = Field(default=1, ge=1)
    moq: int = Field(default=1, ge=1)


class SuppliersFile(Strict):
    suppliers: list[SupplierConfig]

    @field_validator("suppliers")
    @classmethod
    def _unique(cls, suppliers: list[SupplierConfig]) -> list[SupplierConfig]:
        ids = [s.id for s in suppliers]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"supplier id '{repeated[0]}' appears twice; ids must be unique (a SKU names its "
                             "supplier by id, so only one of them would count)")
        return suppliers


# --- rules.yaml -------------------------------------------------------------------------

class OrderRules(Strict):
    lookback_minutes: int = Field(ge=0)
    safety_lag_minutes: int = Field(ge=0)
    default_timezone: str
    known_currencies: list[str] = Field(min_length=1)
    line_total_tolerance_minor_per_line: int = Field(ge=0)
    paid_time_future_tolerance_seconds: int = Field(ge=0)
    quarantine_spike_share: float = Share
    first_pull_hours: float = Field(gt=0)
    shop_concurrency: int = Field(ge=1)
    chunk_orders: int = Field(ge=1)
    run_lease_minutes: float = Field(gt=0)
    token_expiry_warning_days: int = Field(default=7, ge=0)
    token_refresh_before_hours: float = Field(default=24, ge=0)

    _zone = field_validator("default_timezone")(classmethod(lambda cls, v: _check_zone(v)))


class StockRules(Strict):
    discrepancy_tolerance_units: int = Units
    undersell_tolerance_units: int = Units   # §2: listing under its push plan by more than this
    default_allocation_share: float = Share
    default_buffer_units: int = Units
    push_enabled: bool
    push_dry_run: bool
    count_future_tolerance_minutes: float = Field(ge=0)  # §2: a count cannot be true at a later moment


class RestockRules(Strict):
    demand_history_days: int = Field(gt=0)
    abc_window_days: int = Field(gt=0)
    abc_thresholds: dict[Literal["A", "B"], float]
    service_level_z: dict[Literal["A", "B", "C"], float]
    review_days: int = Field(ge=0)
    default_lead_time_days: int = Field(ge=0)
    overstock_cover_days: int = Field(gt=0)
    cooldown_hours: float = Field(ge=0)
    #: §3 supplier case pack and MOQ: a catalogue row (`shopops catalogue import`) with the cell
    #: blank gets its supplier's (suppliers.yaml), else this
    default_case_pack: int = Field(default=1, ge=1)
    default_moq: int = Field(default=1, ge=1)
    # §3 d and σ, robust by default (issue 23 #11): domain.restock.DEMAND_METHODS / SIGMA_METHODS
    demand_method: Literal["mean", "median", "trimmed_mean", "winsorised"] = "winsorised"
    demand_trim_share: float = Field(default=0.10, ge=0, lt=0.5)
    demand_sigma: Literal["std", "mad"] = "std"

    @model_validator(mode="after")
    def _abc_order(self) -> "RestockRules":
        a, b = self.abc_thresholds.get("A"), self.abc_thresholds.get("B")
        if a is None or b is None or not 0 < a < b <= 1:
            raise ValueError("abc_thresholds needs 0 < A < B <= 1 (cumulative revenue shares)")
        if set(self.service_level_z) != {"A", "B", "C"}:
            raise ValueError("service_level_z needs a z value for each of A, B and C")
        return self


class ShippingRules(Strict):
    ship_deadline_hours: dict[str, float]
    near_deadline_hours: float = Field(ge=0)
    abnormal_logistics_days: float = Field(gt=0)
    max_orders_per_batch: int = Field(gt=0)
    merge_buffer_minutes: float = Field(ge=0)
    split_policy: Literal["no_split", "split"]
    remark_keywords_needing_person: list[str]
    #: per platform, with a "default": the carrier of orders that name none
    default_carrier: dict[str, str]
    #: carrier → {platform: code}; a platform not listed gets the carrier's name
    carrier_codes: dict[str, dict[str, str]] = {}
    #: carrier → the names marketplaces show for it; with ``carrier_codes`` the one carrier table
    carrier_names: dict[str, list[str]] = {}

    @field_validator("default_carrier")
    @classmethod
    def _default_carrier(cls, value: dict[str, str]) -> dict[str, str]:
        if "default" not in value:
            raise ValueError("needs a 'default' entry")
        for key, carrier in value.items():
            if key != "default" and key not in PLATFORMS:
                raise ValueError(f"'{key}' is not a known platform ({', '.join(PLATFORMS)})")
            if not carrier.isascii() or not carrier.isalnum():
                raise ValueError(f"{key}: '{carrier}' must be letters and digits (it prefixes tracking numbers)")
        return value

    @field_validator("carrier_codes")
    @classmethod
    def _carrier_codes(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for carrier, codes in value.items():
            unknown = [p for p in codes if p not in PLATFORMS]
            if unknown:
                raise ValueError(f"{carrier}: '{unknown[0]}' is not a known platform ({', '.join(PLATFORMS)})")
        return value

    @model_validator(mode="after")
    def _one_carrier_table(self) -> "ShippingRules":
        """A code or name means one carrier, and every carrier can prefix a tracking number."""
        carriers = {*self.carrier_codes, *self.carrier_names}
        for carrier in carriers:
            if not carrier.isascii() or not carrier.isalnum():
                raise ValueError(f"carrier '{carrier}' must be letters and digits (it prefixes tracking numbers)")
        seen: dict[tuple[str, str], str] = {}
        for carrier, codes in self.carrier_codes.items():
            for platform, code in codes.items():
                if seen.setdefault((platform, str(code)), carrier) != carrier:
                    raise ValueError(f"carrier_codes: {platform} code '{code}' is given to both "
                                     f"{seen[(platform, str(code))]} and {carrier}")
        names: dict[str, str] = {}
        for carrier, labels in self.carrier_names.items():
            for label in labels:
                if names.setdefault(label.strip().casefold(), carrier) != carrier:
                    raise ValueError(f"carrier_names: '{label}' is given to both {names[label.strip().casefold()]} "
                                     f"and {carrier}")
        return self

    @field_validator("ship_deadline_hours")
    @classmethod
    def _deadlines(cls, value: dict[str, float]) -> dict[str, float]:
        if "default" not in value:
            raise ValueError("needs a 'default' entry")
        for key, hours in value.items():
            if key != "default" and key not in PLATFORMS:
                raise ValueError(f"'{key}' is not a known platform ({', '.join(PLATFORMS)})")
            if hours <= 0:
                raise ValueError(f"{key}: deadline must be a positive number of hours")
        return value


class CommissionPreset(Strict):
    kind: Literal["commission"]
    weights: dict[Literal["manager", "operations", "customer_service"], dict[str, float]]
    monthly_rate: dict[Literal["manager", "operations", "customer_service"], float]
    annual_rate: dict[Literal["manager", "operations", "customer_service"], float]

    @model_validator(mode="after")
    def _weights_sum(self) -> "CommissionPreset":
        for role, parts in self.weights.items():
            if abs(sum(parts.values()) - 1) > 1e-9:
                raise ValueError(f"weights of role '{role}' sum to {sum(parts.values())}, must sum to 1")
        return self


class PerformancePayPreset(Strict):
    kind: Literal["performance_pay"]
    base_pay_minor: int = Field(ge=0)
    zero_below_achievement: float = Field(ge=0)
    bonus_minor: dict[Literal["staff", "manager"], dict[Literal["up_to_120", "above_120"], int]]


class SettlementRules(Strict):
    default_preset: str
    score_cap: float = Field(gt=0)
    gross_margin_target: float = Field(gt=0, le=1)
    profitability_target_ratio: float = Field(gt=0)
    profitability_target_ratio_by_shop: dict[str, float] = Field(default_factory=dict)
    low_coefficient_threshold: float = Field(ge=0)
    low_coefficient_months: list[int]
    late_refund_policy: Literal["clawback", "restate"]
    fiscal_year_start_month: int = Field(ge=1, le=12)
    confirmation_day: int = Field(ge=1, le=28)
    min_approval_hours: float = Field(gt=0)
    presets: dict[str, CommissionPreset | PerformancePayPreset]

    @model_validator(mode="after")
    def _shop_ratios_positive(self) -> "SettlementRules":
        bad = sorted(shop for shop, ratio in self.profitability_target_ratio_by_shop.items() if not ratio > 0)
        if bad:
            raise ValueError(f"profitability_target_ratio_by_shop: the ratio of {', '.join(bad)} must be above 0")
        return self

    @model_validator(mode="after")
    def _default_exists(self) -> "SettlementRules":
        if self.default_preset not in self.presets:
            raise ValueError(f"default_preset '{self.default_preset}' is not one of presets: {', '.join(self.presets)}")
        return self


class PromotionRules(Strict):
    stock_readiness_share: float = Share
    max_price_share_of_list: float = Share
    price_history_days: int = Field(gt=0)
    no_other_discount_days: int = Field(ge=0)
    coupon_multiple_minor: int = Field(gt=0)
    coupon_max_minor: int = Field(gt=0)
    coupon_recommended_max_share: float = Share
    campaign_pull_every_minutes: int = Field(gt=0)
    live_report_every_minutes: int = Field(gt=0)
    campaign_buffer_units: int = Units
    baseline_weeks: int = Field(gt=0)


class PrivacyRules(Strict):
    phone_visible_prefix: int = Field(ge=0, le=4)
    phone_visible_suffix: int = Field(ge=0, le=4)


class WatchdogRulesConfig(Strict):
    pull_cadence_minutes: int = Field(default=10, gt=0)
    stale_pull_cadences: int = Field(default=3, gt=0)
    batch_cutoff_hours: float = Field(default=24, gt=0)
    push_failure_window_hours: float = Field(default=2, gt=0)
    approval_warning_days: float = Field(default=2, ge=0)
    run_stuck_minutes: float = Field(default=120, gt=0)


class Rules(Strict):
    orders: OrderRules
    stock: StockRules
    restock: RestockRules
    shipping: ShippingRules
    settlement: SettlementRules
    promotions: PromotionRules
    privacy: PrivacyRules
    watchdog: WatchdogRulesConfig = WatchdogRulesConfig()


# --- promotions/*.yaml ------------------------------------------------------------------

class PromotedSku(Strict):
    sku: str
    list_price_minor: int = Field(gt=0)
    campaign_price_minor: int = Field(gt=0)
    coupon_minor: int = Field(default=0, ge=0)
    limited_quantity: int | None = Field(default=None, gt=0)
    expected_units: int | None = Field(default=None, ge=0)


class SpendAndSave(Strict):
    spend_minor: int = Field(gt=0)
    save_minor: int = Field(gt=0)

    @model_validator(mode="after")
    def _saves_less(self) -> "SpendAndSave":
        if self.save_minor >= self.spend_minor:
            raise ValueError(f"save_minor {self.save_minor} must be below spend_minor {self.spend_minor}")
        return self


class StageDiscount(Strict):
    from_day: int = Field(ge=1)
    to_day: int = Field(ge=1)
    discount_share: float = Share

    @model_validator(mode="after")
    def _days(self) -> "StageDiscount":
        if self.to_day < self.from_day:
            raise ValueError(f"to_day {self.to_day} is before from_day {self.from_day}")
        return self


class Gift(Strict):
    buy_sku: str
    gift_sku: str
    gift_quantity: int = Field(default=1, gt=0)


class PromotionConfig(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    title: str
    prep_date: date
    window_start: datetime
    window_end: datetime
    timezone: str = "Asia/Shanghai"
    shops: list[str] = Field(min_length=1)
    skus: list[PromotedSku] = Field(min_length=1)
    spend_and_save: list[SpendAndSave] = []
    stage_discounts: list[StageDiscount] = []
    gifts: list[Gift] = []
    uplift_factor: float = Field(default=1.0, gt=0)

    _zone = field_validator("timezone")(classmethod(lambda cls, v: _check_zone(v)))

    @model_validator(mode="after")
    def _window(self) -> "PromotionConfig":
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if self.prep_date > self.window_start.date():
            raise ValueError("prep_date must be on or before the window start")
        skus = [item.sku for item in self.skus]
        repeated = sorted({sku for sku in skus if skus.count(sku) > 1})
        if repeated:
            raise ValueError(f"SKU(s) {', '.join(repeated)} listed more than once in skus")
        unknown = sorted({gift.buy_sku for gift in self.gifts} - set(skus))
        if unknown:
            raise ValueError(f"gift buy_sku {', '.join(unknown)} is not a promoted SKU of this campaign")
        return self


# --- the whole configuration ------------------------------------------------------------

class AppConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    config_dir: Path
    shops: list[ShopConfig]
    suppliers: list[SupplierConfig]
    rules: Rules
    promotions: list[PromotionConfig]

    def shop(self, shop_id: str) -> ShopConfig:
        for shop in self.shops:
            if shop.id == shop_id:
                return shop
        raise KeyError(f"unknown shop '{shop_id}'; known: {', '.join(s.id for s in self.shops)}")


class ConfigProblem(BaseModel):
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem found, so one run of ``config check`` lists them all."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{_say('config_bad', n=len(problems))}\n{lines}\n{_say('config_fix')}")


def _say(key: str, **values: Any) -> str:
    """A message in SHOPOPS_LOCALE (shopops.i18n), English when the settings cannot be read:
    ``config check`` and every other command show a configuration problem the same way."""
    from shopops.i18n import t

    try:
        return t(key, **values)
    except Exception:  # noqa: BLE001 - a bad SHOPOPS_* setting must not hide the config problems
        return t(key, locale="en", **values)


def _key_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _name_shop_entries(loc: tuple[Any, ...], data: Any) -> str:
    """``shops[2].platform`` → ``shops[2] (id jd-pop).platform`` so the entry is findable."""
    key = _key_path(loc)
    if len(loc) >= 2 and loc[0] in ("shops", "suppliers") and isinstance(loc[1], int):
        try:
            ident = data[loc[0]][loc[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            ident = None
        if ident:
            key = key.replace(f"{loc[0]}[{loc[1]}]", f"{loc[0]}[{loc[1]}] (id {ident})", 1)
    return key


#: encodings a config or input file may be written in, tried in this order: UTF-8 (with or
#: without the BOM Windows Notepad writes), then GBK (Notepad's "ANSI" on a Chinese Windows)
TEXT_ENCODINGS = ("utf-8-sig", "gbk")


def read_text(path: Path) -> str:
    """A text file's content in the first of ``TEXT_ENCODINGS`` that decodes it; ``UnicodeError``
    (naming the encodings tried) when none does."""
    raw = path.read_bytes()
    for encoding in TEXT_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    try:
        raw.decode("utf-8")
        at = 0  # not reached: utf-8-sig decodes whatever utf-8 does
    except UnicodeDecodeError as exc:
        at = exc.start
    raise UnicodeError(f"not text in UTF-8 or GBK (byte 0x{raw[at]:02x} at position {at}); save the file as UTF-8")


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (YAML would silently
    keep the later value, so the earlier one, which a person reads first, would not count)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:  # an unhashable key: the constructor below reports it
                    continue
                if first != key_node.start_mark.line + 1:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key '{key}' appears twice (first on line {first}); keep one, YAML would "
                        "silently use the last", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, display: str, problems: list[ConfigProblem]) -> Any:
    if not path.exists():
        problems.append(ConfigProblem(file=display, key="(file)", message="file is missing"))
        return None
    try:
        data = yaml.load(read_text(path), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except UnicodeError as exc:
        problems.append(ConfigProblem(file=display, key="(file)", message=str(exc)))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", exc)
        message = problem if "appears twice" in str(problem) else f"not valid YAML: {problem}"
        problems.append(ConfigProblem(file=display, key=where, message=message))
        return None
    if data is None:
        problems.append(ConfigProblem(file=display, key="(file)",
                                      message="the file is empty; write its settings (see the shipped file)"))
    return data


def _validate(model: type[BaseModel], data: Any, display: str, problems: list[ConfigProblem]) -> Any:
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "literal_error" and err["loc"][-1] == "platform":
                msg = f"'{err.get('input')}' is not a known platform ({', '.join(PLATFORMS)})"
            elif err["type"] == "extra_forbidden":
                msg = "unknown key (a typo?); remove it or check the spelling"
            elif "input" in err and not isinstance(err["input"], (dict, list)):
                msg = f"{msg} (got {err['input']!r})"
            problems.append(ConfigProblem(file=display, key=_name_shop_entries(err["loc"], data), message=msg))
        return None


def load_config(config_dir: Path | None = None) -> AppConfig:
    """Read and check every file in ``config_dir``; raise ``ConfigError`` listing all problems."""
    if config_dir is None:
        from config.settings import get_settings

        config_dir = get_settings().config_dir
    config_dir = Path(config_dir)
    problems: list[ConfigProblem] = []

    def show(path: Path) -> str:
        try:
            return str(path.relative_to(config_dir.parent))
        except ValueError:
            return str(path)

    shops_data = _read_yaml(config_dir / "shops.yaml", show(config_dir / "shops.yaml"), problems)
    shops = _validate(ShopsFile, shops_data, show(config_dir / "shops.yaml"), problems)
    _check_connector_options(shops_data, show(config_dir / "shops.yaml"), problems)
    suppliers = _validate(SuppliersFile, _read_yaml(config_dir / "suppliers.yaml", show(config_dir / "suppliers.yaml"), problems),
                          show(config_dir / "suppliers.yaml"), problems)
    rules = _validate(Rules, _read_yaml(config_dir / "rules.yaml", show(config_dir / "rules.yaml"), problems),
                      show(config_dir / "rules.yaml"), problems)
    promotions: list[PromotionConfig] = []
    named: dict[str, str] = {}
    folder = config_dir / "promotions"
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        promo = _validate(PromotionConfig, _read_yaml(path, show(path), problems), show(path), problems)
        if promo is None:
            continue
        if named.setdefault(promo.name, show(path)) != show(path):
            problems.append(ConfigProblem(file=show(path), key="name", message=(
                f"campaign '{promo.name}' is also the name in {named[promo.name]}; each campaign needs its own "
                "name (`shopops promo … NAME` picks the campaign by it)")))
            continue
        if shops is not None:
            known = {s.id for s in shops.shops}
            for i, shop_id in enumerate(promo.shops):
                if shop_id not in known:
                    problems.append(ConfigProblem(file=show(path), key=f"shops[{i}]",
                                                  message=f"'{shop_id}' is not a shop in shops.yaml"))
        for i, item in enumerate(promo.skus):
            if item.campaign_price_minor > item.list_price_minor:
                problems.append(ConfigProblem(file=show(path), key=f"skus[{i}] (sku {item.sku}).campaign_price_minor",
                                              message="campaign price is above the list price"))
        promotions.append(promo)
    if shops is not None and rules is not None:
        known = {s.id for s in shops.shops}
        for shop_id in rules.settlement.profitability_target_ratio_by_shop:
            if shop_id not in known:
                problems.append(ConfigProblem(file=show(config_dir / "rules.yaml"),
                                              key=f"settlement.profitability_target_ratio_by_shop.{shop_id}",
                                              message=f"'{shop_id}' is not a shop in shops.yaml"))

    if problems:
        raise ConfigError(problems)
    return AppConfig(config_dir=config_dir, shops=shops.shops, suppliers=suppliers.suppliers,
                     rules=rules, promotions=promotions)
