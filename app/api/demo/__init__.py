"""Development only: `routes.py` lists seeded residents and signs one in without an identity
provider (`/api/v1/auth/demo/…`; registered only in development mode); `schemas.py`.

    return demo_residents(uow.session, runtime().keyring, limit=20)   # DemoResident rows
"""
