"""`core.idempotency` without a database: how the wrapper reads a call (key, body, claim) and
how an answer becomes the JSON it is stored as."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from core.idempotency import Claim, body_hash, idempotent, plain

PARTNER = SimpleNamespace(id=uuid.uuid4())
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class FakeUnit:
    def __init__(self, opened: list[dict[str, Any]], **kwargs: Any) -> None:
        opened.append(kwargs)

    def __enter__(self) -> FakeUnit:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class Answer:
    answer_id: uuid.UUID
    at: datetime
    closed_at: datetime | None
    amounts: tuple[int, ...]


def test_an_answer_is_stored_as_plain_json():
    answer_id = uuid.uuid4()
    assert plain(Answer(answer_id, NOW, None, (1, 2))) == {
        "answer_id": str(answer_id), "at": "2026-03-01T08:00:00Z", "closed_at": None,
        "amounts": [1, 2]}


def test_a_write_a_function_claims_gets_the_claim_on_an_autocommit_unit_of_work():
    opened: list[dict[str, Any]] = []
    seen: list[Claim] = []

    @idempotent("area.write", key="out_no", in_sql=True,
                body=lambda a: {"thing": str(a["thing_id"]), "fen": a["fen"]})
    def write(uow: Any, claim: Claim, thing_id: uuid.UUID, *, partner: Any, fen: int,
              out_no: str, now: datetime) -> dict[str, Any]:
        seen.append(claim)
        return {"fen": fen}

    thing = uuid.uuid4()
    answer = write(lambda **kw: FakeUnit(opened, **kw), thing, partner=PARTNER, fen=5,
                   out_no="NO-1", now=NOW)
    assert answer == {"fen": 5}
    assert opened == [{"autocommit": True}]
    assert seen == [Claim(PARTNER.id, "area.write", "NO-1",
                          body_hash({"thing": str(thing), "fen": 5}))]
