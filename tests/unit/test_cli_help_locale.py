"""The ``shopops`` command's help speaks SHOPOPS_LOCALE (issue 23 #2): `shopops --help`,
`shopops <group> --help` and `shopops <group> <cmd> --help`, every command's help and every
option's and argument's help, in Chinese under zh_CN (the default) and in English under en.

The help is read when the CLI module is imported (one process, one command), so each locale is
one subprocess that imports the app, walks the whole command tree and renders every ``--help``
with typer's CliRunner, and prints it all as JSON. Click's own words ("Usage", "Options",
"Show this message and exit." of ``--help``) are Click's and not checked."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

_DUMP = r"""
import json
import sys
from typer.main import get_command
from typer.testing import CliRunner
from shopops.cli import app

runner = CliRunner()
found = []


def walk(command, path):
    result = runner.invoke(app, [*path, "--help"]) if "render" in sys.argv else None
    found.append({"path": path, "help": command.help, "exit_code": result and result.exit_code,
                  "output": result and result.output,
                  "params": [{"name": p.name, "help": getattr(p, "help", None)} for p in command.params
                             if p.name != "help"]})
    for name, sub in getattr(command, "commands", {}).items():
        if not getattr(sub, "hidden", False):
            walk(sub, [*path, name])


walk(get_command(app), [])
print(json.dumps(found))
"""

_CJK = re.compile(r"[\u3400-\u9fff]")
#: an English word: letters, at most a capital first (SKU, YYYY-MM, PREFECT_API_URL, --live,
#: config/rules.yaml and `code` are names, not prose)
_WORD = re.compile(r"[(\[\"]?[A-Za-z][a-z'’-]*[)\],.;:\"]*")


def _help_of_every_command(locale: str, tmp_path, render: bool = True) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPOPS_") and k != "COLUMNS"}
    env.update(SHOPOPS_LOCALE=locale, SHOPOPS_DATA_DIR=str(tmp_path / "data"), TERMINAL_WIDTH="80")
    done = subprocess.run([sys.executable, "-c", _DUMP, *(["render"] if render else [])], env=env, cwd=tmp_path, capture_output=True, text=True,
                          encoding="utf-8", check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _longest_english_run(text: str) -> list[str]:
    """The longest run of consecutive English words of ``text`` (outside `code`)."""
    longest: list[str] = []
    run: list[str] = []
    for token in re.sub(r"`[^`]*`", " ", text).split():
        if _WORD.fullmatch(token):
            run.append(token)
            longest = max(longest, run, key=len)
        else:
            run = []
    return list(longest)


def _texts(commands: list[dict]):
    """(where, text) of every command's help and every option's and argument's help."""
    for command in commands:
        where = " ".join(["shopops", *command["path"]])
        yield where, command["help"]
        for param in command["params"]:
            yield f"{where} {param['name']}", param["help"]


def _squeezed(text: str) -> str:
    return re.sub(r"[\s│╭╮╰╯─]+", "", text)


def _assert_rendered_whole(commands: list[dict]) -> None:
    """Every ``--help`` answers, and shows each of its help texts whole (in an 80-column
    terminal; nothing cut off with "…"), its subcommands' too."""
    by_path = {tuple(c["path"]): c for c in commands}
    for command in commands:
        where = " ".join(["shopops", *command["path"], "--help"])
        assert command["exit_code"] == 0, (where, command["output"])
        shown = _squeezed(command["output"])
        texts = [command["help"], *(p["help"] for p in command["params"])]
        texts += [sub["help"] for path, sub in by_path.items() if path[:-1] == tuple(command["path"]) and path]
        for text in texts:
            assert _squeezed(text) in shown, (where, text, command["output"])


@pytest.fixture(scope="module")
def tmp_module(tmp_path_factory):
    return tmp_path_factory.mktemp("cli-help")


def test_every_help_text_of_the_cli_is_chinese_under_zh_cn(tmp_module):
    commands = _help_of_every_command("zh_CN", tmp_module)
    assert len(commands) > 40
    texts = list(_texts(commands))
    missing = [where for where, text in texts if not text]
    assert not missing, f"no help text: {missing}"
    not_chinese = [(where, text) for where, text in texts if not _CJK.search(text)]
    assert not not_chinese, f"help without Chinese under zh_CN: {not_chinese}"
    english = [(where, text) for where, text in texts if len(_longest_english_run(text)) >= 4]
    assert not english, f"English sentences in the zh_CN help: {english}"
    _assert_rendered_whole(commands)
    # typer's own panel titles and markers too ("Usage:" and the --help line are click's)
    shown = "\n".join(c["output"] for c in commands)
    assert "选项" in shown and "命令" in shown and "参数" in shown and "[必填]" in shown
    assert not re.search(r"\b(Options|Commands|Arguments)\b|\[required\]|\[default:", shown)


def test_every_help_text_of_the_cli_is_english_under_en(tmp_module):
    commands = _help_of_every_command("en", tmp_module)
    texts = list(_texts(commands))
    # English keeps the Chinese terms it quotes in parentheses, e.g. "Shipping batches (发货波次)"
    chinese = [(where, text) for where, text in texts if _CJK.search(re.sub(r"\([^)]*\)", "", text))]
    assert not chinese, f"Chinese outside parentheses in the en help: {chinese}"
    for command in commands:
        assert _longest_english_run(command["help"]), command
    assert sum(len(_longest_english_run(text)) >= 4 for _, text in texts) > 60
    _assert_rendered_whole(commands)
    shown = "\n".join(c["output"] for c in commands)
    assert "Options" in shown and "Commands" in shown and "[required]" in shown and "选项" not in shown


def test_the_help_is_chinese_and_the_commands_explain_the_setting_when_the_settings_are_invalid(tmp_module):
    """A SHOPOPS_ setting that is not valid does not stop the CLI from loading: its help is in
    the default language, and a command says which setting is wrong (no traceback)."""
    commands = _help_of_every_command("fr", tmp_module, render=False)
    assert all(_CJK.search(text) for _, text in _texts(commands))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPOPS_")}
    env.update(SHOPOPS_LOCALE="fr", SHOPOPS_DATA_DIR=str(tmp_module / "data"))
    done = subprocess.run([sys.executable, "-c", "from shopops.cli import app; app(['db', 'current'])"], env=env,
                          cwd=tmp_module, capture_output=True, text=True, encoding="utf-8", check=False)
    assert done.returncode == 2, done.stderr
    assert "SHOPOPS_LOCALE='fr'" in done.stderr and "Traceback" not in done.stderr, done.stderr
