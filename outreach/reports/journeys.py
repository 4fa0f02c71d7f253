"""Journey outcomes for the outcome report, grouped in the database like the funnel.

The outcomes are the journeys' own (`outreach.journeys.report.outcome_columns`, so the campaign's journey
summary and this report count the same thing); the figures are defined in `outreach/reports/figures.py`
(`JOURNEY_COUNTS`), and suppression happens where the funnel's does (`outreach/reports/build.py`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, literal_column, select
from sqlmodel import Session, col

from outreach.journeys.models import Journey
from outreach.journeys.report import outcome_columns
from outreach.patients.models import Patient
from outreach.reports.groups import PER_TEXT, Languages, as_text, key_expression
from outreach.reports.queries import Scope


def journey_dimension(by: str) -> str:
    """What journeys are grouped by: the report's dimension, or the patient's language for a text's own."""
    return "language" if by in PER_TEXT else by


def _in_scope(scope: Scope) -> list[ColumnElement[bool]]:
    """The campaign's journeys, or the clinic's that started in [start, end)."""
    clauses: list[ColumnElement[bool]] = [col(Journey.clinic_id) == scope.clinic_id]
    if scope.campaign_id is not None:
        clauses.append(col(Journey.campaign_id) == scope.campaign_id)
    if scope.start is not None:
        clauses.append(col(Journey.started_at) >= scope.start)
    if scope.end is not None:
        clauses.append(col(Journey.started_at) < scope.end)
    return clauses


def count_journeys(
    *, session: Session, scope: Scope, by: str, languages: Languages, today: date
) -> dict[str, dict[str, int]]:
    """Every group's journey counts (`figures.JOURNEY_COUNT_NAMES`), by group key; no journeys: {}."""
    key: Any = as_text(key_expression(journey_dimension(by), languages=languages, today=today))
    query = (
        select(key.label("group_key"), *outcome_columns())
        .select_from(Journey)
        .join(Patient, col(Patient.id) == col(Journey.patient_id))
        .where(*_in_scope(scope))
        .group_by(literal_column("group_key"))
        .order_by(literal_column("group_key"))
    )
    rows = session.execute(query).mappings().all()
    return {
        str(row["group_key"]): {k: int(v or 0) for k, v in row.items() if k != "group_key"} for row in rows
    }
