"""states: a CHECK constraint on every state, kind and role column

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-03 06:30:00

The columns keep storing the value as a string (no native enum type); each `StrEnum` of backend/<domain>/enums.py
gets a CHECK `ck_<table>_<column>` listing its values. The values are written out here, as they are on the day
of this revision, so later changes to the enums need revisions of their own. Columns that had a CHECK already
(inbound_message.state, commitment_measure, commitment_alert, privacy_erasure, document_build) are left alone.

On SQLite each table is rebuilt in batch mode, with foreign keys off (alembic/env.py) so that dropping the old
table deletes nothing that points at it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNATURE_KINDS = ("organisation", "individual")
_FIELD_MODES = ("required", "optional", "hidden")
_COMMITMENT_STATUSES = ("open", "in_progress", "met", "missed", "dropped")
_COALITION_ROLES = ("viewer", "editor", "lead")

# table -> column -> the values allowed
CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    "membership": {"role": ("admin", "member")},
    "coalition_member": {"role": _COALITION_ROLES},
    "coalition_invite": {"role": _COALITION_ROLES},
    "letter": {
        "status": ("draft", "open", "closed", "published", "archived"),
        "field_signer_role": _FIELD_MODES,
        "field_website": _FIELD_MODES,
        "field_logo": _FIELD_MODES,
        "field_city": _FIELD_MODES,
    },
    "letter_recipient": {
        "reply_status": ("awaiting", "acknowledged", "holding_reply", "replied", "partial", "declined",
                         "replied_offsite"),
    },
    "invite": {"status": ("invited", "opened", "answered", "revoked", "bounced")},
    "signature": {
        "kind": _SIGNATURE_KINDS,
        "status": ("pending", "confirmed", "approved", "needs_reconfirmation", "withdrawn", "declined",
                   "rejected"),
        "via": ("invite", "open", "import"),
    },
    "signature_token": {"purpose": ("confirm", "reconfirm", "manage")},
    "listing_change": {"kind": _SIGNATURE_KINDS},
    "holiday": {"source": ("package", "admin")},
    "dispatch": {"channel": ("email", "post", "hand", "published_only")},
    "response": {
        "kind": ("acknowledgement", "holding_reply", "substantive_reply", "meeting_offered", "public_statement",
                 "refusal"),
    },
    "commitment": {"status": _COMMITMENT_STATUSES},
    "commitment_evidence": {"status_from": _COMMITMENT_STATUSES, "status_to": _COMMITMENT_STATUSES},
    "overdue_alert": {"level": ("overdue", "very_overdue")},
    "outbound_email": {"status": ("queued", "sending", "sent", "failed"), "transport": ("smtp", "capture")},
    "inbound_message": {"source": ("smtp", "lmtp", "imap", "file")},
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _refuse_unknown_values() -> None:
    """No code has written a value outside these sets; should a database hold one all the same, stop here and
    name it, rather than fail on an anonymous constraint error halfway through."""
    bind = op.get_bind()
    found = []
    for table, columns in CHECKS.items():
        for column, values in columns.items():
            rows = bind.execute(sa.text(
                f"SELECT {column}, count(*) FROM {table} WHERE {column} IS NOT NULL AND NOT ({_in(column, values)}) "
                f"GROUP BY {column}"
            )).all()
            found += [f"{table}.{column} = {value!r} ({count} rows)" for value, count in rows]
    if found:
        raise RuntimeError("Values outside the known states; map them before upgrading: " + "; ".join(found))


def upgrade() -> None:
    _refuse_unknown_values()
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(op.f(f"ck_{table}_{column}"), _in(column, values))


def downgrade() -> None:
    for table, columns in reversed(CHECKS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(columns):
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
