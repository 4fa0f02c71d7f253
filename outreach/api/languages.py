"""Clinic admin routes: the languages outreach speaks, who translated them, and the review rule."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from outreach import i18n
from outreach.api.deps import PrincipalDep, SessionDep, require_role
from outreach.api.strict_query import refuse_unknown_query
from outreach.clinics import languages as clinic_languages
from outreach.clinics.models import Role

router = APIRouter(
    prefix="/admin", tags=["languages"], dependencies=[require_role(Role.ADMIN), refuse_unknown_query]
)


class LanguagePublic(BaseModel):
    """One language's catalog and its review status."""

    tag: str
    name: str
    direction: Literal["ltr", "rtl"]
    review_status: Literal["draft", "reviewed"]
    translated_by: str
    reviewed_by: str | None
    reviewed_on: date | None
    messages: int
    stale_messages: int = Field(description="Texts whose English source changed since the review")
    notice: str | None = Field(description="What authoring pages and dry runs show for this language")


class LanguagesOut(BaseModel):
    """Every language, and whether this clinic sends built-in texts only in reviewed ones."""

    require_reviewed_translations: bool
    languages: list[LanguagePublic]


class LanguagePolicyIn(BaseModel):
    """The clinic's rule for draft translations."""

    model_config = ConfigDict(extra="forbid")

    require_reviewed_translations: bool


def _out(required: bool) -> LanguagesOut:
    languages = [
        LanguagePublic.model_validate({**asdict(s), "notice": i18n.review_notice(s.tag)})
        for s in i18n.all_statuses()
    ]
    return LanguagesOut(require_reviewed_translations=required, languages=languages)


@router.get("/languages", summary="Languages, their translators and review status")
def list_languages(session: SessionDep, principal: PrincipalDep) -> LanguagesOut:
    return _out(clinic_languages.require_reviewed(session=session, clinic_id=principal.clinic_id))


@router.put("/languages/policy", summary="Send built-in texts only in reviewed translations (or not)")
def set_policy(data: LanguagePolicyIn, session: SessionDep, principal: PrincipalDep) -> LanguagesOut:
    required = clinic_languages.set_require_reviewed(
        session=session, clinic_id=principal.clinic_id, required=data.require_reviewed_translations
    )
    return _out(required)
