"""HTTP layer of the scenarios area: `routes.py` (blueprints, thin handlers that
never commit) and `schemas.py` (what goes in and out)."""
