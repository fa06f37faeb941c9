"""privacy: audit values sealed by salted digests; erasure records

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-02 14:00:00
"""
import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIELDS = ("actor", "ip", "details")


def _utc_iso(at):  # noqa: ANN001, ANN202
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat()


def _reseal() -> None:
    """Rewrites the existing chain in the sealed form (the values stay; the chain then covers their digests),
    so that values written before this release can be erased too. The same formulas as backend/audit/service.py,
    copied so that this revision keeps working whatever that module becomes."""
    bind = op.get_bind()
    events = sa.table("audit_event", sa.column("id", sa.Integer), sa.column("actor", sa.String),
                      sa.column("action", sa.String), sa.column("subject_type", sa.String),
                      sa.column("subject_id", sa.Integer), sa.column("actor_user_id", sa.Integer),
                      sa.column("at", sa.DateTime(timezone=True)), sa.column("ip", sa.String),
                      sa.column("details", sa.Text), sa.column("prev_hash", sa.String),
                      sa.column("hash", sa.String), sa.column("seal", sa.Text), sa.column("salts", sa.Text))
    prev = "0" * 64
    rows = bind.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    for row in rows:
        salts = {f: secrets.token_hex(16) for f in _FIELDS}
        seal = json.dumps({f: hashlib.sha256(f"{salts[f]}:{f}:{json.dumps(row[f])}".encode()).hexdigest()
                           for f in _FIELDS}, sort_keys=True)
        payload = json.dumps([prev, row["action"], row["subject_type"], row["subject_id"], row["actor_user_id"],
                              _utc_iso(row["at"]), seal], separators=(",", ":"))
        digest = hashlib.sha256(payload.encode()).hexdigest()
        bind.execute(events.update().where(events.c.id == row["id"]).values(
            prev_hash=prev, hash=digest, seal=seal, salts=json.dumps(salts, sort_keys=True)))
        prev = digest


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('salts', sa.Text(), nullable=True))
    _reseal()
    op.create_table('privacy_erasure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('name_was_public', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('signature', 'individual', 'signer', 'account', 'subject')",
                       name=op.f('ck_privacy_erasure_kind')),
    sa.ForeignKeyConstraint(['letter_id'], ['letter.id'], name=op.f('fk_privacy_erasure_letter_id_letter'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_erasure'))
    )
    with op.batch_alter_table('privacy_erasure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_erasure_letter_id'), ['letter_id'], unique=False)


def downgrade() -> None:
    # The chain stays in the sealed form: the code before this revision cannot verify it (nor re-hash it without
    # the values that were erased).
    with op.batch_alter_table('privacy_erasure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_erasure_letter_id'))
    op.drop_table('privacy_erasure')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('salts')
        batch_op.drop_column('seal')
