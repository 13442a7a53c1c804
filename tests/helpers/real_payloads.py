"""The shared real marketplace payloads (../shared/fixtures/marketplaces, PROVENANCE.md), read
where they are — never copied into the project — and skipped with a message where absent."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from domain.batching import BatchingRules

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "marketplaces"
#: batching rules for merge tests (only the merge identity matters to them)
MERGE_RULES = BatchingRules(ship_deadline_hours={"default": 48}, near_deadline_hours=6, max_orders_per_batch=10,
                            merge_buffer_minutes=30, split_policy="no_split", remark_keywords_needing_person=(),
                            promotion_gifts=())


def shared_payload(relative: str) -> object:
    """The parsed JSON of ``relative`` under the shared fixtures, or a skip naming where it was looked for."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared real payloads sit beside the clone (../shared)")
    return json.loads(path.read_text())
