"""Measured commitments' fixed sets of values."""

from enum import StrEnum


class Unit(StrEnum):
    PERCENT = "percent"
    POUNDS = "pounds"
    COUNT = "count"
    OTHER = "other"  # a free unit, named in `unit_label`


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


class AlertKind(StrEnum):
    TARGET_PASSED = "target_passed"
    NO_EVIDENCE = "no_evidence"
