"""Publishing's states: the built documents of a letter."""

from enum import StrEnum


class DocumentKind(StrEnum):
    public = "public"
    embargoed = "embargoed"
    staff = "staff"  # the coalition's PDF of the letter as it stands (`/letters/{slug}/pdf`)


class DocumentStatus(StrEnum):
    queued = "queued"
    building = "building"
    built = "built"
    failed = "failed"
