"""The scenario catalogue: data, not code (DESIGN §5.5).

The defaults ship in `catalogue.json`. Operators change a scenario without a deploy (admin API
or `pengcheng scenarios set`): the new definition is validated as a whole, stored in
`scenario_settings` with a version, and audited with the changed fields' values before and
after. The effective catalogue is the file overlaid with those rows.

A scenario is *available* once its consent notice (purpose `scenario:<code>`) is published —
`publish_notice`, through `/admin/v1/scenarios/{code}/notices` or `pengcheng notices publish`.
Until then nobody can consent to it: `catalogue` marks it (`Scenario.notice` is None), the
resident's entitlement says "not yet available", and `get` — what a token, a partner list or a
partner call asks for — refuses it with `ScenarioNotAvailable`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent import notices
from consent.notices import NoticeRef
from core import audit
from core.canonical import SPACED_ASCII, canonical
from core.db import UnitOfWork
from core.identity import PARTNER_KINDS
from rewards.errors import InvalidScenario, ScenarioNotAvailable, UnknownScenario
from rewards.exclusions import CODES
from rewards.models import ScenarioSetting

CATALOGUE = Path(__file__).with_name("catalogue.json")
TIERS = ("building", "fair", "good", "very_good", "excellent")  # lowest first
EXCLUSIONS = CODES  # the codes pc_exclusions can answer (rewards.exclusions)
MAX_TOKEN_TTL = 300
CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
# What a partner may ever learn from a token (`ent`, issue 20): an allow-list of fields, each
# with one fixed value for every eligible resident of the scenario — never a limit, score,
# tier or balance. The service enforces tier-dependent limits when the partner asks for an
# amount (`LimitExceeded`); the resident sees their own limits. Anything not listed here is
# refused when an operator changes the catalogue, whatever its spelling ("Tier", "lvl").
DISCLOSABLE: dict[str, str] = {
    "eligible": "always true: the token exists only for an eligible resident",
    "commitment": "the scenario accepts a signed credit commitment (信用承诺)",
    "priority": "the scenario grants priority service",
}
FIELDS = frozenset({"code", "domain", "name", "description", "partner_kinds", "min_tier",
                    "min_score", "limits", "exclusions", "discloses", "token_ttl_seconds",
                    "active"})


@dataclass(frozen=True)
class Scenario:
    code: str
    domain: str
    name: dict[str, str]
    description: dict[str, str]
    partner_kinds: tuple[str, ...]
    min_tier: str
    min_score: int | None
    limits: dict[str, dict[str, Any]]  # tier -> limit fields
    exclusions: tuple[str, ...]
    discloses: dict[str, bool]  # the `ent` claim: fixed values, the same for every resident
    token_ttl_seconds: int
    active: bool
    version: int = 0  # 0: the shipped default
    # Its current consent notice, as `catalogue` and `get` find it (None from `parse` alone).
    notice: NoticeRef | None = None

    @property
    def purpose(self) -> str:
        """The consent purpose a token for this scenario needs."""
        return purpose_of(self.code)

    @property
    def available(self) -> bool:
        """Whether residents can consent to it: its notice is published."""
        return self.notice is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "domain": self.domain, "name": dict(self.name),
            "description": dict(self.description), "partner_kinds": list(self.partner_kinds),
            "min_tier": self.min_tier, "min_score": self.min_score,
            "limits": copy.deepcopy(self.limits), "exclusions": list(self.exclusions),
            "discloses": dict(self.discloses), "token_ttl_seconds": self.token_ttl_seconds,
            "active": self.active,
        }


def purpose_of(code: str) -> str:
    """The consent purpose of scenario `code` (`Scenario.purpose`)."""
    return f"scenario:{code}"


def _lang(value: Any, field: str) -> dict[str, str]:
    if (not isinstance(value, dict) or set(value) != {"zh", "en"}
            or not all(isinstance(v, str) and 0 < len(v) <= 200 for v in value.values())):
        raise InvalidScenario(f"{field} must be {{zh, en}} non-empty strings")
    return dict(value)


def _disclosure(value: Any) -> dict[str, bool]:
    """`discloses`: fields of the allow-list `DISCLOSABLE`, each with its fixed value (true or
    false); `eligible` true always."""
    if not isinstance(value, dict) or value.get("eligible") is not True:
        raise InvalidScenario('discloses must be an object with "eligible": true')
    unknown = sorted(str(k) for k in value if k not in DISCLOSABLE)
    if unknown:
        raise InvalidScenario(f"a partner may only be told {sorted(DISCLOSABLE)}; not {unknown}"
                              " (limits are enforced when the partner asks, never disclosed)")
    if not all(type(v) is bool for v in value.values()):
        raise InvalidScenario("each disclosed field has a fixed value, true or false")
    return dict(value)


def parse(spec: Any, version: int = 0) -> Scenario:
    """Validate one scenario definition; raises InvalidScenario naming what is wrong."""
    if not isinstance(spec, dict):
        raise InvalidScenario("a scenario is a JSON object")
    unknown, missing = set(spec) - FIELDS, FIELDS - {"description"} - set(spec)
    if unknown or missing:
        raise InvalidScenario(f"unknown fields: {sorted(unknown)}; missing: {sorted(missing)}")
    code = spec["code"]
    if not isinstance(code, str) or not CODE.match(code):
        raise InvalidScenario("code must be lower_snake_case, 2-40 characters")
    kinds = spec["partner_kinds"]
    if not isinstance(kinds, list) or not kinds or not set(kinds) <= set(PARTNER_KINDS):
        raise InvalidScenario(f"partner_kinds must be a non-empty subset of {PARTNER_KINDS}")
    if spec["min_tier"] not in TIERS:
        raise InvalidScenario(f"min_tier must be one of {TIERS}")
    min_score = spec["min_score"]
    if min_score is not None and (type(min_score) is not int or not 0 <= min_score <= 1000):
        raise InvalidScenario("min_score must be null or an integer 0-1000")
    exclusions = spec["exclusions"]
    if not isinstance(exclusions, list) or not set(exclusions) <= set(EXCLUSIONS):
        raise InvalidScenario(f"exclusions must be a subset of {EXCLUSIONS}")
    discloses = _disclosure(spec["discloses"])
    limits = spec["limits"]
    eligible_tiers = TIERS[TIERS.index(spec["min_tier"]):]
    if not isinstance(limits, dict) or set(limits) != set(eligible_tiers):
        raise InvalidScenario(f"limits must name exactly the eligible tiers {eligible_tiers}")
    for tier, fields in limits.items():
        if not isinstance(fields, dict) or not all(
            isinstance(k, str) and type(v) in (int, bool) and (type(v) is bool or v >= 0)
            for k, v in fields.items()
        ):
            raise InvalidScenario(f"limits.{tier} must map names to non-negative integers")
        varies = {k for k in discloses if k in fields and fields[k] != discloses[k]}
        if varies:
            raise InvalidScenario(f"discloses {sorted(varies)} with a value limits.{tier} does "
                                  "not have: a disclosed field is the same for every tier")
    ttl = spec["token_ttl_seconds"]
    if type(ttl) is not int or not 30 <= ttl <= MAX_TOKEN_TTL:
        raise InvalidScenario(f"token_ttl_seconds must be 30-{MAX_TOKEN_TTL}")
    if type(spec["active"]) is not bool:
        raise InvalidScenario("active must be true or false")
    if not isinstance(spec["domain"], str) or not CODE.match(spec["domain"]):
        raise InvalidScenario("domain must be lower_snake_case")
    name = _lang(spec["name"], "name")
    return Scenario(
        code=code, domain=spec["domain"], name=name,
        description=_lang(spec.get("description") or name, "description"),
        partner_kinds=tuple(kinds), min_tier=spec["min_tier"], min_score=min_score,
        limits={t: dict(limits[t]) for t in eligible_tiers}, exclusions=tuple(exclusions),
        discloses=discloses, token_ttl_seconds=ttl, active=spec["active"],
        version=version,
    )


@lru_cache(maxsize=1)
def defaults() -> dict[str, Scenario]:
    """The shipped catalogue (validated)."""
    data = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return {s["code"]: parse(s) for s in data["scenarios"]}


def catalogue(session: Session, *, include_inactive: bool = False) -> dict[str, Scenario]:
    """The effective catalogue: shipped defaults overlaid with operators' changes, each with
    its current notice (None: not yet available)."""
    out = dict(defaults())
    for row in session.scalars(select(ScenarioSetting)):
        out[row.code] = parse(row.spec, row.version)
    current = notices.current_refs(session)
    return {c: replace(s, notice=current.get(s.purpose))
            for c, s in sorted(out.items()) if include_inactive or s.active}


def get(session: Session, code: str) -> Scenario:
    """One active scenario residents can use (its notice is published), or UnknownScenario /
    ScenarioNotAvailable."""
    row = session.get(ScenarioSetting, code)
    found = parse(row.spec, row.version) if row else defaults().get(code)
    notice = (notices.current_ref(session, found.purpose)
              if found is not None and found.active else None)
    return usable(code, found, notice)


def usable(code: str, found: Scenario | None, notice: NoticeRef | None) -> Scenario:
    """`get`'s answer from what it reads: `found`, the effective definition of `code` (None: it
    has none), with `notice`, its purpose's current notice — or UnknownScenario when there is no
    active definition, ScenarioNotAvailable when no notice was published."""
    if found is None or not found.active:
        raise UnknownScenario(f"no active scenario {code!r}", detail_zh="没有该场景")
    if notice is None:
        raise ScenarioNotAvailable(
            f"{code} is not yet available: its consent notice has not been published",
            detail_zh="该场景尚未开放：授权告知书尚未发布", scenario=code)
    return replace(found, notice=notice)


def effective(code: str, stored: str | None, version: int | None) -> Scenario | None:
    """The effective definition of `code` from its `scenario_settings` row read as JSON text
    with its version (None: no row): the operators' definition, else the shipped one (None if
    neither). What one round trip reads instead of `get`'s `session.get`."""
    if stored is None:
        return defaults().get(code)
    assert version is not None
    return _stored(stored, version)


@lru_cache(maxsize=256)
def _stored(spec: str, version: int) -> Scenario:
    # Keyed by the stored text itself: an operator's change is a new text, so a hit is always
    # what `parse` would answer now (the version is part of the key as `parse` keeps it).
    return parse(json.loads(spec), version)


def exists(session: Session, code: str) -> bool:
    """Whether `code` is in the catalogue, active or not."""
    return code in defaults() or session.get(ScenarioSetting, code) is not None


def _digest(spec: dict[str, Any]) -> str:
    # The form the digests already in audit entries were taken with (see core.canonical).
    return hashlib.sha256(canonical(spec, form=SPACED_ASCII)).hexdigest()


def put(uow: UnitOfWork, code: str, spec: dict[str, Any], *, actor: str, now: datetime,
        merge: bool = False) -> Scenario:
    """Create or change a scenario (whole definition, or `merge` onto the current one); audited."""
    session = uow.session
    current = catalogue(session, include_inactive=True).get(code)
    if merge:
        if current is None:
            raise UnknownScenario(f"no scenario {code!r} to change")
        spec = {**current.as_dict(), **spec}
    spec = {**spec, "code": spec.get("code", code)}
    if spec["code"] != code:
        raise InvalidScenario("the code in the body must match the code in the path")
    row = session.get(ScenarioSetting, code, with_for_update=True)
    version = (row.version if row else current.version if current else 0) + 1
    scenario = parse(spec, version)
    stored = scenario.as_dict()
    before = current.as_dict() if current else {}
    changed = sorted(k for k in stored if before.get(k) != stored[k])
    if row is None:
        row = ScenarioSetting(code=code, spec=stored, version=version, updated_at=now,
                              updated_by=actor)
        session.add(row)
    else:
        row.spec, row.version, row.updated_at, row.updated_by = stored, version, now, actor
    session.flush()
    audit.record(session, actor=actor, action="scenario.changed", now=now, subject=code,
                 data={"version": version, "changed": changed, "spec_sha256": _digest(stored),
                       "before_sha256": _digest(before) if before else None,
                       "before": {k: before[k] for k in changed if k in before},
                       "after": {k: stored[k] for k in changed}})
    uow.commit()
    return replace(scenario, notice=current.notice if current else None)


def publish_notice(uow: UnitOfWork, code: str, fields: dict[str, Any], *, actor: str,
                   now: datetime) -> notices.Published:
    """Publish the next version of scenario `code`'s consent notice (validated whole, hashed,
    audited with its values before and after; `consent.notices.publish`). From then on
    residents can consent to the scenario. One commit."""
    if not exists(uow.session, code):
        raise UnknownScenario(f"no scenario {code!r}; create it first", detail_zh="没有该场景")
    return notices.publish(uow, purpose=f"scenario:{code}", now=now, actor=actor, **fields)
