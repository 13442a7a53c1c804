"""``python bench/run_all.py [--quick]``: every ``bench/bench_*.py``, one after the other.

Benchmarks are discovered, not listed, so one added as ``bench/bench_<name>.py`` joins
``make bench`` by itself. Each runs in a process of its own with the arguments of its full
size: its own defaults, or the runs ``FULL_RUNS`` names for a benchmark whose full size is
more than one invocation. ``--quick`` passes ``--quick`` to every benchmark instead (small
sizes, one repeat, docs/BENCHMARKS.md left alone): a smoke test that every benchmark still
runs. ``--only`` reruns a subset: benchmark names (``ingest`` = every invocation of
bench_ingest.py) or the docs section one invocation writes (``ingest-double11`` = only the
full 1M run). Every run that is not ``--quick`` rewrites the ``header`` section of
docs/BENCHMARKS.md: the machine, and one row per invocation with when it last ran, how long
it took and whether it succeeded (rows of invocations not rerun are kept as they were); each
benchmark writes its own sections. A failing benchmark does not stop the others; the exit
status says one failed.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import DOCS, machine, rewrite_section, utc_stamp  # noqa: E402

#: benchmarks whose full size is more than their defaults: one argument list per invocation
FULL_RUNS: dict[str, list[list[str]]] = {
    # normal_day (10k) with every step; the first 6 hours of Double 11 (≈85k orders: the floor
    # and dlt at that volume); the whole 1M-order Double 11 with every step
    "bench_ingest.py": [[], ["--scenario", "double11", "--repeats", "3", "--steps", "sqlite,floor,dlt", "--hours", "6",
                             "--section", "ingest-double11-slice"],
                        ["--scenario", "double11", "--repeats", "3", "--section", "ingest-double11"]],
}


def discover() -> list[Path]:
    return sorted((ROOT / "bench").glob("bench_*.py"))


def invocations(bench: Path, quick: bool) -> list[list[str]]:
    if quick:
        return [["--quick"]]
    return FULL_RUNS.get(bench.name, [[]])


def short_name(bench: Path) -> str:
    """``bench/bench_ingest.py`` → ``ingest``: the name ``--only`` takes."""
    return bench.name.removeprefix("bench_").removesuffix(".py")


def section_of(extra: list[str]) -> str | None:
    """The docs section an invocation names with ``--section``, if it does."""
    return extra[extra.index("--section") + 1] if "--section" in extra else None


def planned(benches: list[Path], quick: bool, only: set[str]) -> list[tuple[Path, list[str]]]:
    """Every (benchmark, arguments) to run: all of them, or those ``only`` names by benchmark
    (``ingest``) or by the section one invocation writes (``ingest-double11``)."""
    runs = [(bench, extra) for bench in benches for extra in invocations(bench, quick)]
    if not only:
        return runs
    return [(bench, extra) for bench, extra in runs
            if short_name(bench) in only or section_of(extra) in only]


def command_of(bench: Path, extra: list[str]) -> str:
    return " ".join([f"bench/{bench.name}", *extra])


_HEADER_ROW = re.compile(r"^\| `(?P<command>[^`]+)` \| (?P<rest>.*)$")


def write_header(ran: list[tuple[str, str, float, int]], order: list[str], partial: bool, path: Path = DOCS) -> None:
    """The ``header`` section, placed right under the title the first time. ``ran``: (command,
    UTC stamp, seconds, exit code) of this run; rows of other invocations already in the
    header are kept, so a partial run (``--only``) updates only its own rows."""
    start = "<!-- header:start -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start not in text:  # first time: under the title, not appended at the end
        title, _, rest = text.partition("\n")
        text = f"{title}\n\n{start}\n<!-- header:end -->\n{rest}"
        path.write_text(text, encoding="utf-8")
    header = text[text.index(start):text.index("<!-- header:end -->")]
    rows: dict[str, str] = {}
    for line in header.splitlines():
        match = _HEADER_ROW.match(line)
        if match and match["command"] in order:  # an invocation that no longer exists drops out
            rows[match["command"]] = line
    for command, stamp, seconds, code in ran:
        rows[command] = f"| `{command}` | {stamp} | {seconds:,.0f} | {'ok' if code == 0 else f'failed (exit {code})'} |"
    missing = [command for command in order if command not in rows]
    body = "\n".join([
        f"`make bench` (`.venv/bin/python bench/run_all.py`) runs every `bench/bench_*.py` at full size and rewrites "
        "this file; `--only NAME[,NAME]` reruns some (a benchmark's name, or the section one invocation writes) and "
        "updates their rows here. Every figure below is the median of ≥ 3 runs with its min–max, next to a baseline "
        "measured in the same run, the ratio to it and the peak RSS; each section says when and on what it was "
        "measured and how to reproduce it alone. "
        f"Last {'partial ' if partial else ''}run on {machine()}.",
        "",
        "| benchmark run | last run | s | result |",
        "|---|---|---:|---|",
        *[rows[command] for command in order if command in rows],
        *(["", "Not run through `run_all.py` yet (their sections, if present, say when and how they were measured "
                 "alone): " + ", ".join(f"`{command}`" for command in missing) + "."] if missing else []),
    ])
    rewrite_section("header", body, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every benchmark small, once; docs left alone")
    parser.add_argument("--only", default="",
                        help="comma-separated benchmark names or docs sections (e.g. upsert,ingest-double11)")
    args = parser.parse_args()
    benches = discover()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    every = planned(benches, False, set())  # the full plan: what --only may name, the header's rows
    runs = planned(benches, args.quick, only)
    if only:
        known = {short_name(b) for b in benches} | {section_of(extra) for _, extra in every} - {None}
        if only - known:
            parser.error(f"no benchmark or section named {sorted(only - known)}; known: {', '.join(sorted(known))}")
    started = time.perf_counter()
    ran: list[tuple[str, str, float, int]] = []
    for index, (bench, extra) in enumerate(runs, start=1):
        command = command_of(bench, extra)
        print(f"\n=== [{index}/{len(runs)}] {command}", flush=True)
        stamp, began = utc_stamp(), time.perf_counter()
        code = subprocess.run([sys.executable, str(bench), *extra], cwd=ROOT).returncode
        ran.append((command, stamp, time.perf_counter() - began, code))
        print(f"=== [{index}/{len(runs)}] {command}: {'ok' if code == 0 else f'FAILED (exit {code})'} "
              f"in {ran[-1][2]:.0f} s", flush=True)
    total = time.perf_counter() - started
    if not args.quick:
        write_header(ran, [command_of(b, extra) for b, extra in every], partial=bool(only))
    failed = [command for command, _, _, code in ran if code != 0]
    print(f"\n{len(ran)} benchmark runs in {total:.0f} s; " + (f"FAILED: {', '.join(failed)}" if failed else "all ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
