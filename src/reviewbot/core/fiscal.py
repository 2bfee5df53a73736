"""Fiscal quarters: which quarter a review meeting looks back on, and how it is named.

A fiscal year starting in July 2015 is "FY2015–16" and its first quarter is July to September.
A review meeting reviews the quarter that ended last before it: with a July start, a meeting
in July 2016 reviews Q4 FY2015–16.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class FiscalQuarter:
    """Quarter 1 to 4 of the fiscal year that starts in *start_month* of *start_year*."""

    start_year: int
    quarter: int
    start_month: int

    @property
    def label(self) -> str:
        """``Q4 FY2015–16``, or ``Q4 FY2015`` when fiscal years are calendar years."""
        if self.start_month == 1:
            return f"Q{self.quarter} FY{self.start_year}"
        return f"Q{self.quarter} FY{self.start_year}–{(self.start_year + 1) % 100:02d}"


def quarter_of(day: date, start_month: int) -> FiscalQuarter:
    """The fiscal quarter *day* falls in."""
    if not 1 <= start_month <= 12:
        raise ValueError("the fiscal year's first month must be 1 to 12")
    months_in = (day.month - start_month) % 12
    start_year = day.year if day.month >= start_month else day.year - 1
    return FiscalQuarter(start_year=start_year, quarter=months_in // 3 + 1, start_month=start_month)


def quarter_under_review(meeting_day: date, start_month: int) -> FiscalQuarter:
    """The quarter a meeting on *meeting_day* reviews: the one before the quarter it is in."""
    current = quarter_of(meeting_day, start_month)
    if current.quarter > 1:
        return FiscalQuarter(current.start_year, current.quarter - 1, start_month)
    return FiscalQuarter(current.start_year - 1, 4, start_month)
