"""``UTCDateTime``: aware UTC in, aware UTC out, naive refused — checked without a database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from warehouse.models import UTCDateTime

SQLITE, POSTGRESQL = sqlite.dialect(), postgresql.dialect()


def test_aware_values_are_written_as_utc():
    shanghai = datetime(2026, 11, 11, 0, 0, 1, tzinfo=ZoneInfo("Asia/Shanghai"))
    utc = datetime(2026, 11, 10, 16, 0, 1, tzinfo=timezone.utc)
    assert UTCDateTime().process_bind_param(shanghai, POSTGRESQL) == utc
    assert UTCDateTime().process_bind_param(shanghai, POSTGRESQL).utcoffset() == timedelta(0)
    # SQLite has no zone type: the UTC wall time is stored
    assert UTCDateTime().process_bind_param(shanghai, SQLITE) == utc.replace(tzinfo=None)


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL], ids=["sqlite", "postgresql"])
def test_naive_and_non_datetime_values_are_refused(dialect):
    with pytest.raises(ValueError, match="naive datetime 2026-11-11T08:00:00 refused"):
        UTCDateTime().process_bind_param(datetime(2026, 11, 11, 8), dialect)
    with pytest.raises(TypeError, match="got str"):
        UTCDateTime().process_bind_param("2026-11-11T08:00:00Z", dialect)
    assert UTCDateTime().process_bind_param(None, dialect) is None


def test_values_read_back_are_aware_utc():
    read = UTCDateTime().process_result_value(datetime(2026, 11, 11, 8, 0), SQLITE)
    assert read == datetime(2026, 11, 11, 8, 0, tzinfo=timezone.utc) and read.tzinfo is timezone.utc
    from_postgres = datetime(2026, 11, 11, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert UTCDateTime().process_result_value(from_postgres, POSTGRESQL).tzinfo is timezone.utc
    assert UTCDateTime().process_result_value(from_postgres, POSTGRESQL) == from_postgres


def test_sqlite_text_sorts_in_time_order():
    """The newest-wins guard compares stored text on SQLite: text order must be time order."""
    storage = UTCDateTime.SQLITE_STORAGE_FORMAT
    times = [datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 3, 4, 5, 1),
             datetime(2026, 10, 1), datetime(2027, 1, 1)]
    texts = [storage % {"year": t.year, "month": t.month, "day": t.day, "hour": t.hour, "minute": t.minute,
                        "second": t.second, "microsecond": t.microsecond} for t in times]
    assert texts[1] == "2026-01-02T03:04:05.000001"
    assert sorted(texts) == texts
