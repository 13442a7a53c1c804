"""The CLI talks to the team's Prefect server (issue 23 #7). The installed ``shopops`` runs in a
subprocess with no PREFECT_API_URL at all: pointed only by the product's default
(``http://127.0.0.1:<SHOPOPS_PREFECT_PORT>/api``, the demo's server) its run lands on the
session's Prefect test server and is found there through the API; with nothing listening it says
so, names the address and what to do, exits non-zero and starts no throwaway server."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import requests
from prefect.settings import PREFECT_API_URL

from warehouse import migrate

SHOPOPS = Path(sys.executable).with_name("shopops")


def bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a person who set nothing: no PREFECT_* and no SHOPOPS_* variable but a
    data folder of their own (and a Prefect home with no profile, so none is read)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPOPS_", "PREFECT_"))
           and k != "DO_NOT_TRACK"}
    return env | dict(SHOPOPS_DATA_DIR=str(tmp_path / "data"), PREFECT_HOME=str(tmp_path / "prefect"), **extra)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_cli_run_with_no_prefect_variable_is_on_the_default_server(prefect_harness, tmp_path):
    api = str(PREFECT_API_URL.value()).rstrip("/")
    address = urlsplit(api)
    assert address.hostname == "127.0.0.1" and address.path == "/api"   # the shape of the demo's address
    migrate.upgrade(f"sqlite:///{tmp_path / 'data' / 'warehouse.sqlite'}")
    started = datetime.now(timezone.utc)

    done = subprocess.run([str(SHOPOPS), "stock", "restock"], capture_output=True, text=True, timeout=300,
                          env=bare_env(tmp_path, SHOPOPS_PREFECT_PORT=str(address.port), SHOPOPS_LOCALE="en"))

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    runs = requests.post(f"{api}/flow_runs/filter", timeout=30, json={
        "flows": {"name": {"any_": ["restock-alerts"]}},
        "flow_runs": {"start_time": {"after_": started.isoformat()}}}).json()
    assert [r["state_type"] for r in runs] == ["COMPLETED"], runs
    assert not (tmp_path / "prefect" / "prefect.db").exists()   # no throwaway server of its own


def test_no_reachable_server_is_said_clearly_and_no_server_is_started(tmp_path):
    port = free_port()
    migrate.upgrade(f"sqlite:///{tmp_path / 'data' / 'warehouse.sqlite'}")

    done = subprocess.run([str(SHOPOPS), "stock", "restock"], capture_output=True, text=True, timeout=120,
                          env=bare_env(tmp_path, SHOPOPS_PREFECT_PORT=str(port), SHOPOPS_LOCALE="en"))

    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith(f"No Prefect server answers at http://127.0.0.1:{port}/api (the demo's default address")
    assert "`shopops demo`" in line and "SHOPOPS_PREFECT_API_URL=" in line
    assert not (tmp_path / "prefect" / "prefect.db").exists()   # Prefect's throwaway server would have made it

    chinese = subprocess.run([str(SHOPOPS), "stock", "restock"], capture_output=True, text=True, timeout=120,
                             env=bare_env(tmp_path, SHOPOPS_PREFECT_API_URL=f"http://127.0.0.1:{port}/api"))
    assert chinese.returncode == 2
    assert f"http://127.0.0.1:{port}/api 没有 Prefect 服务器应答（来自 SHOPOPS_PREFECT_API_URL" in chinese.stderr


def test_commands_without_prefect_work_with_no_server(tmp_path):
    env = bare_env(tmp_path, SHOPOPS_PREFECT_PORT=str(free_port()), SHOPOPS_LOCALE="en")
    for args in (["db", "upgrade"], ["batch", "list"]):
        done = subprocess.run([str(SHOPOPS), *args], capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, (args, done.stderr[-2000:])


def test_settle_without_a_server_says_the_approval_cannot_be_asked(tmp_path):
    """A version already awaiting approval stays so, and the commands that decide it are named;
    they decide it with the warehouse alone and say why the asking run was not resumed."""
    from warehouse import repository
    from warehouse.db import make_engine

    url = f"sqlite:///{tmp_path / 'data' / 'warehouse.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    waiting, _ = repository.write_settlement(engine, month="2026-10", preset="seed_commission", inputs_sha256="0" * 64,
                                             lines=[], status="awaiting_approval", flow_run_id=str(uuid.uuid4()), inputs={},
                                             kpis={})
    engine.dispose()

    port = free_port()
    env = bare_env(tmp_path, SHOPOPS_PREFECT_PORT=str(port), SHOPOPS_LOCALE="en")
    done = subprocess.run([str(SHOPOPS), "settle", "2026-10"], capture_output=True, text=True, timeout=120, env=env)

    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("Settlement 2026-10 was not run: the approval cannot be asked without the Prefect "
                               "server. No Prefect server answers at http://127.0.0.1:")
    assert lines[1] == (f"Version {waiting.version} (seed_commission) stays awaiting approval: decide it with "
                        "`shopops settle approve 2026-10 --by NAME` or `shopops settle correct 2026-10 --by NAME "
                        "--note …` (these need only the warehouse).")

    approved = subprocess.run([str(SHOPOPS), "settle", "approve", "2026-10", "--by", "王芳"], capture_output=True,
                              text=True, timeout=120, env=env)
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip() == f"Settlement 2026-10 version {waiting.version} is final (approved by 王芳)."
    assert (f"could not be resumed (no Prefect server answers at http://127.0.0.1:{port}/api)"
            in approved.stderr), approved.stderr


def test_leak_scan_without_a_server_scans_the_rest_and_says_prefect_was_not(tmp_path):
    port = free_port()
    migrate.upgrade(f"sqlite:///{tmp_path / 'data' / 'warehouse.sqlite'}")
    (tmp_path / "logs").mkdir()

    done = subprocess.run([str(SHOPOPS), "leak-scan", str(tmp_path / "logs")], capture_output=True, text=True,
                          timeout=120, env=bare_env(tmp_path, SHOPOPS_PREFECT_PORT=str(port), SHOPOPS_LOCALE="en"))

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.startswith(f"Prefect not scanned: No Prefect server answers at http://127.0.0.1:{port}/api "
                                  "(the demo's default address;"), done.stderr
