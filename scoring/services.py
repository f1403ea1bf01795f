"""Scoring use cases: the current score of a resident, model lifecycle, batch runs, verification.

Recomputation is triggered, not inline (DESIGN §5.4): ingestion, consent changes, disputes and
repairs bump `residents.score_version`; the next read (or the batch job) recomputes when the
stored score was computed from an older version, under another model, or other consents, or
when time alone may have changed it since (its `valid_until`: a record's publicity ended, a
record left a feature's window, a "months since" feature stepped).
A reader therefore never sees a score older than the records and consents behind it.

A stored score counts only as what its stored inputs compute to (`scoring.integrity`): the reader
derives score and tier from the inputs, and a row whose columns or explanation disagree is no
valid score — it is recomputed from the records and the event audited (``score.tampered``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, Select, Uuid, bindparam, literal, select, true
from sqlalchemy.orm import Session, defer

from consent.gate import SCORING, ConsentRequired, valid_consent
from core import audit
from core.db import UnitOfWork
from core.errors import Conflict, InvalidInput, NotFound
from core.identity import Resident
from core.records import Record
from rights.models import Dispute
from scoring import integrity
from scoring.explain import ScoringConsentRequired, recompute, score_resident
from scoring.features import scoring_scope, valid_until
from scoring.spec import Model, ModelInvalid, load_model, parse_model, spec_hash
from scoring.store import LATEST_FIRST, Score, ScoreModel

log = logging.getLogger(__name__)

BUILTIN = "pengcheng-v1"
RECORD_FIELDS = ("category", "type", "occurred_at", "amount_fen", "quantity", "severity",
                 "status", "publicity_ends_at")

_models: dict[str, Model] = {}
_models_lock = threading.Lock()


@dataclass(frozen=True)
class ScoreView:
    score: int
    tier: str
    model: str
    computed_at: datetime
    explanation: dict[str, Any]
    inputs: dict[str, Any]


@dataclass(frozen=True)
class ModelState:
    """A stored model's place in its lifecycle (validated → active → retired)."""

    id: str
    version: str
    status: str
    spec_hash: str


def _state(row: ScoreModel) -> ModelState:
    return ModelState(row.id, row.version, row.status, row.spec_hash)


# -- models -----------------------------------------------------------------------------------

def _parsed(row: ScoreModel) -> Model:
    model = parsed(row.spec_hash)
    if model is None:
        model = parse_model(row.spec)
        with _models_lock:
            _models[row.spec_hash] = model
    return model


def parsed(spec_hash: str) -> Model | None:
    """The model whose stored text has this hash if this process has parsed it, else None
    (no query: the one-round-trip score read, `scoring.read`, reads only the hash)."""
    with _models_lock:
        return _models.get(spec_hash)


def active_model_ref() -> Select[str, str]:
    """The active model's id and spec hash (the partial unique index allows one)."""
    return select(ScoreModel.id, ScoreModel.spec_hash).where(ScoreModel.status == "active")


# The spec is read only when its hash is not parsed yet (`_parsed`): a read of the active
# model then costs a short row, not the whole document.
_ACTIVE_MODEL = (select(ScoreModel).where(ScoreModel.status == "active")
                 .options(defer(ScoreModel.spec)))


def active_model(session: Session) -> Model:
    """The active model, parsed (cached by spec hash); NotFound when none is active."""
    row = session.scalars(_ACTIVE_MODEL).first()
    if row is None:
        raise NotFound("no active scoring model; run `pengcheng db upgrade`")
    session.info["active_model"] = row  # held: the identity map alone lets it go
    return _parsed(row)


def stored_model(session: Session, model_id: str) -> Model | None:
    """A stored model by id, parsed; no query when this session has read it (`active_model`;
    `fresh_score` reads only its hash when this process has parsed it already)."""
    row = session.get(ScoreModel, model_id)
    return None if row is None else _parsed(row)


def ensure_builtin_model(uow: UnitOfWork, now: datetime) -> None:
    """Install and activate the shipped model when no model is active (idempotent)."""
    session = uow.session
    if session.scalars(_ACTIVE_MODEL).first():
        return
    model = load_model(BUILTIN)
    row = session.get(ScoreModel, model.id)
    if row is None:
        row = ScoreModel(id=model.id, version=model.version, spec=model.raw,
                         spec_hash=spec_hash(model.raw), status="validated", created_at=now,
                         validated_at=now)
        session.add(row)
    row.status, row.activated_at = "active", now
    audit.record(session, actor="system", action="model.activated", now=now, subject=row.id,
                 data={"spec_hash": row.spec_hash})
    uow.commit()


def models(session: Session) -> list[ModelState]:
    """Every stored model, oldest first."""
    return [_state(row) for row in session.scalars(select(ScoreModel)
                                                   .order_by(ScoreModel.created_at))]


def register_model(uow: UnitOfWork, spec: dict[str, Any], *, now: datetime,
                   actor: str) -> ModelState:
    """Validate a spec and store it as `validated`; refuses with every problem listed."""
    try:
        model = parse_model(spec)
    except ModelInvalid as exc:
        raise InvalidInput("the model spec is invalid", problems=list(exc.problems)) from exc
    session = uow.session
    existing = session.get(ScoreModel, model.id)
    if existing is not None:
        if existing.spec_hash != spec_hash(spec):
            raise Conflict(f"model {model.id} exists with a different text; bump its id")
        return _state(existing)
    row = ScoreModel(id=model.id, version=model.version, spec=spec, spec_hash=spec_hash(spec),
                     status="validated", created_at=now, validated_at=now)
    session.add(row)
    audit.record(session, actor=actor, action="model.validated", now=now, subject=model.id,
                 data={"spec_hash": row.spec_hash})
    uow.commit()
    return _state(row)


def activate_model(uow: UnitOfWork, model_id: str, *, now: datetime, actor: str) -> None:
    """Make a validated model the only active one; every score becomes stale by construction."""
    session = uow.session
    row = session.get(ScoreModel, model_id)
    if row is None:
        raise NotFound(f"no model {model_id}")
    if row.status == "active":
        return
    if row.status not in ("validated", "retired"):
        raise Conflict(f"model {model_id} is {row.status}; only a validated model is activated")
    for old in session.scalars(_ACTIVE_MODEL):
        old.status, old.retired_at = "retired", now
    session.flush()
    row.status, row.activated_at = "active", now
    audit.record(session, actor=actor, action="model.activated", now=now, subject=model_id,
                 data={"spec_hash": row.spec_hash})
    uow.commit()


# -- scores -----------------------------------------------------------------------------------

def records_of(session: Session, resident_ids: Iterable[uuid.UUID]) -> list[Any]:
    """The scored fields (and id) of the residents' records, ordered by resident; a disputed
    record carries its open dispute's deadline as `counts_until` (it counts until then:
    `scoring.features`)."""
    cols = [getattr(Record, f) for f in RECORD_FIELDS]
    return list(session.execute(
        select(Record.id, Record.resident_id, *cols, Dispute.due_at.label("counts_until"))
        .outerjoin(Dispute, (Dispute.record_id == Record.id) & (Dispute.status == "open")
                   & (Record.status == "disputed"))
        .where(Record.resident_id.in_(list(resident_ids)))
        .order_by(Record.resident_id)
    ).mappings())


def latest_of(resident_id: Any, *columns: Any) -> Select[Any]:
    """`columns` of the resident's latest stored score (`LATEST_FIRST`); `resident_id` a value
    or a column of an enclosing statement (`scoring.read`)."""
    return (select(*columns).where(Score.resident_id == resident_id)
            .order_by(*LATEST_FIRST).limit(1))


_LATEST = latest_of(bindparam("resident"), Score)

# A stored score's columns, read without its ORM entity (`StoredBasis`, `integrity.StoredScore`).
_STORED = (Score.id, Score.resident_id, Score.model_id, Score.score, Score.tier,
           Score.computed_at, Score.basis_version, Score.inputs, Score.inputs_hash,
           Score.explanation, Score.valid_until)


def _basis() -> Select[Any]:
    """What `fresh_score` decides by, in one statement and always one row: the categories of
    the valid scoring consent (NULL: none), the active model's spec hash (NULL: none) and the
    resident's latest score (NULLs: none); bound: `resident`, `now`."""
    resident = bindparam("resident", type_=Uuid())
    now = bindparam("now", type_=DateTime(timezone=True))
    one = select(literal(1).label("one")).subquery("one")
    consent = valid_consent(resident, literal(SCORING), now).subquery("consent")
    model = active_model_ref().subquery("model")
    score = latest_of(resident, *_STORED).subquery("score")
    return (select(consent.c.categories, model.c.spec_hash, *score.c).select_from(one)
            .outerjoin(consent, true()).outerjoin(model, true()).outerjoin(score, true()))


_BASIS = _basis()


def latest(session: Session, resident_id: uuid.UUID) -> Score | None:
    """The resident's latest stored score (`LATEST_FIRST`), or None."""
    return session.scalars(_LATEST, {"resident": resident_id}).first()


class StoredBasis(Protocol):
    """What `is_current` reads of a stored score (a `Score`, or a row with these columns)."""

    @property
    def basis_version(self) -> int: ...
    @property
    def model_id(self) -> str: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def valid_until(self) -> datetime | None: ...


class Versioned(Protocol):
    @property
    def score_version(self) -> int: ...


def is_current(row: StoredBasis | None, resident: Versioned, model: Model,
               categories: frozenset[str], now: datetime) -> bool:
    """Whether a stored score still holds: same data version, model and consented categories, and
    before its `valid_until`."""
    return (
        row is not None
        and row.basis_version == resident.score_version
        and row.model_id == model.id
        and row.inputs.get("model_hash") == model.hash
        and set(row.inputs.get("consented_categories", [])) == set(categories)
        and (row.valid_until is None or now < row.valid_until)
    )


def view_of(model: Model, row: integrity.StoredScore, derived: integrity.Derived
            ) -> ScoreView:
    """The view of a row whose derivation holds: its score and tier are the derived ones, its
    explanation the stored one or, when the row stores none (the batch's), rendered from its
    inputs."""
    assert derived.score is not None and derived.tier is not None
    shown = row.explanation if row.explanation is not None else recompute(model, row.inputs)
    return ScoreView(derived.score, derived.tier, row.model_id, row.computed_at, shown,
                     row.inputs)


def explanation_of(session: Session, row: Score) -> dict[str, Any] | None:
    """A stored score's explanation: the one it stores, or rendered from its inputs (None when
    its inputs do not name its model's text)."""
    if row.explanation is not None:
        return row.explanation
    model = stored_model(session, row.model_id)
    try:
        return None if model is None else recompute(model, row.inputs)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _tampered(session: Session, row: Any, differs: tuple[str, ...], *, now: datetime) -> None:
    """Log and audit a stored score that is not what its inputs compute to (it stays, for
    `pengcheng score --verify` and the operators)."""
    log.warning("score %s of resident %s is not what its inputs compute to: %s",
                row.id, row.resident_id, ", ".join(differs))
    audit.record(session, actor="system", action="score.tampered", now=now, subject=str(row.id),
                 data={"resident": str(row.resident_id), "differs": list(differs)})


def current_score(uow: UnitOfWork, resident: Resident, *, now: datetime) -> ScoreView:
    """The resident's score, recomputed first when anything behind it changed; commits the
    recomputed score (once).

    Raises `ConsentRequired` without a valid scoring consent: no consent, no score.
    """
    view, computed = fresh_score(uow.session, resident, now=now)
    if computed:
        uow.commit()
    return view


def fresh_score(session: Session, resident: Resident, *, now: datetime
                ) -> tuple[ScoreView, bool]:
    """The resident's current score and whether it was computed now (added, not committed:
    a use case that reads a score inside its own unit of work commits it with its own work).

    Raises `ConsentRequired` without a valid scoring consent: no consent, no score.
    """
    version = resident.score_version  # read before the records (see module docstring)
    basis = session.execute(_BASIS, {"resident": resident.id, "now": now}).one()
    if basis.categories is None:
        raise ConsentRequired("scoring needs your consent", detail_zh="计算信用分需要您的授权")
    categories = scoring_scope(frozenset(basis.categories))
    model = (None if basis.spec_hash is None else parsed(basis.spec_hash)) \
        or active_model(session)  # parses it (or refuses: no active model)
    stored = basis if basis.id is not None else None
    if is_current(stored, resident, model, categories, now):
        assert stored is not None
        derived = integrity.derive(model, stored)
        if derived.ok:
            return view_of(model, stored, derived), False
        _tampered(session, stored, derived.differs, now=now)  # no valid score: recompute
    records = records_of(session, [resident.id])
    try:
        explanation, inputs = score_resident(model, records, categories, now)
    except ScoringConsentRequired as exc:
        raise ConsentRequired("your consent covers no category this model reads",
                              detail_zh="您授权的数据类别不足以计算信用分") from exc
    row = Score(id=uuid.uuid4(), resident_id=resident.id, model_id=model.id,
                score=explanation["score"], tier=explanation["tier"], computed_at=now,
                basis_version=version, inputs=inputs, inputs_hash=explanation["inputs_hash"],
                explanation=explanation, trigger="read",
                valid_until=valid_until(model, records, categories, now))
    session.add(row)
    session.flush()
    return ScoreView(row.score, row.tier, row.model_id, row.computed_at, explanation,
                     row.inputs), True


def explained_score(uow: UnitOfWork, resident: Resident, *, now: datetime,
                    lang: str) -> dict[str, Any]:
    """The resident's current score (`current_score`) with its explanation in `lang`, and the
    records under dispute marked (`disputed`, 异议标注)."""
    from rights.disputes import marks

    view = current_score(uow, resident, now=now)
    disputed = marks(uow.session, resident.id, now=now, lang=lang)
    return explained(stored_model(uow.session, view.model), view, disputed, lang)


def explained(model: Model | None, view: ScoreView, disputed: list[Any],
              lang: str) -> dict[str, Any]:
    """`explained_score`'s answer from its parts: the score `view` under its `model` (None:
    not stored), the records under dispute (`rights.disputes.marks`), the language."""
    shown = _rendered(model, view, lang)
    if disputed:
        shown = {**shown, "positives": _not_absent(model, shown, disputed)}
    return {**shown, "computed_at": view.computed_at,
            "disputed": [asdict(m) for m in disputed]}


def _not_absent(model: Model | None, shown: dict[str, Any],
                disputed: list[Any]) -> list[dict[str, Any]]:
    """The positives, less those of features that read a disputed record's type: a disputed
    record is never described as absent ("无失信被执行记录"), even past its deadline when it
    does not count."""
    if model is None:
        return []
    kinds = {(m.category, m.type) for m in disputed}
    reads = {f.code for f in model.features
             if any((f.category, t) in kinds for t in f.types)}
    return [p for p in shown.get("positives", []) if p["code"] not in reads]


def render(session: Session, view: ScoreView, lang: str) -> dict[str, Any]:
    """The stored explanation, re-rendered in another language from the stored inputs."""
    if view.explanation.get("lang") == lang:
        return view.explanation
    return _rendered(stored_model(session, view.model), view, lang)


def _rendered(model: Model | None, view: ScoreView, lang: str) -> dict[str, Any]:
    if view.explanation.get("lang") == lang or model is None:
        return view.explanation
    return recompute(model, view.inputs, lang=lang)


def history(session: Session, resident_id: uuid.UUID, limit: int = 100) -> list[Score]:
    """The resident's stored scores, newest first (at most `limit`), less any that is not what
    its inputs compute to (`scoring.integrity.derive`)."""
    rows = list(session.scalars(
        select(Score).where(Score.resident_id == resident_id)
        .order_by(*LATEST_FIRST).limit(limit)
    ))
    models = {m.id: _parsed(m) for m in session.scalars(
        select(ScoreModel).where(ScoreModel.id.in_({r.model_id for r in rows})))}
    return [r for r in rows if r.model_id in models and integrity.derive(models[r.model_id], r).ok]


@dataclass(frozen=True)
class Mismatch:
    """A stored score that is not what its stored inputs and model compute to."""

    id: uuid.UUID
    resident_id: uuid.UUID
    differs: tuple[str, ...]  # the stored columns (explanation keys as explanation.<key>)
    stored: dict[str, Any]  # score and tier as stored
    recomputed: dict[str, Any]  # score and tier from the inputs (empty: they cannot be)


def verify_stored(session: Session, *, progress: Callable[[int], None] | None = None
                  ) -> tuple[int, list[Mismatch]]:
    """Recompute every stored score — score, tier, points, explanation — from its stored inputs
    and model (`scoring.integrity.differences`), and each resident's current score's inputs
    from the records (`scoring.integrity.against_records`); (rows checked, those that differ)."""
    checked, bad = 0, dict[uuid.UUID, Mismatch]()
    models = {r.id: _parsed(r) for r in session.scalars(select(ScoreModel))}
    for row in session.scalars(select(Score).order_by(Score.id).execution_options(
            yield_per=1000)):
        checked += 1
        found = integrity.differences(models.get(row.model_id), row)
        if found is not None:
            bad[row.id] = Mismatch(row.id, row.resident_id, found.differs, found.stored,
                                   found.recomputed)
        if progress and checked % 10_000 == 0:
            progress(checked)
    for row_id, resident_id, found in integrity.against_records(session, models):
        known = bad.get(row_id)
        differs = found.differs if known is None else (*known.differs, *found.differs)
        bad[row_id] = Mismatch(row_id, resident_id, differs, found.stored, found.recomputed)
    return checked, sorted(bad.values(), key=lambda m: str(m.id))
