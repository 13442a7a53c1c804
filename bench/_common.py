"""Helpers the benchmarks share: machine facts, median with its spread, and rewriting one
marked section of docs/BENCHMARKS.md (``<!-- name:start -->`` … ``<!-- name:end -->``)
while leaving every other section as it is."""
from __future__ import annotations

import os
import platform
import re
import statistics
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "BENCHMARKS.md"


def machine() -> str:
    """"2 CPU cores (shared with other work), Python 3.11.7"."""
    return f"{os.cpu_count()} CPU cores (shared with other work), Python {platform.python_version()}"


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (``ru_maxrss`` is KiB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def utc_stamp() -> str:
    return f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float], fmt: str = ",.0f") -> str:
    """"min–max" of ``values`` formatted with ``fmt``."""
    return f"{min(values):{fmt}}–{max(values):{fmt}}"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def rewrite_section(name: str, body: str, path: Path = DOCS) -> None:
    """Replace the ``name`` section of ``path`` with ``body`` (markers added around it);
    append the section if the markers are missing. Other sections are not touched."""
    start, end = markers(name)
    section = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def stop_process(process, grace_s: float) -> None:
    """SIGTERM, then SIGKILL if ``process`` (a ``subprocess.Popen``) has not ended within
    ``grace_s``; a process that has already ended is left alone."""
    import subprocess

    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_child(script: str, kind: str, spec: dict, env: dict[str, str]) -> dict:
    """``python <script> --child <kind> <spec as JSON>`` in a process of its own (so its peak
    RSS is its own); returns the JSON object the child prints last."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, script, "--child", kind, json.dumps(spec)], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
