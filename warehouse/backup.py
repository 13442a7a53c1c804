"""Backups of the warehouse and their restore (``shopops db backup`` / ``restore``).

- SQLite: the online backup API (a consistent copy while flows keep writing; no file copy of
  a database in the middle of a transaction). The backup is itself a SQLite file.
- PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists --no-owner``
  (the client tools of the server's major version or newer must be on PATH). A URL that pins
  a schema through libpq ``options=-csearch_path=…`` is dumped and restored as that schema.

A restore replaces the target's content with the backup's; the caller confirms first. The
password of a URL never reaches a command line: it goes to the tool through ``PGPASSWORD``.
"""
from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import make_url


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why and what to do."""


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"{url}: an in-memory SQLite database cannot be backed up")
    return Path(database)


def _pg_args(url: str) -> tuple[list[str], dict[str, str], str | None]:
    """Connection arguments of pg_dump/pg_restore, their environment, and the pinned schema."""
    parsed = make_url(url)
    args = []
    if parsed.host:
        args += ["--host", parsed.host]
    if parsed.port:
        args += ["--port", str(parsed.port)]
    if parsed.username:
        args += ["--username", parsed.username]
    args += ["--dbname", parsed.database or "postgres"]
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    options = unquote(str(parsed.query.get("options", "")))
    found = re.search(r"search_path=([A-Za-z0-9_]+)", options)
    return args, env, found.group(1) if found else None


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed: install the PostgreSQL client tools "
                          f"(Debian: apt-get install postgresql-client) and run the command again")
    return path


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")


def backup(url: str, target: Path) -> Path:
    """Write a backup of the warehouse at ``url`` to ``target`` (its folder is created)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    dialect = make_url(url).get_backend_name()
    if dialect == "sqlite":
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise BackupError(f"{source_path} does not exist: nothing to back up (run `shopops db upgrade` first?)")
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        with sqlite3.connect(source_path) as source, sqlite3.connect(partial) as copy:
            source.backup(copy)
        partial.replace(target)   # a backup file is whole or absent
        return target
    if dialect == "postgresql":
        args, env, schema = _pg_args(url)
        command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), *args]
        if schema:
            command += ["--schema", schema]
        _run(command, env, "pg_dump")
        return target
    raise BackupError(f"backups of {dialect} databases are not supported (SQLite and PostgreSQL are)")


def restore(url: str, source: Path) -> None:
    """Replace the warehouse at ``url`` with the backup ``source``."""
    source = Path(source)
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    dialect = make_url(url).get_backend_name()
    if dialect == "sqlite":
        with sqlite3.connect(source) as check:
            try:
                check.execute("PRAGMA schema_version").fetchone()
            except sqlite3.DatabaseError as exc:
                raise BackupError(f"{source} is not a SQLite backup: {exc}") from None
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as backup_db, sqlite3.connect(target) as live:
            backup_db.backup(live)   # page by page into the live file, under its own lock
        return
    if dialect == "postgresql":
        args, env, schema = _pg_args(url)
        command = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                   "--exit-on-error", *args, str(source)]
        _run(command, env, "pg_restore")
        return
    raise BackupError(f"restores into {dialect} databases are not supported (SQLite and PostgreSQL are)")
