"""HTTP layer of the scores area: `routes.py` (blueprints, thin handlers that
never commit) and `schemas.py` (what goes in and out)."""
