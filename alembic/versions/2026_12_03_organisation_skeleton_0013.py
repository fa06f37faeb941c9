"""organisation skeleton: an organisation's name's confusable skeleton, indexed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:30:00

A sign-on is held when its name reads like an organisation with an account here. That check read every
organisation's name and computed its skeleton on each sign-on (about 100 ms of CPU with 5,000 organisations); it is
now one indexed lookup. Existing organisations get their skeleton here.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes

from alembic import op

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skeleton', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False,
                                      server_default=''))
        batch_op.create_index(batch_op.f('ix_organisation_skeleton'), ['skeleton'], unique=False)

    from backend.text import skeleton

    bind = op.get_bind()
    for row in bind.execute(sa.text("SELECT id, name FROM organisation")).all():
        bind.execute(sa.text("UPDATE organisation SET skeleton = :s WHERE id = :id"),
                     {"s": skeleton(row.name), "id": row.id})


def downgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_skeleton'))
        batch_op.drop_column('skeleton')
