"""Keeping phone numbers out of access logs.

Request lines can carry a number: the simulator's JSON routes name the phone in the path
(`/simulator/phones/+12025550101/reply`), and a client may put one in a query string. The server's access
log writes request lines verbatim, so a filter on that logger masks anything shaped like a phone number.
"""

from __future__ import annotations

import logging
import re

# E.164 with a literal or URL-encoded plus, or 10+ digits in a row: what a phone number in a URL looks like.
_PHONE = re.compile(r"(?:\+|%2[bB])\d{6,15}|\b\d{10,15}\b")
ACCESS_LOGGERS = ("uvicorn.access",)


def redact_phones(text: str) -> str:
    """The text with every phone-shaped sequence replaced by [phone]."""
    return _PHONE.sub("[phone]", text)


class RedactPhones(logging.Filter):
    """Masks phone-shaped sequences in a record's message and string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_phones(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_phones(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_access_log_redaction() -> None:
    """Add the filter to the server's access logger (once per process)."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactPhones) for existing in logger.filters):
            logger.addFilter(RedactPhones())
