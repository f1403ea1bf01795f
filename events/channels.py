"""Resident messages through channels: SMS or WeChat subscription messages next to the inbox.

Design overview
---------------
* **Captured with the notice.** A row trigger on `notifications` (migration 0030,
  `pc_channel_queue` in events/sql/channels.sql) queues a `channel_messages` row for each
  notice of a kind in `TEMPLATES`, in the notice's own transaction, whatever wrote it
  (`core.notifications.notify` or a `pc_*` function): a notice that rolled back sends nothing,
  and a committed one always has its message. The inbox keeps every notice either way.
* **Sent by the worker.** `send_due` (the periodic task `channels.send` of events.queue, every
  minute) takes the due messages one at a time (`FOR UPDATE SKIP LOCKED`, one transaction
  each, so workers share them) and hands each to the configured `Channel`: `HttpGateway` for
  SMS, `WeChatGateway` for subscription messages, or `Sink`, the demo's and tests' channel,
  which sends nothing and leaves the row as the record of what would have gone out.
* **Quiet hours and limits.** Nothing goes out between 22:00 and 08:00 Asia/Shanghai: the
  messages wait, and the 08:00 run sends them. At most `CHANNEL_DAILY_LIMIT` messages reach a
  resident per Shanghai day; the rest stay in the inbox, marked `not_sent` (`rate_limited`),
  as are those of a resident without a phone (`no_phone`) or erased (`erased`). The notice's
  `data.channel` says what became of it (and by which channel it went: `sink` means it was
  only recorded).
* **What a message says** is written here from the notice's kind and data: amounts in yuan,
  dates as Shanghai calendar days (12月13日), never a name, an ID number, a partner's free
  text or an operator's note. The phone is decrypted only to hand it to the gateway; the row
  keeps it masked (138****5678) and nothing logs it.
* **At least once.** A gateway error or 5xx (or 429) is retried along `SCHEDULE`, then the
  message is `failed`; a 4xx fails at once. A worker killed mid-send rolls its transaction
  back and the message goes again: the gateway sees the same message id (`Idempotency-Key`),
  so it can drop the duplicate.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.crypto import Keyring
from core.db import Base, UnitOfWork
from core.identity import Resident, read_personal
from core.notifications import Notification
from events.delivery import post

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET_FROM, QUIET_UNTIL = time(22), time(8)
# Seconds before each retry of a message the gateway did not take: 1 min, 5 min, 30 min, 2 h,
# 6 h (about 8.6 hours in all); then the message is `failed`.
SCHEDULE = (60, 300, 1800, 7200, 21600)
BATCH = 200  # messages per run at most; the next minute's run takes the rest
SIGNATURE = "【鹏城分】"
MINI_PROGRAM = "详情请在鹏城分小程序查看。"


class ChannelMessage(Base):
    __tablename__ = "channel_messages"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'not_sent', 'failed')", name="status"),
        Index("ix_channel_messages_due", "next_attempt_at",
              postgresql_where=text("status = 'queued'")),
        Index("ix_channel_messages_sent", "sent_at", postgresql_where=text("status = 'sent'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the gateway's dedupe key
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(10))  # queued | sent | not_sent | failed
    reason: Mapped[str | None] = mapped_column(String(20))  # why not_sent / failed
    channel: Mapped[str | None] = mapped_column(String(10))  # sink | sms | wechat
    recipient: Mapped[str | None] = mapped_column(String(20))  # the phone, masked
    content: Mapped[str | None] = mapped_column(String(500))  # the message text
    attempts: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


# -- what a message says -------------------------------------------------------------------------

def yuan(fen: int) -> str:
    """128.50元: the amount as a bill shows it."""
    return f"{fen // 100}.{fen % 100:02d}元"


def day(value: str) -> str:
    """The Shanghai calendar day of an ISO time, as a resident reads it: 12月13日."""
    at = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(SHANGHAI)
    return f"{at.month}月{at.day}日"


def _bill(d: dict[str, Any]) -> dict[str, str]:
    amount, due = yuan(int(d["amount_fen"])), day(d["due_at"])
    return {"title": "先诊后付账单", "amount": amount, "date": due,
            "text": f"您有一笔先诊后付账单{amount}，请于{due}前还款。"}


def _reminder(d: dict[str, Any]) -> dict[str, str]:
    amount, due = yuan(int(d["owed_fen"])), day(d["due_at"])
    return {"title": "先诊后付还款提醒", "amount": amount, "date": due,
            "text": f"您的先诊后付账单尚欠{amount}，将于{due}到期，请按时还款。"}


def _overdue(d: dict[str, Any]) -> dict[str, str]:
    return {"title": "先诊后付账单逾期", "amount": yuan(int(d["owed_fen"])),
            "date": day(d["report_at"]),
            "text": f"您的先诊后付账单尚欠{yuan(int(d['owed_fen']))}已逾期，先诊后付已暂停使用；"
                    f"{day(d['report_at'])}前还清可避免形成逾期记录。"}


def _reported(d: dict[str, Any]) -> dict[str, str]:
    return {"title": "已形成逾期记录",
            "text": "您的先诊后付账单逾期超过宽限期，已形成逾期记录；还清后该记录将标记为已修复。"}


def _waiver(d: dict[str, Any]) -> dict[str, str]:
    return {"title": "免押物品未按期归还", "date": day(d["report_at"]),
            "text": f"合作方报告您的免押物品未按期归还，请于{day(d['report_at'])}前归还或结清，"
                    "以免形成违约记录。"}


_DISPUTE = {"upheld": "该记录经核查准确，已恢复计入信用分", "corrected": "该记录已更正",
            "removed": "该记录已删除，不再计入信用分"}


def _dispute(d: dict[str, Any]) -> dict[str, str]:
    outcome = _DISPUTE.get(str(d.get("outcome")), "已有处理结果")
    return {"title": "异议处理结果", "text": f"您提出的异议已处理：{outcome}。"}


def _review(d: dict[str, Any]) -> dict[str, str]:
    outcome = "结果已调整" if d.get("outcome") == "changed" else "维持原结果"
    return {"title": "人工复核结果", "text": f"您申请的人工复核已完成：{outcome}。"}


def _repair(d: dict[str, Any]) -> dict[str, str]:
    outcome = "已通过，该记录不再计入信用分" if d.get("status") == "approved" else "未获通过"
    return {"title": "信用修复结果", "text": f"您的信用修复申请{outcome}。"}


def _renewal(d: dict[str, Any]) -> dict[str, str]:
    ended = "已到期" if d.get("event") == "expired" else "因告知书更新已失效"
    return {"title": "授权需要重新确认",
            "text": f"您的一项授权{ended}；如需继续使用相关服务，请重新授权。"}


# The notice kinds that go out, and what each says (the same kinds as pc_channel_queue's).
TEMPLATES: dict[str, Callable[[dict[str, Any]], dict[str, str]]] = {
    "medical_credit_bill": _bill,
    "medical_credit_reminder": _reminder,
    "medical_credit_overdue": _overdue,
    "medical_credit_reported": _reported,
    "deposit_waiver_defaulted": _waiver,
    "dispute_resolved": _dispute,
    "review_decided": _review,
    "repair_decided": _repair,
    "consent_renewal": _renewal,
}


@dataclass(frozen=True)
class Message:
    """One message to one phone: `text` for SMS, `fields` (title, amount, date, text) for a
    template. The phone stays out of `repr`, so a logged message never shows it."""

    id: uuid.UUID
    kind: str
    phone: str = field(repr=False)
    text: str
    fields: dict[str, str]


def compose(message_id: uuid.UUID, note: Notification, phone: str) -> Message:
    fields = TEMPLATES[note.kind](note.data)
    text = f"{SIGNATURE}{fields['text']}{MINI_PROGRAM}"
    return Message(message_id, note.kind, phone, text, fields)


def masked(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) > 7 else "****"


# -- channels ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    """What a channel did: sent, or not with an error and whether trying again may help."""

    sent: bool
    error: str | None = None
    retry: bool = False


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> Result: ...


class Sink:
    """Sends nothing: the message's row (channel `sink`, masked recipient, text) is the record
    of what would have gone out. The demo's and tests' channel, and the default."""

    name = "sink"

    def send(self, message: Message) -> Result:
        return Result(sent=True)


@dataclass
class HttpGateway:
    """An SMS gateway: POST JSON `{message_id, to, text}` to `url` with `Authorization: Bearer
    <key>` and `Idempotency-Key: <message_id>` (the same on every retry). 2xx: sent; 429, 5xx
    or no answer: retried; any other answer: failed."""

    url: str
    key: str
    name: str = "sms"

    def body(self, message: Message) -> dict[str, Any]:
        return {"message_id": str(message.id), "to": message.phone, "text": message.text}

    def send(self, message: Message) -> Result:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.key}",
                   "Idempotency-Key": str(message.id), "User-Agent": "pengcheng-channels/1"}
        body = json.dumps(self.body(message), ensure_ascii=False).encode()
        # The operator configures the gateway's address, so a private one is allowed.
        status, error = post(self.url, headers, body, allow_private=True)
        if status is not None and 200 <= status < 300:
            return Result(sent=True)
        if status is None:
            return Result(sent=False, error=error, retry=True)
        return Result(sent=False, error=f"HTTP {status}", retry=status == 429 or status >= 500)


@dataclass
class WeChatGateway(HttpGateway):
    """WeChat subscription messages through the operator's gateway: `{message_id, to,
    template_id, data}` where `data` holds the fields (title, amount, date, text) and the
    template is the one configured for the notice's kind; the gateway maps the phone to the
    resident's openid. A kind without a template goes as its text under the `default` one."""

    templates: dict[str, str] = field(default_factory=dict)
    name: str = "wechat"

    def body(self, message: Message) -> dict[str, Any]:
        template = self.templates.get(message.kind) or self.templates.get("default", "")
        return {"message_id": str(message.id), "to": message.phone, "template_id": template,
                "data": {k: {"value": v} for k, v in message.fields.items()}}


def configured(settings: Mapping[str, Any]) -> Channel:
    """The channel the settings name (`CHANNEL`: sink, sms or wechat)."""
    kind = str(settings.get("CHANNEL") or "sink")
    if kind == "sms":
        return HttpGateway(str(settings["SMS_GATEWAY_URL"]), str(settings["SMS_GATEWAY_KEY"]))
    if kind == "wechat":
        templates = settings.get("WECHAT_TEMPLATES") or {}
        if isinstance(templates, str):
            templates = json.loads(templates)
        return WeChatGateway(str(settings["WECHAT_GATEWAY_URL"]),
                             str(settings["WECHAT_GATEWAY_KEY"]), templates=dict(templates))
    return Sink()


# -- sending -------------------------------------------------------------------------------------

def quiet(now: datetime) -> bool:
    """Whether `now` is in quiet hours (22:00-08:00 Asia/Shanghai)."""
    local = now.astimezone(SHANGHAI).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def day_start(now: datetime) -> datetime:
    """Midnight of `now`'s Shanghai day."""
    local = now.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _sent_today(session: Session, resident_id: uuid.UUID, now: datetime) -> int:
    return int(session.scalar(
        select(func.count()).select_from(ChannelMessage)
        .join(Notification, Notification.id == ChannelMessage.notification_id)
        .where(Notification.resident_id == resident_id, ChannelMessage.status == "sent",
               ChannelMessage.sent_at >= day_start(now))) or 0)


def _close(msg: ChannelMessage, note: Notification, status: str, reason: str | None) -> str:
    msg.status, msg.reason = status, reason
    note.data = {**note.data, "channel": {"status": status, "reason": reason,
                                          "via": msg.channel if status == "sent" else None}}
    return status if reason is None else reason


def _send_one(session: Session, keyring: Keyring, channel: Channel, msg: ChannelMessage,
              note: Notification, *, now: datetime, daily_limit: int) -> str:
    """Send `msg` or settle why not; what happened (a status or a reason). One resident's
    messages are sent one at a time (a lock for the transaction), so two workers cannot both
    find room under the daily limit."""
    session.execute(select(func.pg_advisory_xact_lock(
        func.hashtext(f"channels:{note.resident_id}"))))
    resident = session.get(Resident, note.resident_id)
    if resident is None or resident.status == "erased":
        return _close(msg, note, "not_sent", "erased")
    if resident.phone_ct is None:
        return _close(msg, note, "not_sent", "no_phone")
    if _sent_today(session, resident.id, now) >= daily_limit:
        return _close(msg, note, "not_sent", "rate_limited")
    phone = read_personal(session, keyring, resident).phone or ""
    message = compose(msg.id, note, phone)
    result = channel.send(message)
    msg.attempts += 1
    msg.channel, msg.recipient = channel.name, masked(phone)
    if result.sent:
        msg.content, msg.sent_at, msg.last_error = message.text, now, None
        return _close(msg, note, "sent", None)
    msg.last_error = (result.error or "")[:200]
    log.warning("message %s of kind %s not taken by %s (attempt %d): %s", msg.id, note.kind,
                channel.name, msg.attempts, msg.last_error)
    if result.retry and msg.attempts <= len(SCHEDULE):
        msg.next_attempt_at = now + timedelta(seconds=SCHEDULE[msg.attempts - 1])
        return "retry"
    return _close(msg, note, "failed", "gateway")


def send_due(uow: Callable[[], UnitOfWork], keyring: Keyring, channel: Channel, *,
             now: datetime, daily_limit: int, limit: int = BATCH) -> dict[str, int]:
    """Send the messages due at `now` (none in quiet hours), one transaction each; counts of
    what happened (sent, retry, failed, not_sent reasons, and `held` in quiet hours)."""
    counts: dict[str, int] = {}
    if quiet(now):
        with uow() as work:
            counts["held"] = int(work.session.scalar(
                select(func.count()).select_from(ChannelMessage)
                .where(ChannelMessage.status == "queued")) or 0)
        return counts
    for _ in range(limit):
        with uow() as work:
            session = work.session
            msg = session.scalar(
                select(ChannelMessage).where(ChannelMessage.status == "queued",
                                             ChannelMessage.next_attempt_at <= now)
                .order_by(ChannelMessage.next_attempt_at, ChannelMessage.created_at)
                .limit(1).with_for_update(skip_locked=True))
            if msg is None:
                break
            note = session.get(Notification, msg.notification_id)
            assert note is not None  # the message goes with its notice (ON DELETE CASCADE)
            outcome = _send_one(session, keyring, channel, msg, note, now=now,
                                daily_limit=daily_limit)
            work.commit()
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
