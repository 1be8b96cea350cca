"""Mautic's e-mail address check, as its ``EmailValidator`` does it (format, then forbidden characters).

Mautic runs PHP's ``FILTER_VALIDATE_EMAIL`` and then rejects any of ``^&*%``. The format rule here
is a close reading of PHP's filter (dot-atom local part, dotted host name of LDH labels), not a
byte-for-byte port.
"""

from __future__ import annotations

import re

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"^{_ATEXT}(?:\.{_ATEXT})*$")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_FORBIDDEN = "^&*%"


def _valid_format(address: str) -> bool:
    if not address or len(address) > 320 or address.count("@") != 1:
        return False
    local, host = address.split("@")
    if len(local) > 64 or not _LOCAL.match(local):
        return False
    labels = host.split(".")
    return len(labels) >= 2 and all(_LABEL.match(label) for label in labels)


def email_violation(address: str) -> str | None:
    """Mautic's message for an invalid address (``mautic.email.address.*``), ``None`` when valid."""
    if not _valid_format(address):
        return f"{address or '?'} is invalid."
    if any(char in address for char in _FORBIDDEN):
        return f"{address} has characters not allowed in email addresses."
    return None
