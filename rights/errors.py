"""Refusals raised by the rights package; `app/errors.py` maps them to problem+json."""

from __future__ import annotations

from core.errors import DomainError


class RecordNotFound(DomainError):
    """Also what a resident gets for someone else's record: existence is not disclosed."""

    code, status, title = "record_not_found", 404, "No such record"


class DisputeNotFound(DomainError):
    code, status, title = "dispute_not_found", 404, "No such dispute"


class RepairNotFound(DomainError):
    code, status, title = "repair_not_found", 404, "No such repair application"


class ReviewNotFound(DomainError):
    code, status, title = "review_not_found", 404, "No such review request"


class AlreadyDisputed(DomainError):
    code, status, title = "already_disputed", 409, "This record is already under dispute"


class NotDisputable(DomainError):
    code, status, title = "record_not_disputable", 409, "This record cannot be disputed now"


class AlreadyDecided(DomainError):
    code, status, title = "already_decided", 409, "This has already been decided"


class RepairNotEligible(DomainError):
    code, status, title = "repair_not_eligible", 409, "This record cannot be repaired yet"


class RepairPending(DomainError):
    code, status, title = ("repair_pending", 409,
                           "A repair application for this record is already pending")


class PledgeRequired(DomainError):
    code, status, title = "pledge_required", 422, "The credit pledge (信用承诺) is required"


class InvalidText(DomainError):
    code, status, title = "invalid_text", 422, "Text is empty or too long"


class InvalidCorrection(DomainError):
    code, status, title = "invalid_correction", 422, "The correction is invalid"
