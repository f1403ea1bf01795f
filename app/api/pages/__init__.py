"""HTTP layer of the pages area: `routes.py` (blueprints, thin handlers that
never commit) and `schemas.py` (what goes in and out)."""
