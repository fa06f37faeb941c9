"""Campaigns' fixed sets of values."""

from enum import StrEnum


class CoalitionRole(StrEnum):
    """A coalition member organisation's role on a campaign (a coalition invite offers one too)."""

    viewer = "viewer"
    editor = "editor"
    lead = "lead"
