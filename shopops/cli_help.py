"""The help texts of the ``shopops`` command in SHOPOPS_LOCALE (issue 23 #2).

Typer reads every ``help=`` when the CLI module is imported, so the language is the one
configured when the process starts (one process, one command). The texts are the catalogue's
``help_*`` keys (shopops/i18n.py, zh_CN and en).

Rich wraps a help text only at spaces and cuts what does not fit with "…"; a Chinese sentence
has no spaces, so in an 80-column terminal the options' and subcommands' help lost its end.
Importing this module makes typer's help text fold at the column's edge instead, so every
word is shown in any language.
"""
from __future__ import annotations

from shopops.i18n import t


def _locale() -> str:
    try:
        from config.settings import get_settings

        return get_settings().locale
    except Exception:  # noqa: BLE001 - pydantic's ValidationError for a bad SHOPOPS_* or .env value
        return "zh_CN"


def cli_help(key: str) -> str:
    """The help text ``key`` in the configured locale. A SHOPOPS_ setting that is not valid must
    not stop the CLI from loading (``shopops.cli_errors`` names it once a command runs): the
    help is then in the default language, zh_CN, as that message is."""
    return t(key, _locale())


#: typer's own words around the help (its panels' titles and markers), by the catalogue key
#: that says them (click's "Usage:" and "Show this message and exit." are click's, left as they are)
_TYPER_WORDS = {"ARGUMENTS_PANEL_TITLE": "help_panel_arguments", "OPTIONS_PANEL_TITLE": "help_panel_options",
                "COMMANDS_PANEL_TITLE": "help_panel_commands", "ERRORS_PANEL_TITLE": "help_panel_error",
                "DEFAULT_STRING": "help_default", "REQUIRED_LONG_STRING": "help_required",
                "ABORTED_TEXT": "help_aborted"}


def _typer_words() -> None:
    """typer's panel titles ("Options", "Commands" …) and markers ("[default: …]", "[required]")
    in the configured locale (typer reads these module constants when it renders)."""
    try:
        from typer import rich_utils
    except ImportError:
        return
    locale = _locale()
    for name, key in _TYPER_WORDS.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, t(key, locale))


def _fold_help_text() -> None:
    """typer's help text (``typer.rich_utils._make_rich_text``, typer 0.29) folds at the edge of
    its table column instead of being cut with "…" (a Rich ``Text`` overflow)."""
    try:
        from typer import rich_utils
    except ImportError:  # typer without rich: click's formatter wraps long words itself
        return
    make = getattr(rich_utils, "_make_rich_text", None)
    if make is None or getattr(make, "_folds", False):
        return

    def folding(*args, **kwargs):
        text = make(*args, **kwargs)
        if hasattr(text, "overflow"):   # a Text (the Markdown of markup_mode="markdown" has none)
            text.overflow = "fold"
        return text

    folding._folds = True
    rich_utils._make_rich_text = folding


_fold_help_text()
_typer_words()
