"""Events out: the transactional outbox, partner webhooks and the PostgreSQL task queue.

Design overview
---------------
* **The outbox is written by triggers** (`events/sql/outbox.sql`, installed with the other SQL
  files; the triggers themselves are migration 0026's). A change of state on `credit_holds`,
  `credit_bills`, `deposit_waivers`, `points_redemptions`, `points_refunds` or
  `consent_records` writes its `events` row in the transaction that makes the change, whatever
  wrote it (a `pc_*` function, the ORM, a job): a change that rolls back leaves no event, and a
  committed change always has one.
* **Fan-out in the same transaction**: the trigger also writes one `webhook_deliveries` row per
  endpoint of the partner that subscribed to the event's type, and defers one procrastinate job
  per delivery (`procrastinate_defer_jobs_v1`). So nothing committed waits for a poller, and
  nothing rolled back is queued.
* **Order per resource**: a delivery's job carries the procrastinate `lock`
  `webhook:<endpoint>:<resource>`; procrastinate starts no job while an earlier job of the same
  lock is waiting or running (retries included), so one endpoint sees one hold's events in the
  order they happened.
* **At least once**: a worker killed mid-delivery leaves its job `doing`; every worker puts the
  jobs of workers whose heartbeat stopped back in the queue (`events.queue.rescue`). The
  receiver may then see an event twice, always with the same `webhook-id`.
"""
