"""Per-stage timings as JSON, the command name, a note; index on time.

``duration_ms`` (revision 1) becomes ``timings = {"total_ms": ...}`` for existing rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import json

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("commands") as batch:
        batch.add_column(sa.Column("command", sa.String(64), nullable=True))
        batch.add_column(sa.Column("timings", sa.Text, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("note", sa.Text, nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, duration_ms FROM commands WHERE duration_ms IS NOT NULL")).all()
    for row_id, duration in rows:
        conn.execute(sa.text("UPDATE commands SET timings = :t WHERE id = :id"),
                     {"t": json.dumps({"total_ms": duration}), "id": row_id})
    with op.batch_alter_table("commands") as batch:
        batch.drop_column("duration_ms")
        batch.create_index("ix_commands_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("commands") as batch:
        batch.add_column(sa.Column("duration_ms", sa.Integer, nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, timings FROM commands")).all()
    for row_id, timings in rows:
        total = json.loads(timings or "{}").get("total_ms")
        conn.execute(sa.text("UPDATE commands SET duration_ms = :d WHERE id = :id"),
                     {"d": total, "id": row_id})
    with op.batch_alter_table("commands") as batch:
        batch.drop_index("ix_commands_created_at")
        batch.drop_column("note")
        batch.drop_column("timings")
        batch.drop_column("command")
