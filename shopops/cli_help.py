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


def cli_help(key: str) -> str:
    """The help text ``key`` in the configured locale. A SHOPOPS_ setting that is not valid must
    not stop the CLI from loading (``shopops.cli_errors`` names it once a command runs): the
    help is then in the default language, zh_CN, as that message is."""
    try:
        from config.settings import get_settings

        locale = get_settings().locale
    except Exception:  # noqa: BLE001 - pydantic's ValidationError for a bad SHOPOPS_* or .env value
        locale = "zh_CN"
    return t(key, locale)


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
