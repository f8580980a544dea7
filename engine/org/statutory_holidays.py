"""China's statutory days off, computed from the law for a year whose official arrangement is not published yet.

《全国年节及纪念日放假办法》 (revised 2024, in force from 2025) fixes which days are off: 元旦 1 January; 春节
农历除夕 and 正月初一至初三; 清明节 the day of the 清明 solar term; 劳动节 1–2 May; 端午节 农历五月初五; 中秋节
农历八月十五; 国庆节 1–3 October. A statutory day that falls on a Saturday or Sunday is made up (补假) on a working
day; the law does not say which, so it is placed where the State Council's arrangements put it, on the first
weekdays after the holiday. What the law leaves to the State Council's yearly arrangement — the weekends worked
(调休) and the days bridged into longer breaks — cannot be known before it is published.

Lunar dates and solar terms come from ``lunar-python``; nothing here is hand-written astronomy.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, timedelta

import chinese_calendar
from lunar_python import Lunar

#: The first year the 2024 revision rules; before it 春节 had three days and 劳动节 one.
STATUTORY_SINCE = 2025
#: What the computed days rest on, for people reading a calendar answer.
STATUTORY_SOURCE = "《全国年节及纪念日放假办法》(2024)"
#: Added to the name of a day the law makes up for a statutory day that fell on a weekend.
MAKE_UP = "补假 make-up day off for"

_H = chinese_calendar.Holiday


def _names(holidays: list[chinese_calendar.Holiday]) -> str:
    """As the official days are named, Chinese first: 春节 Spring Festival; 中秋、国庆节 Mid-autumn Festival, ..."""
    return f"{'、'.join(h.chinese for h in holidays)} {', '.join(h.value for h in holidays)}"


@functools.cache
def statutory_days_off(year: int) -> Mapping[date, str]:
    """The days off the law gives in ``year`` (weekday make-up days included), as date -> name, in date order.

    Empty before :data:`STATUTORY_SINCE`, when other rules applied. A day two festivals share (中秋 on a
    National Day) is named for both and counted once.
    """
    if year < STATUTORY_SINCE:
        return {}
    festivals: dict[date, list[chinese_calendar.Holiday]] = {}
    for holiday, days in _festival_days(year):
        for day in days:
            festivals.setdefault(day, []).append(holiday)
    off = {day: _names(holidays) for day, holidays in festivals.items()}
    for block in _blocks(sorted(festivals)):
        owed = sum(1 for day in block if day.weekday() >= 5)
        day = block[-1]
        while owed:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in off:
                off[day] = f"{MAKE_UP} {off[block[-1]]}"
                owed -= 1
    return dict(sorted(off.items()))


def _festival_days(year: int) -> list[tuple[chinese_calendar.Holiday, list[date]]]:
    new_year = _lunar(year, 1, 1)
    return [
        (_H.new_years_day, [date(year, 1, 1)]),
        (_H.spring_festival, [new_year + timedelta(days=n) for n in range(-1, 3)]),  # 除夕 and 初一 to 初三
        (_H.tomb_sweeping_day, [_qingming(year)]),
        (_H.labour_day, [date(year, 5, 1), date(year, 5, 2)]),
        (_H.dragon_boat_festival, [_lunar(year, 5, 5)]),
        (_H.mid_autumn_festival, [_lunar(year, 8, 15)]),
        (_H.national_day, [date(year, 10, d) for d in (1, 2, 3)]),
    ]


def _qingming(year: int) -> date:
    """The day of the 清明 solar term (about 5 April) in ``year``."""
    solar = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    term = date(solar.getYear(), solar.getMonth(), solar.getDay())
    if term.year != year:  # the lunar year's table runs from the winter before; 清明 is always in its own year
        raise AssertionError(f"清明 of {year} computed as {term}")
    return term


def _lunar(year: int, month: int, day: int) -> date:
    """The Gregorian date of a (non-leap) lunar month's day in lunar year ``year``."""
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _blocks(days: list[date]) -> list[list[date]]:
    """Runs of consecutive days: a holiday's make-up days follow the whole run (国庆 with 中秋 beside it)."""
    blocks: list[list[date]] = []
    for day in days:
        if blocks and day - blocks[-1][-1] == timedelta(days=1):
            blocks[-1].append(day)
        else:
            blocks.append([day])
    return blocks
