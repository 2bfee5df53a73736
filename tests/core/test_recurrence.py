"""Pure schedule logic: quarterly recurrence across years and daylight saving, reminder triage,
fiscal quarters, offsets and what people type."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewbot.core import UserError
from reviewbot.core.fiscal import quarter_of, quarter_under_review
from reviewbot.core.recurrence import (
    LAST,
    Pattern,
    Reminder,
    format_offset,
    occurrences,
    offsets_text,
    parse_offsets,
    parse_pattern,
    reminders_due,
    triage,
    upcoming,
    week_of,
    weekday_in_month,
)
from reviewbot.core.replies import Moment
from reviewbot.store.schema import Recurrence

LA = "America/Los_Angeles"
SEED = Pattern(first=date(2016, 7, 14), at=time(8, 0), zone=LA)


def local(moment: datetime, zone: str = LA) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


def test_the_seed_meeting_recurs_on_the_second_thursday_every_quarter_across_dst():
    before_seed = datetime(2016, 7, 1, tzinfo=UTC)
    meetings = upcoming(SEED, before_seed, 13)
    assert [local(m).date() for m in meetings] == [
        date(2016, 7, 14), date(2016, 10, 13), date(2017, 1, 12), date(2017, 4, 13),
        date(2017, 7, 13), date(2017, 10, 12), date(2018, 1, 11), date(2018, 4, 12),
        date(2018, 7, 12), date(2018, 10, 11), date(2019, 1, 10), date(2019, 4, 11),
        date(2019, 7, 11),
    ]  # fmt: skip
    assert all(local(m).time() == time(8, 0) for m in meetings)
    # 8:00 PT is 15:00 UTC in daylight saving time (PDT) and 16:00 UTC in winter (PST).
    assert [m.hour for m in meetings[:4]] == [15, 15, 16, 15]
    assert {local(m).tzname() for m in meetings} == {"PDT", "PST"}


def test_next_meetings_after_a_moment_skip_the_past():
    after = datetime(2016, 7, 14, 15, 0, tzinfo=UTC)  # the seed meeting itself is not "next"
    assert local(next(occurrences(SEED, after))).date() == date(2016, 10, 13)
    far = datetime(2031, 2, 1, tzinfo=UTC)
    assert local(next(occurrences(SEED, far))).date() == date(2031, 4, 10)


def test_a_fifth_week_date_keeps_the_last_weekday_of_the_month():
    pattern = Pattern(first=date(2016, 6, 30), at=time(10, 0), zone="Europe/Berlin")  # 5th Thursday
    assert pattern.week == LAST
    days = [local(m, "Europe/Berlin").date() for m in upcoming(pattern, datetime(2016, 6, 1, tzinfo=UTC), 5)]
    assert days == [date(2016, 6, 30), date(2016, 9, 29), date(2016, 12, 29), date(2017, 3, 30), date(2017, 6, 29)]
    assert "the last Thursday of March, June, September and December" in pattern.describe()


def test_weekday_positions():
    assert week_of(date(2016, 7, 14)) == 2
    assert week_of(date(2016, 7, 28)) == 4
    assert week_of(date(2016, 7, 29)) == LAST
    assert weekday_in_month(2016, 10, 3, 2) == date(2016, 10, 13)
    assert weekday_in_month(2016, 2, 0, LAST) == date(2016, 2, 29)


def test_southern_hemisphere_and_times_that_do_not_exist():
    sydney = Pattern(first=date(2016, 1, 5), at=time(9, 30), zone="Australia/Sydney")
    meetings = upcoming(sydney, datetime(2016, 1, 1, tzinfo=UTC), 4)
    assert [local(m, "Australia/Sydney").time() for m in meetings] == [time(9, 30)] * 4
    assert [local(m, "Australia/Sydney").tzname() for m in meetings] == ["AEDT", "AEST", "AEST", "AEDT"]
    # 02:30 on the day clocks go forward (second Sunday of March 2021 in LA) does not exist: an hour later.
    gap = Pattern(first=date(2021, 3, 14), at=time(2, 30), zone=LA, recurrence=Recurrence.ONCE)
    (moment,) = upcoming(gap, datetime(2021, 1, 1, tzinfo=UTC), 5)
    assert local(moment).strftime("%H:%M %Z") == "03:30 PDT"


def test_once_has_one_meeting():
    once = Pattern(first=date(2016, 10, 13), at=time(8, 0), zone=LA, recurrence=Recurrence.ONCE)
    assert len(upcoming(once, datetime(2016, 1, 1, tzinfo=UTC), 5)) == 1
    assert upcoming(once, datetime(2016, 12, 1, tzinfo=UTC), 5) == []


zones = st.sampled_from(["America/Los_Angeles", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"])


@settings(max_examples=60, deadline=None)
@given(
    first=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    zone=zones,
)
def test_every_meeting_keeps_weekday_position_and_wall_clock_time(first, hour, minute, zone):
    pattern = Pattern(first=first, at=time(hour, minute), zone=zone)
    meetings = upcoming(pattern, datetime.combine(first, time(0), tzinfo=UTC) - timedelta(days=2), 12)
    assert local(meetings[0], zone).date() == first or hour in (2, 3)  # a DST gap may move the first
    for k, moment in enumerate(meetings):
        day = local(moment, zone)
        months = (day.year - first.year) * 12 + day.month - first.month
        assert months == 3 * k
        assert day.weekday() == first.weekday()
        if week_of(first) == LAST:  # the last such weekday of its month
            assert (day.date() + timedelta(days=7)).month != day.month
        else:
            assert week_of(day.date()) == week_of(first)
        if day.replace(tzinfo=None).time() != time(hour, minute):  # only in a gap, and an hour later
            assert hour in (1, 2, 3) and (day.hour - hour) % 24 == 1


def test_reminders_due_and_triage():
    meeting = datetime(2016, 10, 13, 15, 0, tzinfo=UTC)
    offsets = parse_offsets(["14d", "1d", "15m"])
    since = datetime(2016, 9, 1, tzinfo=UTC)
    assert reminders_due([meeting], offsets, since, meeting - timedelta(days=15)) == []
    due = reminders_due([meeting], offsets, since, meeting - timedelta(hours=2))
    assert [r.offset for r in due] == [20160, 1440]
    plan = triage(due, meeting - timedelta(hours=2))
    assert [r.offset for r in plan.send] == [1440] and [r.offset for r in plan.superseded] == [20160]
    plan = triage(due, meeting + timedelta(minutes=1))
    assert plan.send == () and len(plan.past) == 2
    # set after a reminder was due: that one is never due
    assert reminders_due([meeting], offsets, meeting - timedelta(days=3), meeting - timedelta(days=2)) == []
    assert Reminder(meeting, 15).due_at == meeting - timedelta(minutes=15)


def test_offsets_parse_and_format():
    assert parse_offsets(["14d", "1d", "15m"]) == (20160, 1440, 15)
    assert parse_offsets(["15m", "2w", "1d", "1d"]) == (20160, 1440, 15)
    assert parse_offsets(["none"]) == ()
    assert [format_offset(m) for m in (20160, 1440, 90, 15)] == ["14d", "1d", "1h30m", "15m"]
    assert offsets_text((20160, 1440, 15)) == "14d, 1d and 15m before"
    for bad in (["soon"], ["0m"], ["90d"], [], ["1m", "2m", "3m", "4m", "5m", "6m", "7m"]):
        with pytest.raises(UserError):
            parse_offsets(bad)


def test_pattern_parsing():
    pattern = parse_pattern(["2016-10-13", "8:00"], LA)
    assert pattern == Pattern(date(2016, 10, 13), time(8, 0), LA, Recurrence.QUARTERLY)
    assert parse_pattern(["2016-10-13", "08:00", "once", "Europe/Berlin"], LA).zone == "Europe/Berlin"
    for words, message in [
        (["2016-10-13"], "date and time"),
        (["13.10.2016", "08:00"], "is not a date"),
        (["2016-02-30", "08:00"], "is not a date"),
        (["9999-12-01", "08:00"], "between 2000 and 2100"),
        (["2016-10-13", "8am"], "is not a time"),
        (["2016-10-13", "25:00"], "is not a time"),
        (["2016-10-13", "08:00", "Mars/Olympus"], "is not a timezone"),
        (["2016-10-13", "08:00", "../../etc/passwd"], "is not a timezone"),
    ]:
        with pytest.raises(UserError, match=message):
            parse_pattern(words, LA)


def test_fiscal_quarters():
    # The Wikimedia Foundation's fiscal year starts in July: the July 2016 meeting reviews Q4 FY2015–16.
    assert quarter_under_review(date(2016, 7, 14), 7).label == "Q4 FY2015–16"
    assert quarter_under_review(date(2016, 10, 13), 7).label == "Q1 FY2016–17"
    assert quarter_under_review(date(2017, 1, 12), 7).label == "Q2 FY2016–17"
    assert quarter_under_review(date(2017, 4, 13), 7).label == "Q3 FY2016–17"
    assert quarter_of(date(2016, 6, 30), 7).label == "Q4 FY2015–16"
    assert quarter_under_review(date(2017, 1, 10), 1).label == "Q4 FY2016"
    assert quarter_under_review(date(2099, 12, 1), 10).label == "Q4 FY2098–99"


def test_a_moment_is_written_in_its_timezone():
    assert str(Moment(datetime(2016, 10, 13, 15, 0, tzinfo=UTC), LA)) == "Thursday, October 13, 2016 at 8:00 AM PDT"
