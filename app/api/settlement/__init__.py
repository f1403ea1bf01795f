"""Settlement for hospitals and deposit partners: `routes.py` lists their holds, bills and
waivers and answers their signed daily statement (`rewards.settlement`); `schemas.py`.

    GET /partner/v1/medical-credit/statement?date=2026-11-01&format=csv
"""
