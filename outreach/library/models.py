"""One saved text of a clinic's template library, in one language."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from outreach.db import UTCDateTime, new_id, utcnow


class TemplateText(SQLModel, table=True):
    """A library text: `updated_at` against the source language's says whether a translation is stale."""

    __tablename__ = "template_text"
    __table_args__ = (UniqueConstraint("clinic_id", "name", "language", name="uq_template_text_language"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    clinic_id: uuid.UUID = Field(foreign_key="clinic.id")
    name: str = Field(max_length=80)
    language: str = Field(max_length=35)
    body: str = Field(max_length=1600)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
