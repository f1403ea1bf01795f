"""HTTP layer of partner webhooks: partners manage their endpoints and read their delivery log
(`/partner/v1/webhooks`); operators read every log and re-send (`/admin/v1/webhooks`)."""
