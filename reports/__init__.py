"""Personal credit reports and no-violation certificates, signed and verifiable (issue 11).

Where a thing goes: use cases in `services.py` take the unit of work first and commit once
(`services.generate(uow, resident, request, issuing=…, now=now)`), verification in `verify.py`
(`verify.by_code(uow, code, checking=…, now=now, channel="api")`); content in `build.py`,
signing in `signing.py`, rendering in `pdf.py`/`html.py`, refusals in `errors.py`.
"""
