"""The string formats vcgate asserts: XML Schema ``dateTimeStamp``, ``date`` and absolute URLs.

JSON Schema 2020-12 treats ``format`` as an annotation unless a checker is supplied, and ``jsonschema``'s
default
checkers depend on which optional packages happen to be installed. vcgate supplies its own, so a credential
validates the same way everywhere.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from jsonschema import FormatChecker

# VC 2.0 §4.8 (validity period) and §4.6 of VC 1.1: values are XML Schema 1.1 dateTimeStamp, i.e. dateTime
# with a
# mandatory timezone. Uppercase 'T' and 'Z' only (XSD §3.3.7 lexical space).
_DATE_TIME = re.compile(
    r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
    r"(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})$"
)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# RFC 3986 §3.1: scheme ":" then something; no whitespace or characters RFC 3986 never allows unescaped.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")


def parse_date_time(value: str) -> datetime | None:
    """Parse an XML Schema ``dateTimeStamp`` (dateTime with timezone) into an aware datetime, or ``None``.

    Years 0001-9999 only, and no ``24:00:00`` (both valid XSD, never seen in credentials, and not
    representable
    by :class:`datetime`). Fractions beyond microseconds are truncated.
    """
    match = _DATE_TIME.match(value)
    if match is None:
        return None
    tz = match["tz"]
    if tz == "Z":
        offset = timedelta(0)
    else:
        hours, minutes = int(tz[1:3]), int(tz[4:6])
        # XSD §3.3.7.1: timezone offsets lie within -14:00..+14:00.
        if minutes > 59 or hours * 60 + minutes > 14 * 60:
            return None
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if tz[0] == "-" else 1)
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    try:
        return datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            int(fraction),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None


def is_date(value: str) -> bool:
    """True for a valid calendar date ``YYYY-MM-DD`` (XML Schema ``date`` without timezone)."""
    if _DATE.match(value) is None:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def is_url(value: str) -> bool:
    """True for an absolute URI (scheme, colon, no characters RFC 3986 forbids); DIDs and URNs pass."""
    return _URL.match(value) is not None


def format_checker() -> FormatChecker:
    """A checker asserting exactly ``date-time``, ``date`` and ``uri``; other formats stay annotations."""
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(instance: object) -> bool:
        return not isinstance(instance, str) or parse_date_time(instance) is not None

    @checker.checks("date")
    def _date(instance: object) -> bool:
        return not isinstance(instance, str) or is_date(instance)

    @checker.checks("uri")
    def _uri(instance: object) -> bool:
        return not isinstance(instance, str) or is_url(instance)

    return checker
