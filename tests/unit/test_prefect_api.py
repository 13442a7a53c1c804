"""Which Prefect server the CLI uses (issue 23 #7): an explicit PREFECT_API_URL (environment or
the active Prefect profile), then SHOPOPS_PREFECT_API_URL, then the running demo's recorded
server, then the demo's default address; analytics off; an in-process command leaves the
environment as it found it. Pure: no server is contacted."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from config.settings import Settings
from shopops import prefect_api
from shopops.prefect_api import choose_api_url, prefect_configured


@pytest.fixture
def clean(monkeypatch, tmp_path):
    for name in ("PREFECT_API_URL", "PREFECT_PROFILE", "DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED",
                 "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    return tmp_path


def settings(tmp_path, **values) -> Settings:
    return Settings(data_dir=tmp_path / "data", **values)


def test_the_default_is_the_demos_server_on_its_port(clean):
    assert choose_api_url(settings(clean)) == ("http://127.0.0.1:4200/api", "default")
    assert choose_api_url(settings(clean, prefect_port=4321)) == ("http://127.0.0.1:4321/api", "default")


def test_the_setting_then_the_profile_then_the_environment_win(clean, monkeypatch):
    assert choose_api_url(settings(clean, prefect_api_url="http://prefect.team:4200/api/")) == (
        "http://prefect.team:4200/api", "setting")
    home = clean / "prefect-home"
    home.mkdir()
    (home / "profiles.toml").write_text('active = "team"\n[profiles.team]\nPREFECT_API_URL = "http://profile:4200/api"\n',
                                        encoding="utf-8")
    assert choose_api_url(settings(clean, prefect_api_url="http://prefect.team:4200/api")) == (
        "http://profile:4200/api", "profile")
    monkeypatch.setenv("PREFECT_API_URL", "http://explicit:4200/api")
    assert choose_api_url(settings(clean, prefect_api_url="http://prefect.team:4200/api")) == (
        "http://explicit:4200/api", "env")


def test_a_running_demo_of_this_data_folder_is_used(clean):
    data = clean / "data"
    data.mkdir()
    (data / "demo.json").write_text(json.dumps({"supervisor": os.getpid(), "api": "http://127.0.0.1:4300/api"}))
    assert choose_api_url(settings(clean)) == ("http://127.0.0.1:4300/api", "demo")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (data / "demo.json").write_text(json.dumps({"supervisor": int(dead.stdout), "api": "http://127.0.0.1:4300/api"}))
    assert choose_api_url(settings(clean)) == ("http://127.0.0.1:4200/api", "default")   # that demo has stopped


def test_a_setting_that_is_not_a_url_is_refused(clean):
    with pytest.raises(ValueError, match="SHOPOPS_PREFECT_API_URL 'prefect:4200' is not an http"):
        settings(clean, prefect_api_url="prefect:4200")


def test_a_command_gets_analytics_off_and_leaves_the_environment_as_it_was(clean, monkeypatch):
    monkeypatch.delitem(sys.modules, "prefect.settings", raising=False)   # as in a fresh CLI process
    with prefect_configured(settings(clean, prefect_port=4555)) as (url, source):
        assert (url, source) == ("http://127.0.0.1:4555/api", "default")
        assert os.environ["PREFECT_API_URL"] == url
        assert os.environ["DO_NOT_TRACK"] == "1" and os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
        assert os.environ["PREFECT_SERVER_ALLOW_EPHEMERAL_MODE"] == "false"
        assert prefect_api.chosen == (url, source)
    assert "PREFECT_API_URL" not in os.environ and "DO_NOT_TRACK" not in os.environ
    assert prefect_api.chosen is None


def test_the_demo_supervisor_uses_its_own_server_whatever_else_is_set(clean, monkeypatch):
    """`shopops demo` registers its Secret blocks in-process: on the server it starts, not on the
    team's server a SHOPOPS_PREFECT_API_URL or PREFECT_API_URL of the shell names."""
    monkeypatch.delitem(sys.modules, "prefect.settings", raising=False)
    monkeypatch.setenv("PREFECT_API_URL", "http://team:4200/api")
    own = settings(clean, prefect_port=4556).demo_prefect_api
    with prefect_configured(settings(clean, prefect_api_url="http://team:4200/api"), own) as chosen:
        assert chosen == ("http://127.0.0.1:4556/api", "demo") and os.environ["PREFECT_API_URL"] == own
    assert os.environ["PREFECT_API_URL"] == "http://team:4200/api"


def test_beside_the_running_demo_a_command_reads_the_demos_configuration_and_links_to_its_reports(clean, monkeypatch):
    """With nothing set, a command run beside the demo works on the demo's world: its copy of
    the configuration (shops pointed at the sandbox — never the real marketplaces with the
    sandbox's credentials) and its reports server; an explicit setting still wins; afterwards
    the environment is as it was."""
    from config.settings import get_settings

    for name in ("SHOPOPS_CONFIG_DIR", "SHOPOPS_REPORTS_URL", "SHOPOPS_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    data = clean / "data"
    (data / "demo-config").mkdir(parents=True)
    (data / "demo-config" / "shops.yaml").write_text("shops: []\n", encoding="utf-8")
    (data / "demo.json").write_text(json.dumps({"supervisor": os.getpid(), "api": "http://127.0.0.1:4300/api"}))
    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(data))
    get_settings.cache_clear()
    with prefect_configured(get_settings()) as (url, source):
        assert (url, source) == ("http://127.0.0.1:4300/api", "demo")
        assert get_settings().config_dir == data / "demo-config"
        assert get_settings().reports_url == "http://127.0.0.1:8767/reports"
    assert "SHOPOPS_CONFIG_DIR" not in os.environ and "SHOPOPS_REPORTS_URL" not in os.environ
    monkeypatch.setenv("SHOPOPS_CONFIG_DIR", str(clean / "team-config"))
    get_settings.cache_clear()
    with prefect_configured(get_settings()):
        assert get_settings().config_dir == clean / "team-config"
    get_settings.cache_clear()
