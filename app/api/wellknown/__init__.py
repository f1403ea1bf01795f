"""Public, unauthenticated documents: `routes.py` (`/.well-known/jwks.json`, `/healthz`) and
`schemas.py`.

    with runtime().uow() as uow:
        return runtime().signer.jwks(uow.session, runtime().clock.now())
"""
