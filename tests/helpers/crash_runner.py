"""``python tests/helpers/crash_runner.py CONFIG_DIR DATABASE_URL CLOCK_ISO OWNER SHOP...``

Pulls the shops one after the other with ``tasks.ingest.pull_shop`` (what ``shopops ingest``
does per shop) in a process of its own, so that it can be killed with SIGKILL mid-pull: by
the seam ``SHOPOPS_TEST_CRASH_AT`` (tests/integration/test_ingest_crash.py) or from outside
(tests/integration/test_proof_crash.py). Credentials and the PII hash key come from the
environment as in production.

For a kill from outside the pull says when it may come, so that the kill always lands
mid-pull however busy the machine is (a kill on a timer could land after the pull had
ended): with ``SHOPOPS_TEST_KILL_AFTER_ORDERS=<n>`` and ``SHOPOPS_TEST_KILL_READY=<file>`` it
writes the file (``<orders held> <seam point>``) as soon as the warehouse holds ``n`` orders
(checked when it takes a shop's run guard and after each commit), then goes on pulling, and
holds still before the last shop's capture-log row (``<file>.held``) until it is killed: the
killer may strike at any moment after the file appears and the pull cannot end first.

``python tests/helpers/crash_runner.py --serve`` is a fork server for those tests: it imports
the pipeline (Prefect, pandas, Great Expectations: ≈4 s, more than the pull itself at CI
sizes) once, then forks one child per request, and each child is such a pull. The child is
an ordinary process, killed for real; it just does not pay the imports again. ``ForkServer``
is the tests' side of it.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

import tasks.ingest
from config.schema import load_config
from tasks.ingest import pull_shop
from warehouse.db import make_engine

ROOT = Path(__file__).resolve().parents[2]
#: the kill point of a kill from outside (test_proof_crash.py): see the module's docstring
KILL_AFTER_ENV, KILL_READY_ENV = "SHOPOPS_TEST_KILL_AFTER_ORDERS", "SHOPOPS_TEST_KILL_READY"
#: a pull held for its kill that nobody kills (the test died) gives up after this long
HOLD_LIMIT_S = 600
#: exit code of a pull that was held and never killed
NOT_KILLED_EXIT = 3


class _KillPoint:
    """Wraps ``tasks.ingest._crash_point`` (the pull's seam, passed at every step) in this
    process: says when the warehouse holds ``after_orders`` orders, and holds the pull still
    before its last shop's capture-log row once it has said so."""

    def __init__(self, database_url: str, after_orders: int, ready: Path, last_shop: str):
        self.engine = make_engine(database_url)
        self.after_orders, self.ready, self.last_shop = after_orders, ready, last_shop
        self.shop: str | None = None
        self.reached = False
        self.seam = tasks.ingest._crash_point
        tasks.ingest._crash_point = self

    def __call__(self, point: str) -> None:
        self.seam(point)   # SHOPOPS_TEST_CRASH_AT still works
        if not self.reached and point in ("lease", "committed"):
            with self.engine.connect() as conn:
                held = conn.scalar(sa.text("select count(*) from orders"))
            if held >= self.after_orders:
                self.reached = True
                self._write(self.ready, f"{held} {point}@{self.shop}")
        if self.reached and point == "capture_log" and self.shop == self.last_shop:
            self._write(self.ready.with_name(self.ready.name + ".held"), f"{point}@{self.shop}")
            deadline = time.monotonic() + HOLD_LIMIT_S
            while time.monotonic() < deadline:   # until the SIGKILL
                time.sleep(1)
            print(f"held for the kill for {HOLD_LIMIT_S} s and nobody killed this pull", file=sys.stderr)
            sys.stderr.flush()
            os._exit(NOT_KILLED_EXIT)

    @staticmethod
    def _write(path: Path, text: str) -> None:
        """Whole or not at all: the test reads the file as soon as it exists."""
        part = path.with_name(path.name + ".part")
        part.write_text(text, encoding="utf-8")
        os.replace(part, path)


def main(argv: list[str]) -> int:
    config_dir, database_url, clock_iso, owner, *shops = argv
    config = load_config(config_dir)
    now = datetime.fromisoformat(clock_iso)
    kill_point = None
    if os.environ.get(KILL_AFTER_ENV) and shops:
        kill_point = _KillPoint(database_url, int(os.environ[KILL_AFTER_ENV]), Path(os.environ[KILL_READY_ENV]),
                                shops[-1])
    for shop in shops:
        if kill_point is not None:
            kill_point.shop = shop
        result = pull_shop(config, shop, database_url=database_url, owner=owner, clock=lambda: now)
        if result.status != "ok":
            print(f"{shop}: {result.status}: {result.error}", file=sys.stderr)
            return 1
    return 0


def serve() -> int:
    """Read requests ``{"argv": [...], "env": {...}, "stderr": path}`` one JSON line at a time
    on stdin; fork a pull for each; answer ``{"pid": n}`` at once and ``{"pid": n,
    "returncode": c}`` when it ends (``c`` < 0: killed by signal ``-c``, as with Popen)."""
    import great_expectations  # noqa: F401 - the import every pull would otherwise pay again

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the pull: its own process, with the request's environment and stderr
            code = 1
            try:
                os.environ.update(request["env"])
                err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(err, 2)
                os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stdout is the server's answer channel
                code = main(request["argv"])
            except BaseException:  # noqa: BLE001 - reported on the child's stderr, then exit 1
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)}), flush=True)
    return 0


class ForkedPull:
    """One forked pull; the subset of ``subprocess.Popen`` the crash tests use."""

    def __init__(self, pid: int, answers: queue.Queue, stderr_path: Path):
        self.pid, self._answers, self._stderr_path = pid, answers, stderr_path
        self.returncode: int | None = None

    def _take(self, timeout: float | None) -> None:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise subprocess.TimeoutExpired(f"forked pull {self.pid}", timeout) from None
        assert answer["pid"] == self.pid, answer
        self.returncode = answer["returncode"]

    def poll(self) -> int | None:
        if self.returncode is None and not self._answers.empty():
            self._take(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._take(timeout)
        return self.returncode

    def send_signal(self, signal_number: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal_number)

    def stderr_text(self) -> str:
        return self._stderr_path.read_text(encoding="utf-8", errors="replace") if self._stderr_path.exists() else ""


class ForkServer:
    """The tests' side of ``--serve``: ``start(argv, env)`` → a running ``ForkedPull``. One
    pull at a time (start the next once the last one has ended)."""

    def __init__(self, env: dict[str, str] | None = None):
        self._dir = Path(tempfile.mkdtemp(prefix="crash-runner-"))
        self._process = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=ROOT, text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
        self._answers: queue.Queue = queue.Queue()
        self._pids: queue.Queue = queue.Queue()
        first = self._process.stdout.readline()
        if not first.strip():
            raise RuntimeError(f"the crash-runner fork server did not start (exit {self._process.wait()})")
        threading.Thread(target=self._read, daemon=True).start()
        self._count = 0

    def _read(self) -> None:
        for line in self._process.stdout:
            answer = json.loads(line)
            (self._answers if "returncode" in answer else self._pids).put(answer)

    def start(self, argv: list[str], env: dict[str, str]) -> ForkedPull:
        self._count += 1
        stderr_path = self._dir / f"pull-{self._count}.stderr"
        self._process.stdin.write(json.dumps({"argv": [str(a) for a in argv], "env": env,
                                              "stderr": str(stderr_path)}) + "\n")
        self._process.stdin.flush()
        pid = self._pids.get(timeout=60)["pid"]
        return ForkedPull(pid, self._answers, stderr_path)

    def close(self) -> None:
        self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


if __name__ == "__main__":
    raise SystemExit(serve() if sys.argv[1:] == ["--serve"] else main(sys.argv[1:]))
