"""HTTP layer of counter staff accounts: `routes.py` (a partner's own staff with its API key, an
operator's view of any partner's, and the staff sign-in the counter page uses) and `schemas.py`.
"""
