"""A flow-backed command that fails prints the flow's error once, as a message: no Prefect
traceback on the terminal (issue 19 #14). The installed ``shopops`` runs in a subprocess
against the session's Prefect test server."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from prefect.settings import PREFECT_API_URL

from config.settings import CONFIG_DIR
from warehouse import migrate

SHOPOPS = Path(sys.executable).with_name("shopops")


def test_a_failing_flow_command_prints_its_message_and_no_traceback(prefect_harness, tmp_path):
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("*.py", "__pycache__", "scenarios"))
    migrate.upgrade(f"sqlite:///{tmp_path / 'data' / 'warehouse.sqlite'}")
    bad = tmp_path / "count.csv"
    bad.write_text("sku,warehouse,counted_qty\nA,HZ01,-4\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPOPS_", "PREFECT_"))} | dict(
        SHOPOPS_DATA_DIR=str(tmp_path / "data"), SHOPOPS_CONFIG_DIR=str(config), SHOPOPS_LOCALE="en",
        PREFECT_API_URL=str(PREFECT_API_URL.value()), PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false")

    done = subprocess.run([str(SHOPOPS), "stock", "reconcile", "--count-file", str(bad), "--no-read-listings"],
                          capture_output=True, text=True, env=env, timeout=180)

    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    # the CLI's own line (not only inside Prefect's "Finished in state Failed(…)" log line)
    assert f"{bad}: row 2, column counted_qty: '-4' is not a whole number of 0 or more" in done.stderr.splitlines()


def test_a_flow_command_on_an_unmigrated_warehouse_says_run_db_upgrade(prefect_harness, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPOPS_", "PREFECT_"))} | dict(
        SHOPOPS_DATA_DIR=str(tmp_path / "data"), SHOPOPS_LOCALE="en",
        PREFECT_API_URL=str(PREFECT_API_URL.value()), PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false")

    done = subprocess.run([str(SHOPOPS), "stock", "restock"], capture_output=True, text=True, env=env, timeout=180)

    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert any(line.startswith("The warehouse at sqlite:///") and "Run `shopops db upgrade`" in line
               for line in done.stderr.splitlines())
