"""Secrets and phone numbers never reach a log line; order ids and amounts stay readable."""
from __future__ import annotations

import logging

from shopops.logmask import MaskingFilter, mask_line, register_secret


def test_phones_are_masked_and_ids_are_not():
    line = "buyer 13812345678 / +1 415-555-0132 / 021-12345678, order 2000000000000053477 total 29900"
    assert mask_line(line) == "buyer 138****5678 / +1 41****0132 / 021-****5678, order 2000000000000053477 total 29900"


def test_registered_secrets_are_masked_in_messages_and_tracebacks():
    register_secret("s3cr3t-app-secret-value")
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "signing with %s for %s", ("s3cr3t-app-secret-value", "13912345678"), None)
    try:
        raise RuntimeError("bad sign s3cr3t-app-secret-value")
    except RuntimeError:
        import sys
        record.exc_info = sys.exc_info()
    assert MaskingFilter().filter(record)
    assert record.getMessage() == "signing with *** for 139****5678"
    assert "s3cr3t" not in record.exc_text and "bad sign ***" in record.exc_text
