"""The archive's import: past minutes pages (from a wiki or a file) become stored past meetings.

:mod:`.reader` reads a page's wikitext into a :class:`~reviewbot.core.minutes.MeetingRecord`
(pure, no database and no wiki); :mod:`.importer` stores it, one transaction per page, keyed by
the wiki and page it came from so that importing again updates the meeting.
"""
