"""`shopops config check`: the shipped configuration passes; planted mistakes are named."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from config.schema import ConfigError, load_config
from config.settings import CONFIG_DIR
from shopops.cli import app


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "scenarios"))
    return target


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_shipped_configuration_is_valid():
    config = load_config(CONFIG_DIR)
    assert {s.platform for s in config.shops} >= {"taobao", "jd", "pdd", "douyin", "shopify", "amazon"}
    assert config.rules.restock.service_level_z == {"A": 1.96, "B": 1.65, "C": 1.28}
    assert config.rules.orders.lookback_minutes == 10
    assert config.rules.shipping.max_orders_per_batch == 200


def test_three_planted_mistakes_are_each_named_with_file_and_key(config_copy: Path):
    _edit(config_copy / "shops.yaml", lambda d: d["shops"][2].update(platform="jingdong"))
    _edit(config_copy / "shops.yaml", lambda d: d["shops"][0]["stock_sync"].update(allocation_share=1.5))
    _edit(config_copy / "suppliers.yaml", lambda d: d["suppliers"][1].update(lead_time_days=-3))

    result = CliRunner().invoke(app, ["config", "check", "--config-dir", str(config_copy)])

    assert result.exit_code == 2
    out = result.output
    assert "config/shops.yaml: shops[2] (id jd-pop).platform: 'jingdong' is not a known platform" in out
    assert "config/shops.yaml: shops[0] (id tmall-flagship).stock_sync.allocation_share:" in out
    assert "less than or equal to 1" in out
    assert "config/suppliers.yaml: suppliers[1] (id gz-shoes).lead_time_days:" in out
    assert "greater than or equal to 0" in out


def test_shares_summing_above_one_are_rejected(config_copy: Path):
    _edit(config_copy / "shops.yaml", lambda d: [s["stock_sync"].update(allocation_share=0.5) for s in d["shops"]])
    with pytest.raises(ConfigError) as err:
        load_config(config_copy)
    assert "sums to 3.50" in str(err.value)


def test_a_shop_profitability_ratio_is_read_and_checked(config_copy: Path):
    rules = config_copy / "rules.yaml"
    _edit(rules, lambda d: d["settlement"].update(profitability_target_ratio_by_shop={"pdd-main": 1.2}))
    assert load_config(config_copy).rules.settlement.profitability_target_ratio_by_shop == {"pdd-main": 1.2}
    _edit(rules, lambda d: d["settlement"].update(profitability_target_ratio_by_shop={"pdd-mian": 1.2, "jd-pop": 0}))
    with pytest.raises(ConfigError) as err:
        load_config(config_copy)
    assert "the ratio of jd-pop must be above 0" in str(err.value)
    _edit(rules, lambda d: d["settlement"].update(profitability_target_ratio_by_shop={"pdd-mian": 1.2}))
    with pytest.raises(ConfigError) as err:
        load_config(config_copy)
    assert ("config/rules.yaml: settlement.profitability_target_ratio_by_shop.pdd-mian: 'pdd-mian' is not a shop "
            "in shops.yaml") in str(err.value)


def test_unknown_key_and_bad_yaml_are_reported(config_copy: Path):
    _edit(config_copy / "rules.yaml", lambda d: d["restock"].update(cooldown_hrs=12))
    (config_copy / "promotions" / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(config_copy)
    text = str(err.value)
    assert "config/rules.yaml: restock.cooldown_hrs: unknown key" in text
    assert "config/promotions/broken.yaml: line" in text


def test_bad_configuration_stops_other_commands_at_start(config_copy: Path, monkeypatch):
    _edit(config_copy / "shops.yaml", lambda d: d["shops"][0].update(timezone="Mars/Olympus"))
    monkeypatch.setenv("SHOPOPS_CONFIG_DIR", str(config_copy))
    from config.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["version"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "shops[0] (id tmall-flagship).timezone: 'Mars/Olympus' is not a time zone name" in result.output


def test_messages_follow_the_locale():
    from shopops.i18n import t

    assert t("config_bad", locale="en", n=2) == "The configuration has 2 problem(s):"
    assert t("config_bad", locale="zh_CN", n=2) == "配置有 2 处问题："


# --- what changes behaviour is refused, naming file, key and problem (issue 19 #15) ---------------

def _problems(config_dir: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(config_dir)
    return str(err.value)


def test_a_key_given_twice_is_refused_with_its_line(config_copy: Path):
    rules = config_copy / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace(
        "  push_dry_run: true", "  push_dry_run: true\n  push_enabled: true", 1), encoding="utf-8")
    text = _problems(config_copy)
    assert "config/rules.yaml: line" in text and "key 'push_enabled' appears twice (first on line" in text


def test_duplicate_supplier_ids_are_refused(config_copy: Path):
    _edit(config_copy / "suppliers.yaml", lambda d: d["suppliers"][1].update(id=d["suppliers"][0]["id"]))
    first = yaml.safe_load((config_copy / "suppliers.yaml").read_text(encoding="utf-8"))["suppliers"][0]["id"]
    assert f"config/suppliers.yaml: suppliers: supplier id '{first}' appears twice" in _problems(config_copy)


def test_two_campaigns_with_one_name_are_refused(config_copy: Path):
    _edit(config_copy / "promotions" / "double12-2026.yaml", lambda d: d.update(name="double11-2026"))
    text = _problems(config_copy)
    assert ("config/promotions/double12-2026.yaml: name: campaign 'double11-2026' is also the name in "
            "config/promotions/double11-2026.yaml") in text


def test_an_empty_campaign_file_is_refused(config_copy: Path):
    (config_copy / "promotions" / "618-2027.yaml").write_text("# to do\n", encoding="utf-8")
    assert "config/promotions/618-2027.yaml: (file): the file is empty" in _problems(config_copy)


def test_a_yml_campaign_file_is_read_not_ignored(config_copy: Path):
    source = config_copy / "promotions" / "double12-2026.yaml"
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    source.unlink()
    (config_copy / "promotions" / "double12-2026.yml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                                                  encoding="utf-8")
    assert "double12-2026" in {p.name for p in load_config(config_copy).promotions}
    data["skus"][0]["campaign_price_minor"] = data["skus"][0]["list_price_minor"] + 1
    (config_copy / "promotions" / "double12-2026.yml").write_text(yaml.safe_dump(data, allow_unicode=True),
                                                                  encoding="utf-8")
    assert "config/promotions/double12-2026.yml: skus[0]" in _problems(config_copy)


def test_a_file_url_on_an_api_shop_is_refused(config_copy: Path):
    _edit(config_copy / "shops.yaml", lambda d: d["shops"][2].update(base_url="file:///srv/exports"))
    assert ("config/shops.yaml: shops[2] (id jd-pop).base_url: 'file:///srv/exports' is a folder; a jd shop "
            "needs its API's http(s) URL") in _problems(config_copy)


def test_an_empty_credentials_block_name_is_refused(config_copy: Path):
    _edit(config_copy / "shops.yaml", lambda d: d["shops"][0].update(credentials_block="  "))
    _edit(config_copy / "shops.yaml", lambda d: d["shops"][1].update(credentials_block=None))   # `credentials_block:`
    text = _problems(config_copy)
    assert "config/shops.yaml: shops[0] (id tmall-flagship).credentials_block: empty" in text
    assert "config/shops.yaml: shops[1] (id taobao-cstore).credentials_block: empty" in text


def test_connector_options_are_checked_per_platform(config_copy: Path):
    def change(d):
        d["shops"][0]["connector_options"] = {"throttle_rate_per_s": "fast", "sign_method": "sha1"}  # taobao
        d["shops"][2]["connector_options"] = {"timeout": 30}                                        # jd: a typo
        d["shops"][5]["connector_options"] = {"location_id": 7, "sign_method": "md5"}                # shopify
        d["shops"][1]["connector_options"] = "throttle_rate_per_s=5"                                 # not a mapping

    _edit(config_copy / "shops.yaml", change)
    text = _problems(config_copy)
    assert "shops[0] (id tmall-flagship).connector_options.throttle_rate_per_s:" in text and "'fast'" in text
    assert "shops[0] (id tmall-flagship).connector_options.sign_method:" in text
    assert "shops[2] (id jd-pop).connector_options.timeout: unknown key" in text
    assert "shops[5] (id shopify-global).connector_options.sign_method: unknown key" in text
    assert "shops[5] (id shopify-global).connector_options.location_id" not in text   # an id may be a number
    assert "shops[1] (id taobao-cstore).connector_options:" in text


def test_connector_option_keys_cover_every_connector_setting():
    """A setting added to ``ConnectorSettings`` must be allowed in shops.yaml too."""
    from dataclasses import fields

    from config.schema import COMMON_CONNECTOR_OPTIONS
    from connectors.base import ConnectorSettings

    settable = {f.name for f in fields(ConnectorSettings)} - {"base_url", "options", "max_window", "safety_lag"}
    assert settable <= set(COMMON_CONNECTOR_OPTIONS)
