"""HTTP layer of the rights area: `routes.py` (blueprints, thin handlers that
never commit) and `schemas.py` (what goes in and out)."""
