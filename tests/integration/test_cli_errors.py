"""Bad input gets a clear word, never a traceback (issue 19 #14): the CLI as an operator runs it.

A few cases run the installed ``.venv/bin/shopops`` in a subprocess (the real terminal
output); the rest go through Typer's CliRunner. Each asserts the message and that no
traceback reached the output.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.settings import CONFIG_DIR, get_settings
from shopops.cli import app

SHOPOPS = Path(sys.executable).with_name("shopops")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """An empty data folder, a copy of config/, English messages; settings read afresh."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("*.py", "__pycache__", "scenarios"))
    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPOPS_CONFIG_DIR", str(config))
    monkeypatch.setenv("SHOPOPS_LOCALE", "en")
    monkeypatch.delenv("SHOPOPS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield config
    get_settings.cache_clear()


def invoke(*args: str):
    get_settings.cache_clear()
    result = CliRunner().invoke(app, list(args))
    get_settings.cache_clear()
    # an exception that escaped the CLI is kept by CliRunner instead of being printed: it must not exist
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def run_shopops(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SHOPOPS_")} | env
    done = subprocess.run([str(SHOPOPS), *args], capture_output=True, text=True, env=environment, timeout=120)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def test_a_bad_shopops_locale_is_named_in_a_subprocess(tmp_path):
    done = run_shopops("quarantine", "list", SHOPOPS_LOCALE="fr", SHOPOPS_DATA_DIR=str(tmp_path))
    assert done.returncode == 2
    assert "SHOPOPS_LOCALE='fr'" in done.stderr and "'zh_CN' or 'en'" in done.stderr
    assert "SHOPOPS_ 设置" in done.stderr        # the locale itself is bad: the default (zh_CN) speaks


def test_a_bad_numeric_setting_is_named(env, monkeypatch):
    monkeypatch.setenv("SHOPOPS_PREFECT_PORT", "forty-two")
    result = invoke("version")
    assert result.exit_code == 2
    assert "SHOPOPS_PREFECT_PORT='forty-two'" in result.output and "Fix or unset it" in result.output


def test_an_empty_yaml_file_is_named(env):
    (env / "suppliers.yaml").write_text("", encoding="utf-8")
    for args in (["config", "check"], ["version"]):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert "config/suppliers.yaml: (file): the file is empty" in result.output


def test_a_gbk_yaml_file_is_read(env):
    shops = env / "shops.yaml"
    shops.write_bytes(shops.read_text(encoding="utf-8").encode("gbk"))   # Notepad's "ANSI" on a Chinese Windows
    result = invoke("config", "check")
    assert result.exit_code == 0, result.output
    assert "Configuration is valid" in result.output


def test_a_yaml_file_in_no_known_encoding_is_named(env):
    (env / "rules.yaml").write_bytes(b"orders:\n  lookback_minutes: \xff\xfe\xff\n")
    result = invoke("config", "check")
    assert result.exit_code == 2
    assert "config/rules.yaml: (file): not text in UTF-8 or GBK" in result.output


def test_malformed_credentials_json_names_the_variable_not_the_value(monkeypatch):
    from config.schema import load_config
    from tasks.secrets import MissingSecretError, shop_credentials

    shop = load_config(CONFIG_DIR).shop("jd-pop")
    monkeypatch.setenv("SHOPOPS_CRED_JD_POP", '{"app_key": "k", "app_secret": "s3cr3t-value"')   # no closing brace
    with pytest.raises(MissingSecretError) as err:
        shop_credentials(shop)
    assert "SHOPOPS_CRED_JD_POP is not valid JSON" in str(err.value) and "s3cr3t" not in str(err.value)
    monkeypatch.setenv("SHOPOPS_CRED_JD_POP", '["k", "s"]')
    with pytest.raises(MissingSecretError, match="must be a JSON object"):
        shop_credentials(shop)


def test_a_command_on_an_unmigrated_warehouse_says_run_db_upgrade(env):
    for args in (["quarantine", "list"], ["stock", "discrepancies"]):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert "Run `shopops db upgrade`" in result.output


def test_an_unmigrated_warehouse_in_a_subprocess(tmp_path):
    done = run_shopops("stock", "discrepancies", SHOPOPS_LOCALE="en", SHOPOPS_DATA_DIR=str(tmp_path))
    assert done.returncode == 2 and "Run `shopops db upgrade`" in done.stderr


# --- count files ------------------------------------------------------------------------------

def test_an_empty_count_file_is_refused_clearly(env, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = invoke("stock", "import-count", str(empty))
    assert result.exit_code == 2
    assert f"{empty}: the file is empty" in result.output


def test_a_ragged_count_file_names_the_row(env, tmp_path):
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("sku,warehouse,counted_qty\nA,HZ01,3\nB,HZ01,4,extra\n", encoding="utf-8")
    result = invoke("stock", "import-count", str(ragged))
    assert result.exit_code == 2
    assert f"{ragged}: row 3: 4 fields, the header has 3" in result.output


def test_a_corrupt_xlsx_count_file_is_refused_clearly(env, tmp_path):
    corrupt = tmp_path / "count.xlsx"
    corrupt.write_bytes(b"PK\x03\x04 this is not a workbook")
    result = invoke("stock", "import-count", str(corrupt))
    assert result.exit_code == 2
    assert f"{corrupt}: not a readable Excel workbook" in result.output


def test_a_gbk_count_file_is_decoded(tmp_path):
    from tasks.stock import read_count_file

    gbk = tmp_path / "盘点.csv"
    gbk.write_bytes("sku,warehouse,counted_qty,备注\nA,HZ01,3,货架一\n".encode("gbk"))
    count = read_count_file(gbk)
    assert count.counts.to_dict("records") == [{"sku": "A", "warehouse": "HZ01", "counted_qty": 3}]


def test_a_count_file_in_no_known_encoding_is_named(env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"sku,warehouse,counted_qty\n\xff\xfe,HZ01,3\n")
    result = invoke("stock", "import-count", str(bad))
    assert result.exit_code == 2
    assert f"{bad}: not text in UTF-8 or GBK" in result.output
