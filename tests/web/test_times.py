"""Times on the portal's pages: in the United Kingdom's time (GMT or BST), written the GOV.UK way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from pupildata.web.templating import clock, day, environment, when


def test_winter_is_gmt_and_summer_is_bst() -> None:
    assert when(datetime(2026, 12, 7, 13, 24, 40, tzinfo=UTC)) == "7 Dec 2026, 1:24pm"
    assert when(datetime(2026, 6, 7, 13, 24, tzinfo=UTC)) == "7 Jun 2026, 2:24pm"
    assert when(datetime(2026, 6, 7, 23, 30, tzinfo=UTC), long=True) == "8 June 2026 at 12:30am"  # the next day
    assert when(datetime(2026, 12, 7, 13, 24)) == "7 Dec 2026, 1:24pm"  # no zone: UTC, as the stores keep it


def test_hours_minutes_midday_and_midnight() -> None:
    winter = datetime(2026, 1, 5, tzinfo=UTC)
    assert clock(winter + timedelta(hours=9)) == "9am"
    assert clock(winter + timedelta(hours=9, minutes=5)) == "9:05am"
    assert clock(winter + timedelta(hours=12)) == "midday"
    assert clock(winter + timedelta(hours=12, minutes=1)) == "12:01pm"
    assert clock(winter) == "midnight"
    assert clock(winter + timedelta(minutes=59)) == "12:59am"
    assert when(None) == "Never"


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_every_moment_reads_back_as_the_uk_time_it_is(moment: datetime) -> None:
    """The day and the clock shown are the moment's in Europe/London, to the minute."""
    time = {"midday": "12:00pm", "midnight": "12:00am"}.get(clock(moment), clock(moment))
    if ":" not in time:
        time = time[:-2] + ":00" + time[-2:]
    shown = datetime.strptime(f"{day(moment)} {time}", "%d %b %Y %I:%M%p")
    expected = moment.astimezone(ZoneInfo("Europe/London")).replace(second=0, microsecond=0, tzinfo=None)
    assert shown == expected


def test_pages_reach_the_same_function() -> None:
    rendered = (
        environment()
        .from_string("{{ when(t) }} | {{ t | day }} | {{ t | clock }}")
        .render(t=datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    )
    assert rendered == "1 Jul 2026, 9am | 1 Jul 2026 | 9am"
