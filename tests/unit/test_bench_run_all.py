"""``bench/run_all.py``: which invocations ``--only`` picks, and a partial run updating only its
own rows of the docs header (the other rows, measured earlier, stay as they were)."""
from __future__ import annotations

from pathlib import Path

from bench.run_all import FULL_RUNS, command_of, discover, planned, write_header


def test_only_picks_a_whole_benchmark_or_the_one_invocation_that_writes_a_section():
    benches = discover()
    every = planned(benches, quick=False, only=set())
    assert len(every) == len(benches) - 1 + len(FULL_RUNS["bench_ingest.py"])
    by_name = planned(benches, quick=False, only={"ingest"})
    assert [extra for _, extra in by_name] == FULL_RUNS["bench_ingest.py"]
    by_section = planned(benches, quick=False, only={"ingest-double11", "upsert"})
    assert [(bench.name, extra) for bench, extra in by_section] == [
        ("bench_ingest.py", ["--scenario", "double11", "--repeats", "3", "--section", "ingest-double11"]),
        ("bench_upsert.py", []),
    ]
    assert [extra for _, extra in planned(benches, quick=True, only={"upsert"})] == [["--quick"]]


def test_a_partial_run_updates_its_rows_and_keeps_the_others(tmp_path: Path):
    docs = tmp_path / "BENCHMARKS.md"
    docs.write_text("# Benchmarks\n\n<!-- upsert:start -->\nfigures\n<!-- upsert:end -->\n", encoding="utf-8")
    order = ["bench/bench_upsert.py", "bench/bench_ingest.py --section x", "bench/bench_stock.py"]
    write_header([("bench/bench_upsert.py", "2026-12-01 10:00 UTC", 61.0, 0),
                  ("bench/bench_ingest.py --section x", "2026-12-01 10:01 UTC", 3600.0, 0)], order, partial=False,
                 path=docs)
    write_header([("bench/bench_ingest.py --section x", "2026-12-03 11:00 UTC", 3500.0, 1)], order, partial=True,
                 path=docs)
    text = docs.read_text(encoding="utf-8")
    assert text.index("<!-- header:start -->") < text.index("<!-- upsert:start -->"), "the header goes under the title"
    assert "| `bench/bench_upsert.py` | 2026-12-01 10:00 UTC | 61 | ok |" in text
    assert "| `bench/bench_ingest.py --section x` | 2026-12-03 11:00 UTC | 3,500 | failed (exit 1) |" in text
    assert "2026-12-01 10:01 UTC" not in text
    assert "Last partial run" in text
    assert "Not run through `run_all.py` yet" in text and "`bench/bench_stock.py`" in text
    assert text.count("<!-- header:start -->") == 1 and "figures" in text
    assert command_of(Path("bench/bench_upsert.py"), ["--quick"]) == "bench/bench_upsert.py --quick"
