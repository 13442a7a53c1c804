"""`shopops ingest` refuses a backfill window that cannot be read (issue 19 #7): a `--since`
in the future or not before `--until` is a clear, localised error, never a success."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from config.settings import get_settings
from shopops.cli import app


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("locale, future, after", [
    ("en", "is in the future", "is not before --until"),
    ("zh_CN", "晚于当前时间", "不早于 --until"),
])
def test_ingest_refuses_a_since_in_the_future_or_after_until(cli_env, monkeypatch, locale, future, after):
    monkeypatch.setenv("SHOPOPS_LOCALE", locale)
    get_settings.cache_clear()
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    result = CliRunner().invoke(app, ["ingest", "--shop", "jd-pop", "--since", tomorrow])
    assert result.exit_code == 2 and future in result.output, result.output
    assert "Traceback" not in result.output

    result = CliRunner().invoke(app, ["ingest", "--shop", "jd-pop", "--since", "2026-11-12T00:00:00+00:00",
                                      "--until", "2026-11-11T00:00:00+00:00"])
    assert result.exit_code == 2 and after in result.output, result.output
