"""HTTP layer of the scenarios area: `routes.py` (blueprints, thin handlers that
never commit) and `schemas.py` (what goes in and out). `ScenarioSchema` renders a
`rewards.scenarios.Scenario` as it is:

    with runtime().uow() as uow:
        return scenarios.put(uow, code, body, actor=..., now=runtime().clock.now())
"""
