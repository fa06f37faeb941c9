"""The one time zone the app shows and counts dates in: letters, due dates and embargoes are UK matters."""

from __future__ import annotations

from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
