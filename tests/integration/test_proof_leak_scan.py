"""The leak scan sees what it must: a leak planted in each Prefect place (a run's log line, an
artifact, a parameter, a state message) and in a log file is found and named, on a Prefect
server of this test's own (``prefect server start`` on a free port with its own
PREFECT_HOME). The scan itself runs after the full demo day in tests/integration/test_demo.py
(zero findings there), so a clean result cannot come from a scan that looks nowhere.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from shopops.demo import _bin, wait_until_answering
from shopops.leakscan import scan

ROOT = Path(__file__).resolve().parents[2]
LEAKY = ROOT / "tests" / "helpers" / "leaky_flow.py"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def prefect_env(tmp_path):
    """A fresh ``prefect server start``; yields the environment that points a process at it."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_API_URL=f"http://127.0.0.1:{port}/api", PYTHONPATH=str(ROOT))
    log = (tmp_path / "prefect-server.log").open("wb")
    server = subprocess.Popen([_bin("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/api/health", server, "prefect server", timeout_s=120)
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _run_flow(args: list[str], env: dict, log_file: Path) -> dict:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w", encoding="utf-8") as log:
        run = subprocess.run([sys.executable, str(LEAKY), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=log, text=True, timeout=1800)
    assert run.returncode == 0, log_file.read_text(encoding="utf-8")[-4000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_the_scan_finds_a_leak_planted_in_each_prefect_place_and_names_it(prefect_env, tmp_path):
    secret = "0123456789abcdef0123456789abcdef"
    states = _run_flow([secret], prefect_env, tmp_path / "logs" / "leaky.log")
    assert states == {"leaky-on-purpose": "FAILED"}

    report = scan([tmp_path / "logs"], prefect_api_url=prefect_env["PREFECT_API_URL"], secrets={"app_secret": secret})
    def found(kind: str, place: str) -> bool:
        return any(f.kind == kind and f.place.startswith(place) for f in report.findings)

    assert found("phone", "prefect log ")            # the run logger's line, as the server stored it
    assert found("address", "prefect artifact leaky-report")  # the artifact's markdown
    assert any(f.kind == "secret" and f.place.endswith("parameters") for f in report.findings)
    assert any(f.kind == "secret" and f.place.endswith("state message") for f in report.findings)
    assert found("phone", str(tmp_path / "logs" / "leaky.log"))  # the local log file
    assert all(secret not in str(f) and "13812345678" not in str(f) for f in report.findings)  # report masks

    # issue 19 #13: buyer names and e-mails and the webhook token are looked for too, and
    # `shopops leak-scan` (the command) finds them in the same places and exits 1
    from tests.helpers.leaky_flow import BUYERS, WEBHOOK_TOKEN, WEBHOOK_URL

    more = scan([], prefect_api_url=prefect_env["PREFECT_API_URL"], buyers=BUYERS, webhook_url=WEBHOOK_URL)
    assert sum(f.kind == "buyer" and f.place.startswith("prefect artifact leaky-report") for f in more.findings) == 2
    assert any(f.kind == "secret" and "webhook access_token" in f.excerpt and f.place.startswith("prefect log ")
               for f in more.findings)
    buyers = tmp_path / "buyers.txt"
    buyers.write_text("\n".join(BUYERS), encoding="utf-8")
    env = {**prefect_env, "SHOPOPS_DATA_DIR": str(tmp_path / "data"), "SHOPOPS_WEBHOOK_URL": WEBHOOK_URL,
           "SHOPOPS_LOCALE": "en"}
    command = subprocess.run([_bin("shopops"), "leak-scan", str(tmp_path / "logs"), "--buyers-file", str(buyers),
                              "--database-url", f"sqlite:///{tmp_path / 'empty.sqlite'}"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert command.returncode == 1, command.stdout + command.stderr
    for place in ("buyer in prefect artifact leaky-report", "secret in prefect log ", "phone in prefect log ",
                  "address in prefect artifact leaky-report", "leaky.log"):
        assert place in command.stdout, (place, command.stdout)
    assert WEBHOOK_TOKEN not in command.stdout and "Bob Norman" not in command.stdout
