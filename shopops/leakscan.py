"""Leak scan: look for app secrets and unmasked buyer data everywhere the pipeline writes.

domain-rules.md §7: phones and addresses are masked in logs, reports and notifications;
app secrets appear in no code, log, report or database. ``scan`` checks that after the
fact, in every kind of place the pipeline leaves text:

- files (``paths``: files or folders, recursively): ``.xlsx`` cell by cell, ``.csv`` row by
  row, anything else that is text (logs, ``.md``, ``.json`` …) line by line; binary files
  other than workbooks are counted as skipped;
- Prefect, through its REST API at ``prefect_api_url``: every stored log line of every
  flow and task run, every artifact version (data and description), every flow run's
  parameters and state message and every task run's state message;
- the warehouse at ``database_url``: every row of every table, each text, JSON or binary
  column (gzip payloads such as the raw-page archive are decompressed first: gzip is an
  encoding, not protection).

It looks for the ``secrets`` given (exact substrings: app secrets, tokens, the PII hash key,
and the team webhook's token — ``webhook_url`` is split into its credentials), for the
``buyers`` given (exact buyer names, nicks and e-mail addresses, from the sandbox's ground
truth — ``buyers.txt`` beside its ``credentials.json``, ``World.clear_buyer_values`` — or a list
of real ones: kind ``buyer``; a Chinese name anywhere, a Latin name, nick or e-mail as a whole
word, so the nick ``mary`` is not found in "summary") and for buyer data that should have been
masked: e-mail addresses of any kind (kind ``email``), mainland mobiles (``1[3-9]`` + 9 digits,
optionally ``+86``), North-American numbers in the shapes the sandbox and Shopify use
(``+1 415-555-0123``, ``(415) 555-0123``, ``+14155550123``) and full street addresses (a Chinese
street with its house number, ``文三路100号``; a US house number, street name and suffix,
``1200 Main St``). Masked values (``138****5678``, ``文三路****``, ``Main St***``,
``b****@example.com``, ``张**``, ``t**``) do not match: a ``*`` next to the digits, in place of
the number or of the name breaks every pattern.

A finding names its place (file and line / sheet and cell / table, column and row key /
Prefect log id with its flow run) and shows the match itself masked, so the scan's own
report does not leak what it found.

    shopops leak-scan                    # data/logs, data/reports, PREFECT_API_URL, the warehouse
    shopops leak-scan data/ --prefect-api-url http://127.0.0.1:4200/api \\
        --database-url sqlite:///data/warehouse.sqlite --secrets-file data/sandbox/credentials.json \\
        --buyers-file data/sandbox/buyers.txt   # exit 1 when anything is found
"""
from __future__ import annotations

import csv
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

from domain.pii import MASK, EMAIL_IN_TEXT, mask_name, mask_phone

#: (kind, pattern). Look-arounds refuse a neighbouring digit, letter or "*": an 11-digit run
#: inside a longer id is not a phone, and "138****5678" is masked.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("phone", re.compile(r"(?<![\w*+])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?![\w*])")),
    # NANP: separators between the 3-3-4 groups (or a +1 before 10 bare digits), so an
    # Amazon order id ("702-8374651-2938475") is not taken for a phone
    ("phone", re.compile(r"(?<![\w*+])(?:\+1[ .-]?)?\(?[2-9]\d{2}\)?[ .-]\d{3}[ .-]\d{4}(?![\w*])"
                         r"|(?<![\w*+])\+1[2-9]\d{9}(?![\w*])")),
    ("address", re.compile(r"[\u4e00-\u9fff]{1,12}(?:路|街|道|巷|弄|胡同)\d{1,5}(?:号|號)")),
    ("address", re.compile(r"(?<![\w*])\d{1,5} (?:[A-Z][a-z]+ ){1,3}"
                           r"(?:St|Ave|Dr|Ln|Rd|Blvd|Ct|Pl|Way|Street|Avenue|Drive|Lane|Road|Boulevard)\b")),
    # any e-mail address with its local part in clear ("b****@example.com" is masked)
    ("email", EMAIL_IN_TEXT),
)

#: how many rows / log lines are fetched per request
PAGE = 200
TEXT_SUFFIXES_SKIPPED = {".sqlite", ".db", ".sqlite3", ".gz", ".zip", ".png", ".jpg", ".parquet"}


@dataclass(frozen=True)
class Finding:
    kind: str      # secret | buyer | email | phone | address
    place: str     # where: file:line, file!sheet!cell, table.column[row key], prefect log <id> …
    excerpt: str   # the match, masked

    def __str__(self) -> str:
        return f"{self.kind} in {self.place}: {self.excerpt}"


@dataclass
class LeakReport:
    findings: list[Finding] = field(default_factory=list)
    #: what was looked at, per kind of place ("xlsx cells", "prefect logs", "db values" …)
    scanned: Counter = field(default_factory=Counter)

    @property
    def clean(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        looked = ", ".join(f"{n:,} {what}" for what, n in sorted(self.scanned.items()))
        if self.clean:
            return f"no leak found (scanned {looked})"
        lines = [f"{len(self.findings)} leak(s) found (scanned {looked}):"]
        lines += [f"  - {f}" for f in self.findings[:200]]
        if len(self.findings) > 200:
            lines.append(f"  … and {len(self.findings) - 200} more")
        return "\n".join(lines)


def _masked(kind: str, text: str) -> str:
    if kind == "secret":
        return text[:3] + MASK
    if kind == "phone":
        return mask_phone(text) or MASK
    if kind in ("buyer", "email"):
        return text[:1] + MASK + text[text.index("@"):] if "@" in text else mask_name(text)
    return re.sub(r"\d", "#", text)  # an address: the street stays readable, the number does not


def _long_enough_buyer(value: str) -> bool:
    """A Chinese name has two or three characters; a Latin name or e-mail needs four, or it
    would match by chance inside other words."""
    value = value.strip()
    return len(value) >= (2 if any("\u4e00" <= ch <= "\u9fff" for ch in value) else 4)


def _alternation(values: Iterable[str]) -> str:
    """One regular expression matching any of ``values`` (lower case), as a trie: thousands of
    buyers are looked for in one pass in C, each position tried once, not once per buyer."""
    trie: dict = {}
    for value in values:
        node = trie
        for char in value:
            node = node.setdefault(char, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        branches = [re.escape(char) + pattern(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and "" not in node else f"(?:{'|'.join(branches)})"
        return body + ("?" if "" in node else "")

    return pattern(trie)


def _buyer_patterns(buyers: Iterable[str], staff: Iterable[str] = ()) -> list[re.Pattern[str]]:
    """Chinese names match anywhere (Chinese has no spaces between words); Latin names, nicks
    and e-mails only as whole words, so a short nick does not match inside another word. A name
    the shop's own staff also bear is not looked for: it is on every settlement statement."""
    values = {b.strip().casefold() for b in buyers if b and _long_enough_buyer(b)}
    values -= {name.strip().casefold() for name in staff if name}
    cjk = {v for v in values if all("\u4e00" <= ch <= "\u9fff" for ch in v)}
    patterns = []
    if cjk:
        patterns.append(re.compile(_alternation(cjk)))
    if values - cjk:
        patterns.append(re.compile(rf"(?<![\w.%+-])(?:{_alternation(values - cjk)})(?![\w-])", re.IGNORECASE))
    return patterns


class _Matcher:
    def __init__(self, secrets: Mapping[str, str] | Iterable[str], buyers: Iterable[str] = (),
                 staff: Iterable[str] = ()):
        items = secrets.items() if isinstance(secrets, Mapping) else ((None, s) for s in secrets)
        # short strings would match by chance (an app key "12345" inside an order id)
        self.secrets = {value: name for name, value in items if value and len(value) >= 8}
        self.buyers = _buyer_patterns(buyers, staff)

    def find(self, text: str) -> Iterator[tuple[str, str]]:
        for secret, name in self.secrets.items():
            if secret in text:
                yield "secret", (f"{name}: " if name else "") + _masked("secret", secret)
        buyer_spans = []
        for pattern in self.buyers:
            for match in pattern.finditer(text):
                buyer_spans.append(match.span())
                yield "buyer", _masked("buyer", match.group(0))
        for kind, pattern in PATTERNS:
            for match in pattern.finditer(text):
                if kind == "email" and any(start <= match.start() < end for start, end in buyer_spans):
                    continue   # already named as that buyer's e-mail
                yield kind, _masked(kind, match.group(0))


class _Scan:
    def __init__(self, secrets, buyers=(), staff=()):
        self.matcher = _Matcher(secrets, buyers, staff)
        self.report = LeakReport()

    def check(self, text, place: str, what: str) -> None:
        if text is None:
            return
        if not isinstance(text, str):
            text = _as_text(text)
            if text is None:
                return
        self.report.scanned[what] += 1
        for kind, excerpt in self.matcher.find(text):
            self.report.findings.append(Finding(kind, place, excerpt))

    # --- files ------------------------------------------------------------------------------
    def files(self, paths: Iterable[str | Path], skip: Iterable[str | Path] = ()) -> None:
        skipped = {Path(p).resolve() for p in skip}
        for root in paths:
            root = Path(root)
            for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
                if path.is_file() and path.resolve() not in skipped:
                    self.file(path)

    def file(self, path: Path) -> None:
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            self.workbook(path)
        elif suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
                for number, row in enumerate(csv.reader(handle), start=1):
                    for column, value in enumerate(row, start=1):
                        self.check(value, f"{path}:row {number} column {column}", "csv cells")
            self.report.scanned["files"] += 1
        else:
            raw = path.read_bytes()
            if suffix in TEXT_SUFFIXES_SKIPPED or b"\0" in raw[:8192]:
                self.report.scanned["binary files skipped"] += 1
                return
            for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
                self.check(line, f"{path}:{number}", "text lines")
            self.report.scanned["files"] += 1

    def workbook(self, path: Path) -> None:
        import openpyxl

        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for sheet in book.worksheets:
                for row in sheet.iter_rows():
                    for cell in row:
                        if cell.value is not None:
                            self.check(str(cell.value), f"{path}!{sheet.title}!{cell.coordinate}", "xlsx cells")
        finally:
            book.close()
        self.report.scanned["files"] += 1

    # --- Prefect ------------------------------------------------------------------------------
    def prefect(self, api_url: str) -> None:
        api = api_url.rstrip("/")
        with requests.Session() as http:
            for log in _paged(http, f"{api}/logs/filter", {"sort": "TIMESTAMP_ASC"}):
                self.check(log.get("message"), f"prefect log {log['id']} (flow run {log.get('flow_run_id')}, "
                                               f"task run {log.get('task_run_id')})", "prefect logs")
            for artifact in _paged(http, f"{api}/artifacts/filter", {"sort": "CREATED_DESC"}):
                place = f"prefect artifact {artifact.get('key') or ''} {artifact['id']}".replace("  ", " ")
                self.check(artifact.get("data"), place, "prefect artifacts")
                self.check(artifact.get("description"), place + " (description)", "prefect artifact descriptions")
            for run in _paged(http, f"{api}/flow_runs/filter", {"sort": "START_TIME_DESC"}):
                place = f"prefect flow run {run['id']} ({run.get('name')})"
                self.check(run.get("parameters") or None, place + " parameters", "prefect flow runs")
                self.check((run.get("state") or {}).get("message"), place + " state message", "prefect flow runs")
            for run in _paged(http, f"{api}/task_runs/filter", {"sort": "EXPECTED_START_TIME_DESC"}):
                self.check((run.get("state") or {}).get("message"),
                           f"prefect task run {run['id']} ({run.get('name')}) state message", "prefect task runs")

    # --- warehouse ------------------------------------------------------------------------------
    def database(self, url: str) -> None:
        engine = sa.create_engine(url)
        try:
            metadata = sa.MetaData()
            metadata.reflect(engine)
            with engine.connect() as conn:
                for table in metadata.sorted_tables:
                    self.table(conn, table)
        finally:
            engine.dispose()

    def table(self, conn, table: sa.Table) -> None:
        key = list(table.primary_key.columns) or list(table.columns)[:1]
        scanned = [c for c in table.columns if _may_hold_text(c.type)]
        if not scanned:
            return
        result = conn.execution_options(yield_per=2000).execute(sa.select(*key, *scanned))
        for row in result:
            row_key = ", ".join(str(v) for v in row[:len(key)])
            for column, value in zip(scanned, row[len(key):]):
                self.check(value, f"table {table.name}.{column.name} [{row_key}]", "db values")


def _may_hold_text(column_type: sa.types.TypeEngine) -> bool:
    return isinstance(column_type, (sa.String, sa.Text, sa.JSON, sa.LargeBinary, sa.types.NullType)) or \
        column_type.__class__.__name__.upper() in {"JSONB", "BYTEA", "BLOB"}


def _as_text(value) -> str | None:
    """A stored value as the text a reader of a dump would see (gzip opened, JSON spelled out)."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError):
                pass
        return data.decode("utf-8", "replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (int, float, bool)):
        return None
    return str(value)


def _paged(http: requests.Session, url: str, body: dict) -> Iterator[dict]:
    offset = 0
    while True:
        response = http.post(url, json={**body, "limit": PAGE, "offset": offset}, timeout=60)
        response.raise_for_status()
        batch = response.json()
        yield from batch
        if len(batch) < PAGE:
            return
        offset += len(batch)


def scan(paths: Iterable[str | Path] = (), *, prefect_api_url: str | None = None, database_url: str | None = None,
         secrets: Mapping[str, str] | Iterable[str] = (), buyers: Iterable[str] = (),
         webhook_url: str | None = None, skip: Iterable[str | Path] = (), staff: Iterable[str] = ()) -> LeakReport:
    """Scan files, Prefect's stored logs/artifacts/runs and a warehouse; see the module doc.
    ``skip``: files not to read (the credentials file the secrets come from); ``staff``: names
    of the shop's own people (``staff_names``), not looked for even when a buyer bears one."""
    if webhook_url:
        from shopops.notifications import webhook_secrets

        secrets = {**(dict(secrets) if isinstance(secrets, Mapping) else {f"secret {i + 1}": v
                                                                          for i, v in enumerate(secrets)}),
                   **webhook_secrets(webhook_url)}
    run = _Scan(secrets, buyers, staff)
    run.files(paths, skip)
    if prefect_api_url:
        run.prefect(prefect_api_url)
    if database_url:
        run.database(database_url)
    return run.report


def secrets_of_credentials(credentials: Mapping[str, Mapping[str, str] | object]) -> dict[str, str]:
    """``{"<shop> app_secret": value, "<shop> access_token": value}`` from a sandbox's credentials
    (``credentials.json`` of ``python -m sandbox`` or ``World.credentials``)."""
    found = {}
    for shop, secret in credentials.items():
        get = secret.get if isinstance(secret, Mapping) else lambda name, s=secret: getattr(s, name, None)
        for name in ("app_secret", "access_token", "refresh_token"):
            if get(name):
                found[f"{shop} {name}"] = get(name)
    return found


def read_buyers_file(path: str | Path) -> list[str]:
    """Buyer names, nicks and e-mail addresses to look for, one a line (``#`` starts a comment):
    the sandbox writes its ground truth as ``buyers.txt`` beside ``credentials.json``."""
    return [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def staff_names(data_dir: str | Path) -> set[str]:
    """The names on the settlement rosters under ``<data_dir>/settlement/<month>/`` (roster.csv
    or .xlsx, column ``name``): the shop's own people, whose names the statements show."""
    import pandas as pd

    names: set[str] = set()
    for path in sorted(Path(data_dir).glob("settlement/*/roster.*")):
        if path.suffix.lower() not in (".csv", ".xlsx"):
            continue
        try:
            frame = pd.read_csv(path, dtype=str) if path.suffix.lower() == ".csv" else pd.read_excel(path, dtype=str)
        except (OSError, ValueError):
            continue   # an unreadable roster: its names are simply looked for like any other
        if "name" in frame.columns:
            names.update(str(v).strip() for v in frame["name"].dropna() if str(v).strip())
    return names


def read_secrets_file(path: str | Path) -> dict[str, str]:
    return secrets_of_credentials(json.loads(Path(path).read_text(encoding="utf-8")))

