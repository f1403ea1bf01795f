"""Refusals of the consent package; `app/errors.py` maps each to problem+json."""

from __future__ import annotations

from core.errors import DomainError, InvalidInput


class NoticeNotFound(DomainError):
    code, status, title = "notice_not_found", 404, "No such notice"


class NoticeInvalid(InvalidInput):
    code, title = "notice_invalid", "The notice is incomplete or invalid"


class NoticeSuperseded(DomainError):
    code, status, title = "notice_superseded", 409, "The notice has a newer version"


class CategoriesInvalid(DomainError):
    code, status, title = "categories_invalid", 422, "Categories do not match the notice"


class SeparateConsentRequired(DomainError):
    code, status, title = ("separate_consent_required", 422,
                           "This consent needs a separate acknowledgement")


class ConsentNotFound(DomainError):
    code, status, title = "consent_not_found", 404, "No such consent"


class ConsentNotActive(DomainError):
    code, status, title = "consent_not_active", 409, "The consent is no longer in force"


class ConsentConflict(DomainError):
    code, status, title = "consent_conflict", 409, "A concurrent change to this consent won"
