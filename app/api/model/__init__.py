"""HTTP layer of the public model: `routes.py` (`/api/v1/model`, `/api/v1/model/spec`; no sign-in)
and `schemas.py` (the model card)."""
