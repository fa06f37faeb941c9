"""Undersigned: open letters for coalitions of charities."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
