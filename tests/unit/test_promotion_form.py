"""The promotion-campaign custom-run form (issue 23 #8): the campaign names of config/promotions/
are a choice (an ``enum`` in the parameter schema Prefect registers with the deployment — also for
a single campaign, where a ``Literal`` would become ``const`` and no choice), ``dry_run`` is on by
default, and a wrong name is one localised message with the known names — in the flow and on
the CLI, where it is answered before any run starts."""
from __future__ import annotations

import pytest
from prefect.utilities.callables import parameter_schema
from typer.testing import CliRunner

from config.schema import load_config
from config.settings import CONFIG_DIR, get_settings
from flows.promotion import campaign_name_type, promotion_campaign
from shopops.cli import app
from tasks.promotion import CampaignError, find_campaign

SHIPPED = sorted(p.stem for p in (CONFIG_DIR / "promotions").glob("*.yaml"))


def test_the_form_offers_the_configured_campaigns_and_dry_run_is_on():
    properties = parameter_schema(promotion_campaign).model_dump()["properties"]
    assert SHIPPED == ["double11-2026", "double12-2026"]
    assert properties["name"]["enum"] == SHIPPED and properties["name"]["type"] == "string"
    assert properties["dry_run"]["default"] is True
    assert properties["phase"]["enum"] == ["prepare", "start", "report", "close"]


def test_one_campaign_is_still_a_choice_and_none_is_a_text_field():
    from prefect import flow

    @flow
    def one(name: campaign_name_type(["double11-2026"])) -> None:  # noqa: F821 - built from the configuration
        pass

    assert parameter_schema(one).model_dump()["properties"]["name"]["enum"] == ["double11-2026"]
    assert campaign_name_type([]) is str


def wrong_name_message(monkeypatch, locale: str) -> str:
    monkeypatch.setenv("SHOPOPS_LOCALE", locale)
    get_settings.cache_clear()
    try:
        with pytest.raises(CampaignError) as refused:
            find_campaign(load_config(CONFIG_DIR), "double11-2062")
    finally:
        get_settings.cache_clear()
    return str(refused.value)


def test_a_wrong_name_is_one_message_with_the_known_names(monkeypatch):
    folder = CONFIG_DIR / "promotions"
    assert wrong_name_message(monkeypatch, "en") == (
        f"There is no campaign 'double11-2062' in {folder}; known campaigns: double11-2026, double12-2026. "
        f"Add {folder}/<name>.yaml and run `shopops config check`.")
    assert wrong_name_message(monkeypatch, "zh_CN").startswith(
        f"{folder} 中没有名为 'double11-2062' 的促销活动；已有活动：double11-2026, double12-2026。")


@pytest.mark.parametrize("args, expected", [
    (["promo", "prepare", "double11-2062"], "There is no campaign 'double11-2062' in "),
    (["promo", "start"], "Which campaign? Name one: double11-2026, double12-2026 "
                         "(e.g. `shopops promo prepare double11-2026`)."),
])
def test_the_cli_answers_a_wrong_or_missing_name_before_any_run(args, expected, monkeypatch, tmp_path):
    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOPOPS_PREFECT_PORT", "9")   # nothing listens: the name is checked before the server
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    assert result.output.startswith(expected) and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output and "No Prefect server" not in result.output
