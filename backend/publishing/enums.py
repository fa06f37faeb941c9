"""Publishing's states: the built documents of a letter."""

from enum import StrEnum


class DocumentKind(StrEnum):
    public = "public"
    embargoed = "embargoed"


class DocumentStatus(StrEnum):
    queued = "queued"
    building = "building"
    built = "built"
    failed = "failed"
