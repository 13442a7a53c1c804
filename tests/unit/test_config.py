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
