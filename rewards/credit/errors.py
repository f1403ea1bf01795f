"""Refusals of 先诊后付; `app/errors.py` maps them to problem+json.

A hospital never learns *why* a resident cannot use credit care (DESIGN §2.1): a declined
authorization says only that; the resident sees the reason in their own entitlements.
"""

from __future__ import annotations

from core.errors import DomainError


class InvalidAmount(DomainError):
    code, status, title = "invalid_amount", 422, "Amounts are positive integers of fen"


class CreditDeclined(DomainError):
    code, status, title = ("credit_declined", 403,
                           "Credit care cannot be used for this resident now")


class AuthorizationNotFound(DomainError):
    code, status, title = "authorization_not_found", 404, "No such authorization"


class AuthorizationClosed(DomainError):
    """Captured, voided or expired: the hold can no longer be captured."""

    code, status, title = ("authorization_closed", 409,
                           "The authorization is no longer open")


class AmountExceedsHold(DomainError):
    code, status, title = ("amount_exceeds_hold", 422,
                           "The bill is larger than the amount held")


class BillNotFound(DomainError):
    code, status, title = "bill_not_found", 404, "No such bill"


class PaymentExceedsDebt(DomainError):
    code, status, title = ("payment_exceeds_debt", 422,
                           "The payment is larger than what is owed on the bill")


# -- the messages, written once: Python raises these, and the PostgreSQL functions' refusals
# (`rewards.credit.services.REFUSALS`) are built from their fields by them.

def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def credit_declined() -> CreditDeclined:
    return CreditDeclined(
        "the resident cannot use credit care now; ask them to check their entitlements",
        detail_zh="该市民暂不能使用先诊后付")


def authorization_not_found() -> AuthorizationNotFound:
    return AuthorizationNotFound("no such authorization of yours", detail_zh="没有该预授权")


def authorization_closed(status: str, *, lapsed: bool = False) -> AuthorizationClosed:
    """`lapsed`: still `held` but past its expiry (the expiry job has not closed it yet)."""
    if lapsed:
        return AuthorizationClosed("the authorization expired before capture",
                                   detail_zh="预授权已过期", authorization_status="expired")
    return AuthorizationClosed(f"the authorization is {status}", detail_zh="预授权已结束",
                               authorization_status=status)


def amount_exceeds_hold(amount_fen: int, hold_fen: int) -> AmountExceedsHold:
    return AmountExceedsHold(f"the bill ({amount_fen} fen) exceeds the hold ({hold_fen} fen)",
                             detail_zh="账单金额超过预授权金额", hold_fen=hold_fen)
