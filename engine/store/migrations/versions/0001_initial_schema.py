"""Initial schema: deployments, definitions, instances, human tasks, jobs, messages, incidents, events.

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 23:21:51.324038
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deployment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('deployed_by', sa.String(length=100), nullable=False),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment'))
    )
    op.create_table('event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_instance', ['instance_id', 'id'], unique=False)

    op.create_table('shipped_file',
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('path', name=op.f('pk_shipped_file'))
    )
    op.create_table('deployment_resource',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('deployment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], name=op.f('fk_deployment_resource_deployment_id_deployment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment_resource'))
    )
    with op.batch_alter_table('deployment_resource', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_resource_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('process_definition',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('deployment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resource_name', sa.String(length=300), nullable=False),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], name=op.f('fk_process_definition_deployment_id_deployment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_definition')),
    sa.UniqueConstraint('key', 'version', name='uq_process_definition_key_version')
    )
    op.create_table('process_instance',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('definition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('business_key', sa.String(length=200), nullable=True),
    sa.Column('org_scope', sa.String(length=100), nullable=True),
    sa.Column('parent_instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('workflow_state', sa.Text(), nullable=True),
    sa.Column('waits', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], name=op.f('fk_process_instance_definition_id_process_definition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_instance'))
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index('ix_process_instance_business_key', ['business_key'], unique=False)
        batch_op.create_index('ix_process_instance_key_state', ['process_key', 'state'], unique=False)
        batch_op.create_index('ix_process_instance_org_scope', ['org_scope', 'state'], unique=False)
        batch_op.create_index('ix_process_instance_parent', ['parent_instance_id'], unique=False)

    op.create_table('human_task',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('assignee', sa.String(length=100), nullable=True),
    sa.Column('org_scope', sa.String(length=100), nullable=True),
    sa.Column('form_key', sa.String(length=200), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.String(length=100), nullable=True),
    sa.Column('item_group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('item_key', sa.Text(), nullable=True),
    sa.Column('item_input', sa.Text(), nullable=True),
    sa.Column('item_output', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_human_task_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_human_task'))
    )
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.create_index('ix_human_task_assignee', ['assignee', 'state', 'due_at'], unique=False)
        batch_op.create_index('ix_human_task_instance', ['instance_id', 'state'], unique=False)
        batch_op.create_index('ix_human_task_items', ['item_group_id', 'state'], unique=False)
        batch_op.create_index('ix_human_task_scope', ['org_scope', 'state', 'due_at'], unique=False)

    op.create_table('incident',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_incident_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident'))
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index('ix_incident_instance', ['instance_id', 'resolved_at'], unique=False)

    op.create_table('item_group',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_item_group_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_group'))
    )
    with op.batch_alter_table('item_group', schema=None) as batch_op:
        batch_op.create_index('ix_item_group_instance', ['instance_id', 'spiff_task_id'], unique=False)

    op.create_table('job',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('spiff_task_id', sa.String(length=36), nullable=True),
    sa.Column('element_id', sa.String(length=200), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_job_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_due', ['state', 'due_at'], unique=False)
        batch_op.create_index('ix_job_instance', ['instance_id', 'state'], unique=False)

    op.create_table('message_subscription',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('spiff_task_id', sa.String(length=36), nullable=False),
    sa.Column('element_id', sa.String(length=200), nullable=False),
    sa.Column('message_name', sa.String(length=200), nullable=False),
    sa.Column('correlation_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_message_subscription_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_subscription'))
    )
    with op.batch_alter_table('message_subscription', schema=None) as batch_op:
        batch_op.create_index('ix_message_subscription_instance', ['instance_id'], unique=False)
        batch_op.create_index('ix_message_subscription_lookup', ['message_name', 'correlation_key'], unique=False)

    op.create_table('task_candidate',
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], name=op.f('fk_task_candidate_task_id_human_task')),
    sa.PrimaryKeyConstraint('task_id', 'kind', 'value', name=op.f('pk_task_candidate'))
    )
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.create_index('ix_task_candidate_lookup', ['kind', 'value', 'task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_lookup')

    op.drop_table('task_candidate')
    with op.batch_alter_table('message_subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_message_subscription_lookup')
        batch_op.drop_index('ix_message_subscription_instance')

    op.drop_table('message_subscription')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_instance')
        batch_op.drop_index('ix_job_due')

    op.drop_table('job')
    with op.batch_alter_table('item_group', schema=None) as batch_op:
        batch_op.drop_index('ix_item_group_instance')

    op.drop_table('item_group')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_instance')

    op.drop_table('incident')
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_scope')
        batch_op.drop_index('ix_human_task_items')
        batch_op.drop_index('ix_human_task_instance')
        batch_op.drop_index('ix_human_task_assignee')

    op.drop_table('human_task')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instance_parent')
        batch_op.drop_index('ix_process_instance_org_scope')
        batch_op.drop_index('ix_process_instance_key_state')
        batch_op.drop_index('ix_process_instance_business_key')

    op.drop_table('process_instance')
    op.drop_table('process_definition')
    with op.batch_alter_table('deployment_resource', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_resource_deployment_id'))

    op.drop_table('deployment_resource')
    op.drop_table('shipped_file')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_instance')

    op.drop_table('event')
    op.drop_table('deployment')
