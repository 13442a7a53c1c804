"""``python tests/helpers/crash_runner.py CONFIG_DIR DATABASE_URL CLOCK_ISO OWNER SHOP...``

Pulls the shops one after the other with ``tasks.ingest.pull_shop`` (what ``shopops ingest``
does per shop) in a process of its own, so that ``SHOPOPS_TEST_CRASH_AT`` can kill it with
SIGKILL mid-pull (tests/integration/test_ingest_crash.py). Credentials and the PII hash key
come from the environment as in production.
"""
from __future__ import annotations

import sys
from datetime import datetime

from config.schema import load_config
from tasks.ingest import pull_shop


def main(argv: list[str]) -> int:
    config_dir, database_url, clock_iso, owner, *shops = argv
    config = load_config(config_dir)
    now = datetime.fromisoformat(clock_iso)
    for shop in shops:
        result = pull_shop(config, shop, database_url=database_url, owner=owner, clock=lambda: now)
        if result.status != "ok":
            print(f"{shop}: {result.status}: {result.error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
