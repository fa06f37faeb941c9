"""Imports every table model so SQLModel.metadata (and Alembic) sees them all."""

from backend.accounts.models import EmailToken, Membership, Organisation, User, UserSession
from backend.audit.models import AuditEvent
from backend.campaigns.models import Campaign, CoalitionInvite, CoalitionMember
from backend.commitments.models import CommitmentAlert, CommitmentMeasure, EvidenceRevision, PublicDocument
from backend.inbound.models import InboundAttachment, InboundMessage
from backend.letters.models import (
    Letter,
    LetterRecipient,
    LetterTag,
    LetterVersion,
    PressContact,
    Quote,
    Recipient,
)
from backend.mail.models import OutboundAttachment, OutboundEmail
from backend.privacy.models import Erasure
from backend.publishing.models import PressDownload, PressLink, PublicationSchedule
from backend.responses.models import (
    Commitment,
    CommitmentEvidence,
    Dispatch,
    Holiday,
    OverdueAlert,
    Response,
    ResponseRevision,
)
from backend.signatures.models import Invite, InviteLink, ListingChange, Signature, SignatureToken

__all__ = [
    "AuditEvent",
    "Campaign",
    "CoalitionInvite",
    "CoalitionMember",
    "Commitment",
    "CommitmentAlert",
    "CommitmentEvidence",
    "CommitmentMeasure",
    "Dispatch",
    "EmailToken",
    "Erasure",
    "EvidenceRevision",
    "Holiday",
    "InboundAttachment",
    "InboundMessage",
    "Invite",
    "InviteLink",
    "Letter",
    "LetterRecipient",
    "LetterTag",
    "LetterVersion",
    "ListingChange",
    "Membership",
    "Organisation",
    "OutboundAttachment",
    "OutboundEmail",
    "OverdueAlert",
    "PressContact",
    "PressDownload",
    "PressLink",
    "PublicDocument",
    "PublicationSchedule",
    "Quote",
    "Recipient",
    "Response",
    "ResponseRevision",
    "Signature",
    "SignatureToken",
    "User",
    "UserSession",
]
