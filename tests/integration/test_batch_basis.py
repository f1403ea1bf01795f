"""The chunk's stored bases (`scoring.batch.latest_many(basis_only=True)`): what the batch decides
from them is what the whole stored rows decide, and residents with the same model and consent
list share one decoded basis (decoding every row's was most of a re-run's CPU)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.runtime import runtime
from app.seed import seed
from consent.gate import scoring_categories_many
from core.identity import Resident
from scoring import batch
from scoring.features import scoring_scope
from scoring.services import active_model, is_current
from tests.support.factories import T0


def test_the_basis_of_each_stored_score_decides_currency_as_the_whole_row_does(app, uow):
    seed(runtime().uow, runtime().keyring, residents=12, rng_seed=3, now=T0)
    batch.run(runtime().batch_uow, now=T0)
    session = uow.session
    residents = list(session.scalars(select(Resident).order_by(Resident.id)))
    ids = [r.id for r in residents]
    whole = batch.latest_many(session, ids)
    basis = batch.latest_many(session, ids, basis_only=True)
    assert set(basis) == set(whole) and len(basis) >= 6
    model = active_model(session)
    consents = scoring_categories_many(session, ids, T0)
    for when in (T0, T0 + timedelta(days=400)):  # current, then past many a valid_until
        for r in residents:
            if r.id not in whole:
                continue
            for scope in (scoring_scope(consents.get(r.id, ())), frozenset({"tax"})):
                assert (is_current(basis[r.id], r, model, scope, when)
                        == is_current(whole[r.id], r, model, scope, when))
        assert {b.inputs["model_hash"] for b in basis.values()} == {model.hash}
    for rid, row in basis.items():
        assert (row.basis_version, row.model_id, row.valid_until) == (
            whole[rid].basis_version, whole[rid].model_id, whole[rid].valid_until)
        assert row.inputs == {"model_hash": whole[rid].inputs["model_hash"],
                              "consented_categories": whole[rid].inputs["consented_categories"]}
    # one decoded basis per distinct (model, consent list), shared by the rows that have it
    distinct = {(b.inputs["model_hash"], tuple(b.inputs["consented_categories"]))
                for b in basis.values()}
    assert len({id(b.inputs) for b in basis.values()}) == len(distinct) < len(basis)
