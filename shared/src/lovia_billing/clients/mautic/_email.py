"""Would Mautic accept this e-mail address? The same rules as its ``EmailValidator``, checked before sending.

Mautic runs PHP's ``FILTER_VALIDATE_EMAIL`` and then rejects ``^&*%``; worse, it cleans values
before matching, so a mangled address can update a *different* contact (ref/mautic.md §4.4).
Pure: no I/O.
"""

from __future__ import annotations

import re

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"^{_ATEXT}(?:\.{_ATEXT})*$")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_FORBIDDEN = "^&*%"


def email_problem(address: str) -> str | None:
    """Why Mautic would reject ``address`` (a short reason), or ``None`` when it would accept it."""
    if not address:
        return "it is empty"
    if len(address) > 254:
        return "it is longer than 254 characters"
    if address.count("@") != 1:
        return "it must contain exactly one '@'"
    local, host = address.split("@")
    if not local or len(local) > 64 or not _LOCAL.match(local):
        return "the part before '@' is not letters, digits and !#$'+/=?_`{|}~- joined by single dots"
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return "the domain is not a dotted host name of letters, digits and hyphens"
    forbidden = sorted({char for char in address if char in _FORBIDDEN})
    if forbidden:
        return f"Mautic forbids the characters {''.join(forbidden)!r} in addresses"
    return None
