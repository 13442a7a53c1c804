"""Issue 19 #18, the smaller ones, through the ``shopops`` command (typer's CliRunner, a real
SQLite warehouse in tmp): a header-only count file is refused; a configuration problem reads
the same in ``config check`` and in any other command, in SHOPOPS_LOCALE; an unknown
settlement preset is named as unknown with the known ones; ``shopops leak-scan`` exists, scans
the data folder and the warehouse, and exits 1 on a finding."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.settings import CONFIG_DIR, get_settings
from shopops.cli import app
from warehouse import migrate

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    monkeypatch.delenv("SHOPOPS_WEBHOOK_URL", raising=False)
    get_settings.cache_clear()
    (tmp_path / "data").mkdir()
    migrate.upgrade(get_settings().warehouse_url)
    yield tmp_path
    get_settings.cache_clear()


def test_a_count_file_with_only_its_header_is_refused(env):
    count = env / "count.csv"
    count.write_text("sku,warehouse,counted_qty\n", encoding="utf-8")
    result = runner.invoke(app, ["stock", "import-count", str(count)])
    assert result.exit_code == 2, result.output
    assert "count.csv: the count file has a header but no rows; nothing was imported" in result.output


@pytest.mark.parametrize("locale, headline", [("en", "The configuration has 1 problem(s):"),
                                              ("zh_CN", "配置有 1 处问题：")])
def test_a_config_problem_reads_the_same_in_config_check_and_elsewhere(env, monkeypatch, locale, headline):
    broken = env / "config"
    shutil.copytree(CONFIG_DIR, broken, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shops = broken / "shops.yaml"
    shops.write_text(shops.read_text(encoding="utf-8").replace("platform: jd", "platform: jdd", 1), encoding="utf-8")
    monkeypatch.setenv("SHOPOPS_CONFIG_DIR", str(broken))
    monkeypatch.setenv("SHOPOPS_LOCALE", locale)
    get_settings.cache_clear()
    check = runner.invoke(app, ["config", "check"])
    other = runner.invoke(app, ["stock", "discrepancies"])
    assert check.exit_code == other.exit_code == 2
    assert check.output == other.output, (check.output, other.output)
    assert check.output.startswith(headline) and "jdd" in check.output


def test_an_unknown_settlement_preset_is_named_unknown_with_the_known_ones(env):
    for command in (["settle", "show", "2026-10", "--preset", "bogus"],
                    ["settle", "diff", "2026-10", "1", "2", "--preset", "bogus"],
                    ["settle", "2026-10", "--preset", "bogus", "--dry-run"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "There is no settlement preset 'bogus'" in result.output and "seed_commission" in result.output
        assert "no settlement of" not in result.output


def test_leak_scan_command_scans_the_data_folder_and_the_warehouse(env):
    data = env / "data"
    reports = data / "reports" / "unit"
    reports.mkdir(parents=True)
    (reports / "clean.md").write_text("order 2000000000000053477, phone 138****5678\n", encoding="utf-8")
    clean = runner.invoke(app, ["leak-scan", "--no-prefect"])
    assert clean.exit_code == 0, clean.output
    assert "no leak found" in clean.output
    assert "text lines" in clean.output and "db values" in clean.output    # the folder and the warehouse

    (data / "logs").mkdir()
    (data / "logs" / "run.log").write_text("shipped to 13812345678 for Bob Norman\n", encoding="utf-8")
    buyers = env / "buyers.txt"
    buyers.write_text("# ground truth\nBob Norman\nbob.norman@example.com\n", encoding="utf-8")
    found = runner.invoke(app, ["leak-scan", "--no-prefect", "--buyers-file", str(buyers)])
    assert found.exit_code == 1, found.output
    assert "2 leak(s) found" in found.output and "run.log:1" in found.output
    assert "13812345678" not in found.output and "Bob Norman" not in found.output

    # the whole data folder, as documented: the sandbox's credentials are looked for everywhere
    # but in the credentials file itself
    secret = "app-secret-0123456789abcdef"
    (data / "sandbox").mkdir()
    (data / "sandbox" / "credentials.json").write_text(
        '{"jd-pop": {"app_key": "k", "app_secret": "%s", "access_token": "t"}}' % secret, encoding="utf-8")
    (data / "logs" / "run.log").write_text("signed with app-secret-0123456789abcdef\n", encoding="utf-8")
    whole = runner.invoke(app, ["leak-scan", str(data), "--no-prefect"])
    assert whole.exit_code == 1, whole.output
    assert "1 leak(s) found" in whole.output and "secret in" in whole.output and secret not in whole.output
