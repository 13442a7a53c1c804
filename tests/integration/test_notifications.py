"""A failing run and a quarantine spike reach the team's webhook: a real Prefect server
(automations are a server feature), a real local HTTP receiver, no mocks."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests

PROJECT = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).parent / "prefect")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Receiver.received.append(json.loads(body or b"{}"))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def prefect_server(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_API_URL=f"http://127.0.0.1:{port}/api")
    server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            pytest.fail("the Prefect server did not start within 90 s")
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


SCRIPT = """
from prefect import flow
from shopops.notifications import EVENT_QUARANTINE_SPIKE, configure_notifications, emit
import sys, time
print(configure_notifications(sys.argv[1]))
time.sleep(3)  # the automations cache refreshes before the events arrive

@flow(name="notification-probe")
def broken():
    raise RuntimeError("planted failure")

broken(return_state=True)
emit(EVENT_QUARANTINE_SPIKE, "shopops.shop.jd-pop", "jd-pop: 12 orders quarantined (unknown SKU ×12)",
     shop_id="jd-pop", quarantined=12, orders=40)
"""


def test_failed_run_and_quarantine_spike_reach_the_webhook(prefect_server):
    Receiver.received = []
    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    try:
        run = subprocess.run([sys.executable, "-c", SCRIPT, url], env=prefect_server, cwd=PROJECT,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-3000:]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(Receiver.received) < 2:
            time.sleep(0.5)
    finally:
        receiver.shutdown()
    titles = [m.get("title", "") for m in Receiver.received]
    assert any("notification-probe Failed" in title for title in titles), Receiver.received
    spike = [m for m in Receiver.received if "quarantine spike" in m.get("title", "")]
    assert spike and "jd-pop: 12 orders quarantined" in spike[0]["text"]
    assert all(m.get("source") == "shopops" for m in Receiver.received)
