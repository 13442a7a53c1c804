"""README's command list is the CLI's (issue 23, "Done when"): every command a person can type
is listed there, and every command listed there exists."""
from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from shopops.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands(command=None, path=("shopops",)):
    command = command or get_command(app)
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            if not getattr(sub, "hidden", False):
                yield from _commands(sub, (*path, name))
    else:
        yield path


def _listed() -> list[list[str]]:
    """The command part (before the description) of each line of README's "## Commands" block,
    as words: `shopops batch run | list ID` → ["shopops", "batch", "run", "list", "ID"]."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## Commands", 1)[1].split("```", 2)[1]
    lines = [re.split(r"\s{2,}", line.strip())[0] for line in block.splitlines() if line.startswith("shopops")]
    return [[w for w in re.split(r"[\s|\[\]]+", line) if w] for line in lines]


def test_every_command_of_the_cli_is_in_the_readme_and_every_listed_one_exists():
    listed = _listed()
    commands = list(_commands())
    assert len(commands) > 30
    missing = [" ".join(path) for path in commands
               if not any(words[:len(path) - 1] == list(path[:-1]) and path[-1] in words[len(path) - 1:]
                          for words in listed)]
    assert not missing, f"README.md ## Commands does not list: {missing}"
    groups = {path[1] for path in commands}
    unknown = [" ".join(words[:2]) for words in listed if words[1] not in groups]
    assert not unknown, f"README.md lists commands the CLI does not have: {unknown}"


def test_the_lines_the_readme_says_the_demo_prints_are_the_ones_it_prints():
    """The demo's address line and the reports server's line, quoted in README in the default
    language and in English, are the catalogue's messages as the program formats them."""
    from shopops.i18n import t

    text = " ".join(README.read_text(encoding="utf-8").split())   # README wraps lines
    for locale in ("zh_CN", "en"):
        assert " ".join(t("demo_ready", locale, ui="http://127.0.0.1:4200").split()) in text, locale
        listening = t("reports_server_listening", locale, url="http://127.0.0.1:8767/reports/", folder="F")
        assert listening[:listening.index("/reports/") + len("/reports/")] in text, (locale, listening)
