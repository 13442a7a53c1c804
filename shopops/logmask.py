"""A logging filter that masks registered secrets, phone numbers, e-mail addresses and
street addresses in every log line.

Prefect shows secret *blocks* as ******** but does not redact values our own code logs, and
flow-run logs are stored on the server and shown in the UI: so every handler (console and
Prefect's API handler) gets this filter. Phones are matched strictly (a CN mobile, an
international ``+`` number, a CN landline) so that order ids and amounts stay readable.
"""
from __future__ import annotations

import logging
import re
import threading

from domain.pii import mask_contacts, mask_phone

_PHONES = re.compile(
    r"(?<![\d*])1[3-9]\d{9}(?!\d)"          # CN mobile 13812345678
    r"|\+\d{1,3}[\s-]?\(?\d{1,4}\)?(?:[\s-]?\d{2,4}){2,4}(?!\d)"   # +1 415-555-0132, +86 138 1234 5678
    r"|(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"       # CN landline 021-12345678
)
_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears in a later log line (too short values are ignored:
    masking every "abc" would mangle messages)."""
    if value and len(value) >= 6:
        with _lock:
            _secrets.add(value)


def mask_line(text: str) -> str:
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "***")
    return _PHONES.sub(lambda m: mask_phone(m.group(0)) or "***", mask_contacts(text))


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_line(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and record.exc_info[1] is not None and not getattr(record, "_masked_exc", False):
            # tracebacks are formatted later from exc_info: format now, masked, and drop it
            record.exc_text = mask_line(logging.Formatter().formatException(record.exc_info))
            record.exc_info, record._masked_exc = None, True
        return True


_FILTER = MaskingFilter()


def install_log_masking() -> None:
    """Put the filter on every handler that exists now (idempotent; call at a run's start)."""
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
