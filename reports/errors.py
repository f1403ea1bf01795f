"""Refusals of the reports package (mapped to problem+json by app/errors.py)."""

from __future__ import annotations

from core.errors import DomainError, NotFound


class ReportInvalid(DomainError):
    """The request names an unknown kind, section or category, or an impossible period."""

    code, status, title = "report_invalid", 422, "Invalid report request"


class ReportNotFound(NotFound):
    code, title = "report_not_found", "No such report"


class ReportGone(DomainError):
    """The report's document was deleted (purged after it ended, or its owner was erased)."""

    code, status, title = "report_gone", 410, "The report's document is no longer kept"
