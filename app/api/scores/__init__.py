"""HTTP layer of the scores area: `routes.py` (`/api/v1/me/score…`; thin handlers that never
commit) and `schemas.py` (the score, its dimensions and reasons).

    with runtime().uow() as uow:                       # one use case, its answer rendered
        return explained_score(uow, auth.resident(uow), now=runtime().clock.now(), lang=…)
"""
