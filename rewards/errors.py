"""Refusals raised by the rewards package; `app/errors.py` maps them to problem+json."""

from __future__ import annotations

from core.errors import DomainError


class UnknownScenario(DomainError):
    code, status, title = "unknown_scenario", 404, "No such scenario"


class ScenarioNotAvailable(DomainError):
    """The scenario exists but has no consent notice yet: nobody can consent to it or use it."""

    code, status, title = ("scenario_not_available", 409,
                           "This scenario is not yet available")


class InvalidScenario(DomainError):
    code, status, title = "invalid_scenario", 422, "The scenario definition is invalid"


class PartnerNotServing(DomainError):
    code, status, title = ("partner_not_serving", 422,
                           "That partner does not serve this scenario")


class NotEligible(DomainError):
    """Only ever shown to the resident (DESIGN §2.1): partners never learn why."""

    code, status, title = "not_eligible", 403, "Not eligible for this scenario"


class LimitExceeded(DomainError):
    """A partner asked for more than the resident can use now: an amount above their tier's
    limit, their credit left, their points, or a waiver beyond the slots their tier allows.
    One code and one text whatever the reason and the tier (decision-only disclosure, issue
    20): the partner learns "not this much", never the limit, tier or balance behind it."""

    code, status, title = "limit_exceeded", 422, "The resident cannot use this much now"

    def __init__(self) -> None:
        super().__init__(
            "the resident cannot use this much of this benefit now; they can see why in "
            "Pengcheng Score", detail_zh="该市民当前不能使用这么多额度，可在鹏城分中查看原因")


# -- tokens --------------------------------------------------------------------------------------

class TokenRejected(DomainError):
    """A token that cannot be used. Introspection answers `{active: false}` instead."""

    code, status, title = "token_invalid", 422, "The token is not valid"


class TokenMalformed(TokenRejected):
    code, title = "token_malformed", "The token is not a compact JWS this service issues"


class TokenTooLarge(TokenRejected):
    code, title = "token_too_large", "The token is larger than any token this service issues"


class TokenAlgorithmRefused(TokenRejected):
    code, title = "token_alg_not_allowed", "Only alg EdDSA is accepted"


class TokenUnknownKey(TokenRejected):
    code, title = "token_unknown_key", "The token names a key id that is not published"


class TokenBadSignature(TokenRejected):
    code, title = "token_bad_signature", "The token's signature does not verify"


class TokenExpired(TokenRejected):
    code, title = "token_expired", "The token has expired"


class TokenNotYetValid(TokenRejected):
    code, title = "token_not_yet_valid", "The token is not valid yet"


class TokenWrongAudience(TokenRejected):
    code, title = "token_wrong_audience", "The token is addressed to another partner"


class TokenWrongScenario(TokenRejected):
    code, title = "token_wrong_scenario", "The token is for another scenario"


class TokenRevoked(TokenRejected):
    code, status, title = ("token_revoked", 403,
                           "The resident withdrew the consent this token relied on")


class TokenReplayed(TokenRejected):
    code, status, title = "token_replayed", 409, "The token has already been used"


class UseDeclined(TokenRejected):
    """An exclusion the token's scenario names applies now: the token is not usable (the
    partner never learns which; the resident sees it on their entitlements)."""

    code, status, title = ("use_declined", 403,
                           "The resident cannot use this entitlement now")


class CodeUnknown(TokenRejected):
    """A short one-time code that names no live token of the caller's: unknown, used, expired
    and another partner's are one answer, so a guess learns nothing (issue 20)."""

    code, title = "code_unknown", "No live token of yours has this code"

    def __init__(self) -> None:
        super().__init__(
            "this code is not valid here (a code works once, only at the partner it was shown "
            "for, until it expires); ask the resident to show a new one",
            detail_zh="该码无效、已使用或已过期，请市民重新出示")


class TokenHasOwnCall(TokenRejected):
    """`POST /partner/v1/tokens/consume` with a token whose scenario is used up by a call of
    its own (a hold, a waiver, a redemption); `use_with` names that call."""

    code, title = "token_has_own_call", "This scenario's tokens are used up by another call"


class UnknownPartner(DomainError):
    code, status, title = "unknown_partner", 404, "No such partner"
