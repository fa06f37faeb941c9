"""measured commitments: public documents, numbers, evidence values and revisions, reminder rows

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-02 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('public_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('publisher', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_public_document_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['letter_id'], ['letter.id'], name=op.f('fk_public_document_letter_id_letter'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_document'))
    )
    with op.batch_alter_table('public_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_document_letter_id'), ['letter_id'], unique=False)

    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.alter_column('response_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('document_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_commitment_document_id'), ['document_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_commitment_document_id_public_document'), 'public_document',
                                    ['document_id'], ['id'], ondelete='CASCADE')
        batch_op.create_check_constraint('one_source', '(response_id IS NULL) <> (document_id IS NULL)')

    with op.batch_alter_table('commitment_evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value', sa.Float(), nullable=True))

    op.create_table('commitment_measure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('unit_label', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('baseline_value', sa.Float(), nullable=True),
    sa.Column('baseline_on', sa.Date(), nullable=True),
    sa.Column('baseline_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('target_value', sa.Float(), nullable=False),
    sa.Column('target_on', sa.Date(), nullable=False),
    sa.CheckConstraint("unit IN ('percent', 'pounds', 'count', 'other')", name=op.f('ck_commitment_measure_unit')),
    sa.CheckConstraint("direction IN ('up', 'down')", name=op.f('ck_commitment_measure_direction')),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitment.id'], name=op.f('fk_commitment_measure_commitment_id_commitment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_measure')),
    sa.UniqueConstraint('commitment_id', name=op.f('uq_commitment_measure_commitment_id'))
    )

    op.create_table('commitment_evidence_revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('evidence_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('edited_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['edited_by_id'], ['user.id'], name=op.f('fk_commitment_evidence_revision_edited_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['evidence_id'], ['commitment_evidence.id'], name=op.f('fk_commitment_evidence_revision_evidence_id_commitment_evidence'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_evidence_revision'))
    )
    with op.batch_alter_table('commitment_evidence_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_evidence_revision_evidence_id'), ['evidence_id'], unique=False)

    op.create_table('commitment_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('about_on', sa.Date(), nullable=False),
    sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('target_passed', 'no_evidence')", name=op.f('ck_commitment_alert_kind')),
    sa.ForeignKeyConstraint(['commitment_id'], ['commitment.id'], name=op.f('fk_commitment_alert_commitment_id_commitment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commitment_alert')),
    sa.UniqueConstraint('commitment_id', 'kind', 'about_on', name=op.f('uq_commitment_alert_commitment_id_kind_about_on'))
    )
    with op.batch_alter_table('commitment_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commitment_alert_commitment_id'), ['commitment_id'], unique=False)


def downgrade() -> None:
    op.drop_table('commitment_alert')
    op.drop_table('commitment_evidence_revision')
    op.drop_table('commitment_measure')
    with op.batch_alter_table('commitment_evidence', schema=None) as batch_op:
        batch_op.drop_column('value')
    op.execute('DELETE FROM commitment WHERE response_id IS NULL')
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.drop_constraint('one_source', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_commitment_document_id_public_document'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_commitment_document_id'))
        batch_op.drop_column('document_id')
        batch_op.alter_column('response_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('public_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_document_letter_id'))
    op.drop_table('public_document')
