"""The team webhook's token (issue 19 #13): the URL carries it (DingTalk ``access_token``,
WeCom ``key``); it lives only in the secret field of the Prefect block, the API does not
return it without ``include_secrets``, messages still reach the URL, and a failed send does
not repeat it. Prefect test server of the session, a real local HTTP receiver."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
import requests
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.settings import PREFECT_API_URL

from shopops.notifications import WEBHOOK_BLOCK, configure_notifications, post_webhook

TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddcc"


class Receiver(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Receiver.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.paths = []
    yield f"http://127.0.0.1:{server.server_address[1]}/robot/send?access_token={TOKEN}"
    server.shutdown()
    server.server_close()


def test_the_block_keeps_the_webhook_token_secret_and_still_sends(prefect_harness, receiver):
    configure_notifications(receiver, "dingtalk")
    api = PREFECT_API_URL.value().rstrip("/")
    listed = httpx.post(f"{api}/block_documents/filter", json={}, timeout=30)
    listed.raise_for_status()
    mine = [d for d in listed.json() if d["name"] == WEBHOOK_BLOCK]
    assert mine, "the webhook block was not saved"
    one = httpx.get(f"{api}/block_documents/{mine[0]['id']}", timeout=30)
    one.raise_for_status()
    for text in (listed.text, one.text, json.dumps(mine)):
        assert TOKEN not in text and "access_token" not in text
    # with its secrets (what the server's notification action loads) the URL is whole again
    CustomWebhookNotificationBlock.load(WEBHOOK_BLOCK).notify("body", "subject")
    assert Receiver.paths == [f"/robot/send?access_token={TOKEN}"]


def test_a_failed_send_does_not_repeat_the_webhook_token():
    with socket.socket() as sock:      # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key={TOKEN}"
    with pytest.raises(requests.RequestException) as info:
        post_webhook(url, "wecom", "title", "text", timeout_s=2)
    assert "ConnectionError" in str(info.value) and TOKEN not in str(info.value)
