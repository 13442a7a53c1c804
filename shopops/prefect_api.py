"""The Prefect server a ``shopops`` command talks to (issue 23 #7).

Without ``PREFECT_API_URL`` Prefect starts a throwaway server for the process: its runs are
seen by nobody, the team's Secret blocks are not there ("Secret block does not exist"), and
Prefect's analytics are attempted. So before Prefect is imported the CLI points it at the
team's server — in this order:

1. ``PREFECT_API_URL`` given explicitly (environment, or the active Prefect profile);
2. ``SHOPOPS_PREFECT_API_URL``;
3. the demo running from this data folder (``<data_dir>/demo.json`` records its API); the command
   then also reads the demo's copy of the configuration (shops pointed at the sandbox) and links
   to its reports server, unless ``SHOPOPS_CONFIG_DIR`` / ``SHOPOPS_REPORTS_URL`` say otherwise;
4. the demo's address, ``http://127.0.0.1:<SHOPOPS_PREFECT_PORT, 4200>/api``.

It also switches analytics off (``DO_NOT_TRACK``, ``PREFECT_SERVER_ANALYTICS_ENABLED``) and forbids
the throwaway server. A command that runs a flow first asks the server's ``/health``
(:func:`require_prefect`); when nothing answers it says which address it tried and how to start
the demo or set the variable, instead of starting a server or printing a traceback. Commands
that need no Prefect (``config check``, ``db …``, ``settle show`` …) never ask.
"""
from __future__ import annotations

import json
import os
import sys
import tomllib
from contextlib import contextmanager
from pathlib import Path

from config.settings import Settings

#: how long the CLI waits for the server's /health before saying it is not there
HEALTH_TIMEOUT_S = 5.0
#: (url, source) chosen by :func:`configure_prefect` for the command running
chosen: tuple[str, str] | None = None
#: analytics off and no throwaway server, for every CLI process
QUIET = (("DO_NOT_TRACK", "1"), ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
         ("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "false"))


class PrefectUnreachable(RuntimeError):
    """No Prefect server answers at ``url``; the message says what to do."""

    def __init__(self, url: str, source: str, error: str):
        from config.settings import get_settings
        from shopops.i18n import t

        self.url, self.source, self.error = url, source, error
        demo = get_settings().demo_prefect_api
        super().__init__(t("pf_unreachable", url=url, source=t(f"pf_source_{source}"), error=error, demo=demo))


def _profile_api_url() -> str | None:
    """PREFECT_API_URL of the active Prefect profile (``prefect config set PREFECT_API_URL=…``)."""
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    try:
        profiles = tomllib.loads((home / "profiles.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active")
    value = (profiles.get("profiles", {}).get(active) or {}).get("PREFECT_API_URL") if active else None
    return str(value) if value else None


def _running_demo_api(settings: Settings) -> str | None:
    """The API of a demo whose supervisor is alive and runs from this data folder."""
    from shopops.demo import DemoStack

    stack = DemoStack(settings=settings)
    if stack.running_pid() is None:
        return None
    try:
        return json.loads(stack.state_file.read_text()).get("api")
    except (OSError, ValueError):
        return None


def choose_api_url(settings: Settings) -> tuple[str, str]:
    """(the Prefect API URL, where it came from: env, profile, setting, demo or default)."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"], "env"
    if (profile := _profile_api_url()) is not None:
        return profile, "profile"
    if settings.prefect_api_url:
        return settings.prefect_api_url, "setting"
    if (demo := _running_demo_api(settings)) is not None:
        return demo, "demo"
    return settings.prefect_api, "default"


def configure_prefect(settings: Settings, own_server: str | None = None) -> tuple[str, str]:
    """Point this process's Prefect at the chosen server (``own_server``: the demo supervisor's
    own, whatever else is set), analytics off, no throwaway server. Must run before Prefect is
    imported (Prefect reads its settings once, at import); when a caller already configured an
    imported Prefect (a test harness), that configuration stays."""
    global chosen
    for name, value in QUIET:
        os.environ.setdefault(name, value)
    chosen = (own_server, "demo") if own_server else _current(settings)
    if own_server or chosen[1] != "env":
        os.environ["PREFECT_API_URL"] = chosen[0]
    if chosen[1] == "demo" and not own_server:
        _follow_the_demo(settings)
    return chosen


def _follow_the_demo(settings: Settings) -> None:
    """A command run beside the demo of this data folder works on the demo's world: its copy of
    the configuration (shops pointed at the sandbox, not at the real marketplaces with the
    sandbox's credentials) and its reports server for links — unless they are set explicitly."""
    from config.settings import get_settings
    from shopops.demo import DemoStack

    stack = DemoStack(settings=settings)
    changed = False
    for name, value in (("SHOPOPS_CONFIG_DIR", stack.demo_config_dir), ("SHOPOPS_REPORTS_URL", stack.reports_url)):
        if name not in os.environ and (name != "SHOPOPS_CONFIG_DIR" or (stack.demo_config_dir / "shops.yaml").exists()):
            os.environ[name] = str(value)
            changed = True
    if changed:
        get_settings.cache_clear()


@contextmanager
def prefect_configured(settings: Settings, own_server: str | None = None):
    """:func:`configure_prefect` for one command; afterwards the environment is as it was (a
    command invoked in-process, by a test, leaves nothing behind)."""
    global chosen
    names = [name for name, _ in QUIET] + ["PREFECT_API_URL", "SHOPOPS_CONFIG_DIR", "SHOPOPS_REPORTS_URL"]
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield configure_prefect(settings, own_server)
    finally:
        chosen = None
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        from config.settings import get_settings

        get_settings.cache_clear()


def _current(settings: Settings) -> tuple[str, str]:
    """(url, source) of the server this command uses, without changing anything."""
    if chosen is not None:
        return chosen
    if "prefect.settings" in sys.modules:
        from prefect.settings import PREFECT_API_URL

        if PREFECT_API_URL.value():
            return str(PREFECT_API_URL.value()), "env"
    return choose_api_url(settings)


def unreachable_reason(url: str, timeout_s: float = HEALTH_TIMEOUT_S) -> str | None:
    """None when the Prefect API at ``url`` answers its health check, else why not (one line)."""
    import requests

    auth = os.environ.get("PREFECT_API_AUTH_STRING")   # a server behind basic auth (PREFECT_SERVER_API_AUTH_STRING)
    try:
        answer = requests.get(f"{url.rstrip('/')}/health", timeout=timeout_s,
                              auth=tuple(auth.split(":", 1)) if auth and ":" in auth else None)
    except requests.RequestException as exc:
        return type(exc).__name__
    return None if answer.ok else f"HTTP {answer.status_code}"


def require_prefect(settings: Settings) -> str:
    """The configured API URL when its server answers; else :class:`PrefectUnreachable`."""
    url, source = _current(settings)
    error = unreachable_reason(url)
    if error is not None:
        raise PrefectUnreachable(url, source, error)
    return url
