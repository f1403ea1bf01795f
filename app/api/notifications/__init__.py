"""HTTP layer of the notifications area: `routes.py` (blueprints, thin handlers that
never commit) and `schemas.py` (what goes in and out). Reads answer `core.notifications.Inbox`;
marking read is a use case that commits:

    with runtime().uow() as uow:
        return {"marked": notifications.mark_read(uow, resident.id, ids, now)}
"""
