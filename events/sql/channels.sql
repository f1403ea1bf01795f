-- Resident messages through channels (events/channels.py). Called by the row triggers of
-- migration 0030, so every path that writes a notice (core.notifications.notify, a pc_*
-- function, a job) queues its message in its own transaction, or not at all.

-- A notice of a kind that goes out queues one message, due at once (the sender holds it
-- through quiet hours). The kinds are events.channels.TEMPLATES' (a test compares them).
CREATE OR REPLACE FUNCTION pc_channel_queue(p_note jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF p_note->>'kind' IN ('medical_credit_bill', 'medical_credit_reminder',
                           'medical_credit_overdue', 'medical_credit_reported',
                           'deposit_waiver_defaulted', 'dispute_resolved', 'review_decided',
                           'repair_decided', 'consent_renewal') THEN
        INSERT INTO channel_messages (id, notification_id, status, attempts, next_attempt_at,
                                      created_at)
        VALUES (gen_random_uuid(), (p_note->>'id')::uuid, 'queued', 0,
                (p_note->>'created_at')::timestamptz, (p_note->>'created_at')::timestamptz);
    END IF;
END $$;

-- A consent that expired or was invalidated (its notice changed) asks the resident to renew it:
-- one notice per consent, in the inbox and, as `consent_renewal`, by message.
CREATE OR REPLACE FUNCTION pc_consent_renewal(p_event jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_event text := p_event->>'event';
    n record;
BEGIN
    IF v_event NOT IN ('expired', 'invalidated') THEN
        RETURN;
    END IF;
    SELECT title_zh, title_en INTO n FROM consent_notices
     WHERE id = (p_event->>'notice_id')::uuid;
    INSERT INTO notifications (id, resident_id, kind, dedupe_key, title_zh, title_en, body_zh,
                               body_en, data, created_at, read_at)
    VALUES (gen_random_uuid(), (p_event->>'resident_id')::uuid, 'consent_renewal',
            'consent-renewal:' || (p_event->>'consent_id'),
            '授权需要重新确认', 'A consent needs renewing',
            CASE v_event
                WHEN 'expired' THEN '您对“' || n.title_zh || '”的授权已到期；如需继续使用，'
                                    '请在鹏城分中重新授权。'
                ELSE '“' || n.title_zh || '”的告知书已更新，原授权已失效；如需继续使用，'
                     '请阅读新告知书后重新授权。'
            END,
            CASE v_event
                WHEN 'expired' THEN 'Your consent to “' || n.title_en || '” has expired; '
                                    'give it again in Pengcheng Score to keep using it.'
                ELSE 'The notice “' || n.title_en || '” changed, so your consent ended; read '
                     'the new notice and consent again to keep using it.'
            END,
            json_build_object('consent_id', p_event->>'consent_id',
                              'purpose', p_event->>'purpose', 'event', v_event),
            (p_event->>'at')::timestamptz, NULL)
    ON CONFLICT (dedupe_key) DO NOTHING;
END $$;
