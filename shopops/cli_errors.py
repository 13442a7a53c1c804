"""The one place where an error of any ``shopops`` command becomes what a person reads.

Every command runs inside :class:`ShopopsGroup` (the top-level Typer app's group), so an
exception that leaves a command is turned into one localised message — what went wrong and
what to do — and an exit code, never a traceback. Prefect's console handler is told not to
echo tracebacks either (the run's log in the Prefect UI keeps them): a flow-backed command
prints its flow's error once, as a message. ``SHOPOPS_DEBUG=1`` shows the traceback of an
unexpected error for a developer.
"""
from __future__ import annotations

import logging
import os
import sys
import traceback

import click
import typer._click as typer_click  # typer ≥ 0.26 vendors click: its usage errors are not click's
import typer
import typer.core

#: exit codes: 1 the work failed (a run, the database); 2 the input or the setup is wrong
EXIT_FAILED, EXIT_BAD_INPUT = 1, 2


def _locale() -> str:
    """The configured locale, or zh_CN when the settings themselves are what is wrong."""
    try:
        from config.settings import get_settings

        return get_settings().locale
    except Exception:  # noqa: BLE001 - a bad SHOPOPS_* setting: fall back, do not fail again
        value = os.environ.get("SHOPOPS_LOCALE", "")
        return value if value in ("en", "zh_CN") else "zh_CN"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _warehouse_url() -> str:
    try:
        from sqlalchemy.engine import make_url

        from config.settings import get_settings

        return make_url(get_settings().warehouse_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "SHOPOPS_DATABASE_URL"


def _settings_problems(exc) -> list[str]:
    """A pydantic error of ``config.settings.Settings`` as one line per variable."""
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err.get("loc") else "?"
        value = err.get("input")
        lines.append(f"SHOPOPS_{field.upper()}={value!r}: {err['msg']}")
    return lines


def _chain(exc: BaseException):
    """``exc`` and the exceptions it was raised from (pandas wraps a driver's error, for one)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _missing_table(exc: BaseException) -> bool:
    """The warehouse lacks a table or column: it was never migrated, or not to this version."""
    for link in _chain(exc):
        orig = getattr(link, "orig", None)
        text = str(orig if orig is not None else link).lower()
        if (getattr(orig, "sqlstate", None) or getattr(link, "sqlstate", None)) in ("42P01", "42703") \
                or "no such table" in text or "no such column" in text \
                or ("relation" in text and "does not exist" in text) or type(link).__name__ == "NoSuchTableError":
            return True
    return False


def _prefect_unreachable(exc: BaseException):
    """The :class:`~shopops.prefect_api.PrefectUnreachable` an error amounts to: itself, or a
    connection to the configured Prefect API that failed mid-command (a Secret block read …)."""
    from shopops import prefect_api
    from shopops.prefect_api import PrefectUnreachable

    api, source = prefect_api.chosen or (os.environ.get("PREFECT_API_URL", ""), "env")
    for link in _chain(exc):
        if isinstance(link, PrefectUnreachable):
            return link
        request = getattr(link, "_request", None)   # httpx's errors keep the request they failed on
        if api and type(link).__module__.startswith("httpx") and type(link).__name__ in (
                "ConnectError", "ConnectTimeout") and request is not None and str(request.url).startswith(api):
            return PrefectUnreachable(api, source, type(link).__name__)
    return None


def explain(exc: BaseException) -> tuple[str, int]:
    """(message, exit code) for an exception that left a command."""
    from pydantic import ValidationError
    from shopops.i18n import t

    locale = _locale()
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return t("cli_bad_settings", locale, problems="\n".join(f"  - {p}" for p in _settings_problems(exc))), \
            EXIT_BAD_INPUT
    from config.schema import ConfigError

    if isinstance(exc, ConfigError):
        lines = [t("config_bad", locale, n=len(exc.problems)), *(f"  - {p}" for p in exc.problems),
                 t("config_fix", locale)]
        return "\n".join(lines), EXIT_BAD_INPUT
    unreachable = _prefect_unreachable(exc)
    if unreachable is not None:
        return str(unreachable), EXIT_BAD_INPUT
    if _missing_table(exc):
        return t("cli_not_migrated", locale, url=_warehouse_url()), EXIT_BAD_INPUT
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import DBAPIError

        if isinstance(exc, DBAPIError):
            return t("db_unreachable", locale, url=_warehouse_url(), error=_first_line(exc.orig or exc)), EXIT_FAILED
    if "domain.input_files" in sys.modules:
        from domain.input_files import InputFileError

        if isinstance(exc, InputFileError):                           # a hand-kept file refused, in the locale
            return exc.render(lambda key, **values: t(key, locale, **values)), EXIT_FAILED
    if type(exc).__name__ in ("MissingSecretError", "CountFileError"):
        return str(exc), EXIT_BAD_INPUT
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str) and " " in exc.args[0]:
        return exc.args[0], EXIT_BAD_INPUT                             # e.g. "unknown shop 'x'; known: …"
    if isinstance(exc, UnicodeDecodeError):
        return t("cli_not_utf8", locale, error=_first_line(exc)), EXIT_BAD_INPUT
    if isinstance(exc, OSError):
        return t("cli_os_error", locale, error=_first_line(exc)), EXIT_BAD_INPUT
    if isinstance(exc, ValueError) or type(exc).__name__ in ("ConnectorError", "BatchError") or any(
            c.__name__ == "ConnectorError" for c in type(exc).__mro__):
        return str(exc).strip() or type(exc).__name__, EXIT_FAILED   # written for a person by whoever raised it
    if type(exc).__module__.startswith("prefect") and str(exc).strip():
        return str(exc).strip(), EXIT_FAILED                           # FailedRun, CrashedRun …: the run's message
    return t("cli_unexpected", locale, kind=type(exc).__name__, error=_first_line(exc)), EXIT_FAILED


class _WithoutTraceback(logging.Formatter):
    """Formats a console log line as the wrapped formatter does, without its traceback (the
    record itself is left alone: the Prefect UI's log and other handlers keep the traceback)."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        bare = logging.makeLogRecord(record.__dict__)
        bare.exc_info, bare.exc_text, bare.stack_info = None, None, None
        return self.inner.format(bare)


def quiet_console_tracebacks() -> None:
    """Prefect's console handler prints log lines without tracebacks in this process."""
    from prefect.logging.configuration import ensure_logging_setup
    from prefect.logging.handlers import PrefectConsoleHandler

    ensure_logging_setup()
    for handler in {*logging.getLogger().handlers, *logging.getLogger("prefect").handlers}:
        if isinstance(handler, PrefectConsoleHandler) and not isinstance(handler.formatter, _WithoutTraceback):
            handler.setFormatter(_WithoutTraceback(handler.formatter))


#: what a command raises to end itself: not an error to explain
_EXITS = (typer.Exit, typer.Abort, click.exceptions.Exit, click.ClickException, click.Abort,
          typer_click.ClickException)


class ShopopsGroup(typer.core.TyperGroup):
    """The top-level group: every command's error is explained here, once."""

    def invoke(self, ctx: click.Context):
        words = [*getattr(ctx, "_protected_args", []), *ctx.args]
        if not words or words[0] in ("version", "config", "db"):
            return self._explained(super().invoke, ctx)
        return self._explained(self._on_the_teams_server, ctx)

    def _on_the_teams_server(self, ctx: click.Context):
        """The command with Prefect pointed at the team's server, analytics off, no throwaway
        server — set before Prefect is imported (shopops/prefect_api.py)."""
        from config.settings import get_settings
        from shopops.prefect_api import prefect_configured

        settings = get_settings()
        words = [*getattr(ctx, "_protected_args", []), *ctx.args]
        # the demo registers its blocks on the server it starts, whatever else is configured
        own = settings.demo_prefect_api if words[:1] == ["demo"] else None
        with prefect_configured(settings, own):
            try:
                quiet_console_tracebacks()
                return super().invoke(ctx)
            except _EXITS:
                raise
            except Exception as exc:  # noqa: BLE001 - explained while the server's address is still known
                unreachable = _prefect_unreachable(exc)
                if unreachable is None:
                    raise
                raise unreachable from None

    @staticmethod
    def _explained(call, ctx: click.Context):
        try:
            return call(ctx)
        except _EXITS:
            raise
        except Exception as exc:  # noqa: BLE001 - this is the one place that turns errors into words
            message, code = explain(exc)
            typer.echo(message, err=True)
            if os.environ.get("SHOPOPS_DEBUG", "").lower() in ("1", "true", "yes"):
                typer.echo("".join(traceback.format_exception(exc)), err=True)
            raise typer.Exit(code) from None
