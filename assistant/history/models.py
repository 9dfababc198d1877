"""The history table (the schema at the newest Alembic revision, ``migrations/versions``).

Only what a command was is stored: time, source, prefix, input, output, model, timings,
status, error. Never the keystroke stream, never audio."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class CommandRecord(Base):
    __tablename__ = "commands"
    __table_args__ = (Index("ix_commands_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)   # naive UTC
    source: Mapped[str] = mapped_column(String(16), nullable=False)          # typed | voice
    prefix: Mapped[str] = mapped_column(String(64), nullable=False)
    command: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_text: Mapped[str] = mapped_column(Text, nullable=False)
    output_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    model: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)          # ok|failed|cancelled
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    timings: Mapped[str] = mapped_column(Text, nullable=False, default="{}", server_default="{}")
