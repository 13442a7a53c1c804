"""``python bench/run_all.py [--quick]``: every ``bench/bench_*.py``, one after the other.

Benchmarks are discovered, not listed, so one added as ``bench/bench_<name>.py`` joins
``make bench`` by itself. Each runs in a process of its own with the arguments of its full
size: its own defaults, or the runs ``FULL_RUNS`` names for a benchmark whose full size is
more than one invocation. ``--quick`` passes ``--quick`` to every benchmark instead (small
sizes, one repeat, docs/BENCHMARKS.md left alone): a smoke test that every benchmark still
runs. A full run writes the ``header`` section of docs/BENCHMARKS.md (machine, date, the
command, which benchmarks ran and how long each took); each benchmark writes its own
sections. A failing benchmark does not stop the others; the exit status says one failed.
"""
from __future__ import annotations

import argparse
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


def write_header(ran: list[tuple[str, float, int]], total_s: float) -> None:
    """The ``header`` section, placed right under the title the first time."""
    rows = "\n".join(f"| `{command}` | {seconds:,.0f} | {'ok' if code == 0 else f'failed (exit {code})'} |"
                     for command, seconds, code in ran)
    body = "\n".join([
        f"Measured {utc_stamp()} on {machine()}; `make bench` (`.venv/bin/python bench/run_all.py`) ran every "
        f"`bench/bench_*.py` in {total_s / 60:,.0f} min. Every figure below is the median of ≥ 3 runs with its "
        "min–max, next to a baseline measured in the same run, the ratio to it and the peak RSS; each section "
        "says what it measured and how to reproduce it alone.",
        "",
        "| benchmark run | s | result |",
        "|---|---:|---|",
        rows,
    ])
    start = "<!-- header:start -->"
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if start not in text:  # first time: under the title, not appended at the end
        title, _, rest = text.partition("\n")
        DOCS.write_text(f"{title}\n\n{start}\n<!-- header:end -->\n{rest}", encoding="utf-8")
    rewrite_section("header", body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every benchmark small, once; docs left alone")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (e.g. upsert,ingest)")
    args = parser.parse_args()
    benches = discover()
    if args.only:
        wanted = {f"bench_{name.strip()}.py" for name in args.only.split(",") if name.strip()}
        unknown = wanted - {b.name for b in benches}
        if unknown:
            parser.error(f"no such benchmark(s) {sorted(unknown)}; found {', '.join(b.name for b in benches)}")
        benches = [b for b in benches if b.name in wanted]
    started = time.perf_counter()
    ran: list[tuple[str, float, int]] = []
    for bench in benches:
        for extra in invocations(bench, args.quick):
            command = " ".join([f"bench/{bench.name}", *extra])
            print(f"\n=== {command}", flush=True)
            began = time.perf_counter()
            code = subprocess.run([sys.executable, str(bench), *extra], cwd=ROOT).returncode
            ran.append((command, time.perf_counter() - began, code))
            print(f"=== {command}: {'ok' if code == 0 else f'FAILED (exit {code})'} "
                  f"in {ran[-1][1]:.0f} s", flush=True)
    total = time.perf_counter() - started
    if not args.quick and not args.only:
        write_header(ran, total)
    failed = [command for command, _, code in ran if code != 0]
    print(f"\n{len(ran)} benchmark runs in {total:.0f} s; " + (f"FAILED: {', '.join(failed)}" if failed else "all ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
