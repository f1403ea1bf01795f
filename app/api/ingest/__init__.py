"""HTTP layer of ingestion: `routes.py` (`/ingest/v1/records` for data sources; a thin
handler that never commits) and `schemas.py` (`RecordIn` and the result).

    with runtime().uow() as uow:
        return ingest(uow, runtime().keyring, source_id=…, records=body["records"], now=…)
"""
