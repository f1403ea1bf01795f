"""The refusals of `app.refusals` written into the OpenAPI document and into docs/partners.md.

* `RefusalsPlugin` (an apispec plugin, added in `app.api.register`) gives every operation
  one response per 4xx/503 status it can answer: `application/problem+json` whose `code` is an
  enum of exactly the codes the registry lists for it, with `Retry-After` where one is sent.
* `python -m app.openapi_errors --markdown` prints the partner error table that docs/partners.md
  holds between its `refusals` markers; `--write` replaces it there (a test keeps them equal).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from http import HTTPStatus
from pathlib import Path
from typing import Any

from apispec import BasePlugin

from app.errors import PROBLEM
from app.refusals import OPERATIONS, Refusal, refusals
from rewards.errors import TokenReplayed

PROBLEM_REF = "#/components/schemas/Problem"
RETRY_AFTER = {"description": "Seconds to wait before trying again", "required": True,
               "schema": {"type": "integer", "minimum": 0}}
PARTNER_DOC = Path(__file__).resolve().parents[1] / "docs" / "partners.md"
BEGIN = "<!-- refusals:begin (generated: python -m app.openapi_errors --write) -->"
END = "<!-- refusals:end -->"


def schemes_of(operation: dict[str, Any]) -> list[str]:
    """The security schemes an OpenAPI operation names (none: public)."""
    return [name for requirement in operation.get("security") or () for name in requirement]


def response(status: int, found: list[Refusal]) -> dict[str, Any]:
    """The OpenAPI response for one status: the problem schema, its codes as an enum."""
    codes = [r.code for r in found]
    listing = "\n".join(f"* `{r.code}`: {meaning(r)}" for r in found)
    answer: dict[str, Any] = {
        "description": f"{HTTPStatus(status).phrase}\n\n{listing}",
        "content": {PROBLEM: {"schema": {"allOf": [
            {"$ref": PROBLEM_REF},
            {"type": "object", "required": ["code", "status"], "properties": {
                "status": {"type": "integer", "enum": [status]},
                "code": {"type": "string", "enum": codes}}},
        ]}}},
    }
    if any(r.retry_after for r in found):
        answer["headers"] = {"Retry-After": RETRY_AFTER}
    return answer


def responses(label: str, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{status: response} of the refusals `label` ("METHOD /path") can answer."""
    by_status: dict[int, list[Refusal]] = defaultdict(list)
    for refusal in refusals(label, schemes_of(operation)):
        by_status[refusal.status].append(refusal)
    return {str(status): response(status, found) for status, found in by_status.items()}


def _status_order(item: tuple[str, Any]) -> tuple[int, str]:
    return (1, item[0]) if item[0] == "default" else (0, item[0])


class RefusalsPlugin(BasePlugin):
    """Documents each operation's refusals as it is added to the spec."""

    def operation_helper(self, path: str | None = None,
                         operations: dict[str, Any] | None = None, **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if method == "parameters":
                continue
            answers = {str(status): answer for status, answer in
                       operation.get("responses", {}).items()}
            answers = {**answers,
                       **responses(f"{method.upper()} {path}", operation)}
            operation["responses"] = dict(sorted(answers.items(), key=_status_order))


def documented_codes(spec: dict[str, Any]) -> dict[tuple[str, str, int], set[str]]:
    """{(METHOD, path, status): codes} as an OpenAPI document lists them (read back by tests)."""
    found: dict[tuple[str, str, int], set[str]] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, answer in operation.get("responses", {}).items():
                schema = answer.get("content", {}).get(PROBLEM, {}).get("schema", {})
                codes = [part.get("properties", {}).get("code", {}).get("enum", [])
                         for part in schema.get("allOf", ())]
                found[(method.upper(), path, int(status) if status.isdigit() else 0)] = {
                    code for enum in codes for code in enum}
    return found


# -- the partner guide's table ------------------------------------------------------------------

# What an answer means to a partner, where the error's title does not say enough.
MEANING = {
    "unauthorized": "missing or unknown API key",
    "forbidden": "your partner kind cannot call this (e.g. a hospital paying a bill), or a "
                 "counter staff session called outside the counter's calls",
    "validation_failed": "a field is invalid (`errors` lists them): a zero, negative or "
                         "non-integer amount, a `due_at` without zone, text with NUL or a "
                         "control character, a date outside 1900-2200, a missing body",
    "malformed_json": "not one JSON document: not UTF-8, a duplicate key, NaN, nesting > 32",
    "bad_request": "the body could not be read (broken chunked framing)",
    "not_found": "a path id that is not an id (e.g. not a UUID)",
    "token_malformed": "not a compact JWS of ours: bad shape, `typ`, claims, `iss` or lifetime",
    "token_too_large": "longer than any token we issue (2048 characters)",
    "token_alg_not_allowed": "`alg` is not `EdDSA` (e.g. `none`, `HS256`)",
    "token_unknown_key": "`kid` is not a published token key",
    "token_bad_signature": "the signature does not verify (tampered)",
    "token_not_yet_valid": "`iat` is in the future",
    "token_wrong_scenario": "the token is for another scenario, or you no longer serve it",
    "token_revoked": "the resident withdrew a consent the token relied on (the scenario's or "
                     "scoring), or their account is closed, or the service has no record of "
                     "issuing the token",
    "token_has_own_call": "the token's scenario is used up by another call (`use_with` names it)",
    "use_declined": "the resident cannot use this entitlement now (they see why)",
    "credit_declined": "the resident cannot use credit care now (they see why)",
    "waiver_declined": "the resident cannot have a deposit waiver now (they see why)",
    "authorization_not_found": "no such authorization of yours (another partner's is also 404)",
    "authorization_closed": "captured, voided or expired (`authorization_status` says which)",
    "waiver_closed": "`default` on a completed or settled waiver",
    "waiver_not_due": "`default` before `due_at`",
    "invalid_deposit": "`due_at` in the past or more than three years ahead, or an empty `item`",
    "limit_exceeded": "more than the resident can use now — above their tier's limit, what "
                      "their other holds and bills leave, their points, or the waivers their "
                      "tier allows at once; one answer for all, with no amount in it",
    "amount_exceeds_hold": "the bill exceeds the hold (`hold_fen`)",
    "payment_exceeds_debt": "the payment exceeds what is owed (`owed_fen`)",
    "conflict": "the `out_order_no` / `out_refund_no` was already used",
    "database_busy": "the rows this request needs were locked too long, or it ran too long",
    "database_unavailable": "the database cannot be reached for a moment",
    "resident_busy": "other writes for this resident are still in progress",
}

# What a partner does about an answer, where it is more than "fix the request".
ADVICE = {
    "unauthorized": "check the API key; do not retry unchanged",
    "rate_limited": "wait `Retry-After` seconds, then retry",
    "database_unavailable": "retry after `Retry-After` seconds with the same `out_*_no`: "
                            "nothing was done, and a retried write is answered once",
    "database_busy": "retry after `Retry-After` seconds with the same `out_*_no`",
    "resident_busy": "retry after `Retry-After` seconds with the same `out_*_no`",
    "payload_too_large": "send less (at most 2 MiB); do not retry unchanged",
    "unsupported_media_type": "send `Content-Type: application/json`; do not retry unchanged",
    "uri_too_long": "put large input in a JSON body",
    "header_too_large": "send smaller headers (each at most 8190 bytes)",
    "idempotency_conflict": "use a new `out_*_no` for a new request (if the first request "
                            "with this key is still being processed, retry in a second)",
    "token_expired": "ask the resident to refresh the code",
    "token_replayed": "the first use stands; a new use needs a new code",
    "token_revoked": "ask the resident for a new code",
    "token_has_own_call": "send the token to the call `use_with` names",
    "code_unknown": "ask the resident to show a new code; do not retry it",
    "limit_exceeded": "ask for less, or offer the service without the benefit; the resident "
                      "sees their own limits in their app (you are never told them)",
    "amount_exceeds_hold": "capture at most `hold_fen`",
    "payment_exceeds_debt": "pay at most `owed_fen`",
}


def meaning(refusal: Refusal) -> str:
    return MEANING.get(refusal.code) or refusal.title[:1].lower() + refusal.title[1:]


def partner_operations() -> list[str]:
    """The partner API, the JWKS, and the report check a partner makes (e.g. a landlord)."""
    return [label for label in OPERATIONS
            if label.split(" ", 1)[1].startswith(("/partner/", "/.well-known/", "/reports/"))]


def _calls(where: list[str], labels: list[str]) -> str:
    """Which calls give an answer: a group's name when it is all of one, else each call."""
    groups = {
        "every call": labels,
        "every call with an API key": [lb for lb in labels if "/partner/" in lb],
        "every POST": [lb for lb in labels if lb.startswith("POST ")],
        "every POST to /partner/v1": [lb for lb in labels if lb.startswith("POST /partner/")],
        "every call with an id in its path": [lb for lb in labels if "{" in lb],
        "every call that uses a token (authorizations, deposit-waivers, redemptions, "
        "tokens/consume)": [
            lb for lb in labels if TokenReplayed in OPERATIONS[lb]],
    }
    for name, members in groups.items():
        if sorted(where) == sorted(members):
            return name
    return "<br>".join(f"`{label}`" for label in where)


def markdown() -> str:
    """The table of every answer a partner call can refuse with: status, code, meaning, what
    to do, and which calls."""
    labels = partner_operations()
    calls: dict[Refusal, list[str]] = defaultdict(list)
    for label in labels:
        schemes = ["partnerKey"] if "/partner/" in label else []
        for refusal in refusals(label, schemes):
            calls[refusal].append(label)
    rows = ["| status | code | meaning | what to do | calls |", "|---|---|---|---|---|"]
    for refusal in sorted(calls):
        rows.append(f"| {refusal.status} | `{refusal.code}` | {meaning(refusal)} | "
                    f"{ADVICE.get(refusal.code, '')} | {_calls(calls[refusal], labels)} |")
    return "\n".join(rows) + "\n"


def replace_table(document: str, table: str) -> str:
    pattern = re.compile(re.escape(BEGIN) + r"\n.*?" + re.escape(END), re.S)
    if not pattern.search(document):
        raise ValueError(f"no {BEGIN!r} … {END!r} markers")
    return pattern.sub(lambda _m: f"{BEGIN}\n{table}{END}", document)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the partner error table")
    parser.add_argument("--write", action="store_true", help=f"replace it in {PARTNER_DOC}")
    args = parser.parse_args(argv)
    if args.write:
        PARTNER_DOC.write_text(replace_table(PARTNER_DOC.read_text("utf-8"), markdown()),
                               "utf-8")
    else:
        sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
