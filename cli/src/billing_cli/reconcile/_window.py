"""``--since`` / ``--until``: the reconciliation window, in the business's time zone. Pure.

A value is ``today``, ``yesterday``, a date (``2026-11-25``: that day's midnight in the time zone)
or a date-time with a zone (``2026-11-25T08:00:00+07:00``). ``--until`` is excluded and defaults to
the end of today, so ``--since yesterday`` checks yesterday and today so far.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from billing_cli.reconcile._model import Window


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def parse_moment(value: str, zone: ZoneInfo, now: datetime) -> datetime:
    """The moment ``value`` names; ``ValueError`` saying what is accepted."""
    today = now.astimezone(zone).date()
    text = value.strip().lower()
    if text == "today":
        return _midnight(today, zone)
    if text == "yesterday":
        return _midnight(today - timedelta(days=1), zone)
    try:
        return _midnight(date.fromisoformat(text), zone)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date: use today, yesterday, YYYY-MM-DD or an ISO date-time with a zone"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone: add one (e.g. +07:00 or Z), or give a date")
    return moment


def make_window(since: str, until: str | None, time_zone: str, now: datetime) -> Window:
    """The window ``[since, until)``; ``ValueError`` if it is empty or ends in the future's future."""
    zone = ZoneInfo(time_zone)
    start = parse_moment(since, zone, now)
    end = (
        parse_moment(until, zone, now)
        if until
        else _midnight(now.astimezone(zone).date(), zone) + timedelta(days=1)
    )
    if end <= start:
        raise ValueError(
            f"the window is empty: --until ({end.isoformat()}) is not after --since ({start.isoformat()})"
        )
    first_day = _midnight(start.astimezone(zone).date(), zone)
    last = end.astimezone(zone)
    last_day = _midnight(last.date(), zone)
    day_after = last_day if last == last_day else last_day + timedelta(days=1)
    return Window(since=start, until=end, days=(first_day, day_after), time_zone=time_zone)
