"""staff pdf: the coalition's letter PDF is a document build of kind 'staff'

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 07:30:00

The CHECK `ck_document_build_kind` gains 'staff'. The staff PDFs queued before this revision were files under
media/documents/staff/ (a request asked by writing the HTML there); they are not carried over: the next
download asks again. On SQLite the table is rebuilt in batch mode (foreign keys off: alembic/env.py).
"""
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "kind IN ('public', 'embargoed')"
AFTER = "kind IN ('public', 'embargoed', 'staff')"


def _kinds(check: str) -> None:
    with op.batch_alter_table("document_build", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_document_build_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_document_build_kind"), check)


def upgrade() -> None:
    _kinds(AFTER)


def downgrade() -> None:
    # The staff builds are rebuilt on demand: dropping them loses nothing a download cannot ask for again (their
    # files stay under media/documents/staff/ until the folder is cleared).
    op.execute(sa.text("DELETE FROM document_build WHERE kind = 'staff'"))
    _kinds(BEFORE)
