"""Scale-out on PostgreSQL with two process workers (scripts/scale_out_check.py): 12 shops,
one pull each; the flow-run records show both workers ran pulls, and the warehouse equals the
sandbox's ground truth."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_two_workers_share_twelve_shops_and_the_result_is_exact(postgres_admin_url):
    url = sa.make_url(postgres_admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    run = subprocess.run([sys.executable, str(PROJECT / "scripts" / "scale_out_check.py"), "--postgres", url],
                         cwd=PROJECT, capture_output=True, text=True, timeout=600)
    print(run.stdout[-2000:])
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and summary["ok"], summary
    assert summary["flow_runs"] == 12 and summary["states"] == ["COMPLETED"]
    assert summary["runs_per_worker"]["worker-a"] > 0 and summary["runs_per_worker"]["worker-b"] > 0
    assert summary["orders_equal_to_ground_truth"] > 500
