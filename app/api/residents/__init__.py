"""HTTP layer of residents' sign-in and profile: `routes.py` (`/api/v1/auth/session`, `/api/v1/me`;
thin handlers that never commit) and `schemas.py` (sessions and the masked profile).

    claims = runtime().idp.verify(body["assertion"], runtime().clock.now(), seen=runtime().store)
    return open_session_for(claims, "idp")             # an OpenedSession the schema renders
"""
