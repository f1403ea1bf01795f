"""HTTP layer of the scores area: `routes.py` (`/api/v1/me/score…`; thin handlers that never
commit), `schemas.py` (the score, its dimensions and reasons) and `dumping.py` (a schema's dump
planned once: the score answer is dumped exactly as `ScoreSchema` dumps it, cheaper).

    with runtime().uow() as uow:                       # one round trip, the score current
        found = current_read(uow, auth.bearer(), now=…, lang=…)
    with runtime().uow() as uow:                       # else the use case, its answer rendered
        return explained_score(uow, auth.resident(uow), now=runtime().clock.now(), lang=…)
"""
