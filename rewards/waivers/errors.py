"""Refusals of deposit waivers; `app/errors.py` maps them to problem+json.

A partner never learns *why* a resident cannot have a waiver (DESIGN §2.1).
"""

from __future__ import annotations

from core.errors import DomainError


class InvalidDeposit(DomainError):
    code, status, title = "invalid_deposit", 422, "The deposit or due date is not acceptable"


class WaiverDeclined(DomainError):
    code, status, title = ("waiver_declined", 403,
                           "A deposit waiver cannot be granted to this resident now")


class WaiverNotFound(DomainError):
    code, status, title = "waiver_not_found", 404, "No such deposit waiver"


class WaiverClosed(DomainError):
    code, status, title = ("waiver_closed", 409,
                           "The waiver is not in a state that allows this")


class WaiverNotDue(DomainError):
    code, status, title = ("waiver_not_due", 409,
                           "A waiver can be reported in default only after its due date")
