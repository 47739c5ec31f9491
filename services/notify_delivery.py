"""Delivering one notification: claim it, try its channels in order, record every attempt, finish in the inbox.

Exactly once, and why:
1. **Claim before calling out.** `UPDATE notifications SET status='sending', claim_token=T, claimed_at=now WHERE id=:id
   AND (status='pending' OR (status='sending' AND claimed_at < now - lease))`, committed with the first attempt row
   (one commit, before any call out; the row stays locked until then). Of two runs of the send job
   (RQ re-runs a job after a crash; the sweeper may enqueue a second one), only the one whose UPDATE matched goes on.
   The lease (NOTIFY_CLAIM_LEASE_S) exceeds the send job's RQ timeout, after which RQ has killed the run that held
   the claim: a claim older than the lease belongs to a dead run.
2. **An attempt row before the call.** Each call out is preceded by a committed `in_flight` attempt (and, in the same
   commit, the subscribe credit it spends or the SMS it counts). A run that dies after that commit leaves the attempt
   `in_flight`; so does a call whose answer was lost (a read timeout): the provider may or may not have the message.
3. **An in-flight attempt is resolved, never simply repeated**, by the next run that takes the claim over, per
   channel: SMS — ask the provider (`QuerySendDetails` by our OutId): found is delivered, missing is resent;
   template message — resend with the same `client_msg_id`, which WeChat delivers at most once per openid within
   10 minutes (the lease is shorter); subscribe message — WeChat offers neither a lookup nor an idempotency key, so
   the attempt is taken as delivered (its credit stays spent) and nothing else is sent: at most once on that
   channel, and the inbox still holds the message. The next run resumes with the in-flight channel, never an
   earlier one, so a message never goes out on two channels.
4. **Answers that surely did not deliver** (WeChat's -1/45009/45011, HTTP 5xx, a refused connection) release the
   claim and raise `TransientDelivery`, and RQ retries with backoff; the credit or SMS count is given back. On the
   last retry (or in-process, without RQ) they fall through to the next channel instead. Permanent refusals
   (43101 — which also zeroes the ledger —, 40003, 40037, 47003, ...) are recorded and fall through at once.
5. **Finishing** updates the row only while the claim is still ours (`WHERE claim_token = T`).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from models import db
from models.base import utcnow
from models.notifications import AttemptOutcome, Channel, DeliveryAttempt, Notification, NotificationStatus
from services import notify_channels as channels
from services.errors import UpstreamError


class TransientDelivery(Exception):
    """Raised to make RQ retry the send job later; the notification is pending again."""


def claim(notification_id: int, *, commit: bool = True) -> str | None:
    """Takes the notification for this run; None when another live run holds it or it is done. With
    `commit=False` the claim rides on the run's next commit, which always comes before any call out (the row stays
    locked meanwhile: a concurrent claim waits, then finds it taken)."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["SETTINGS"].notify_claim_lease_s)
    token = secrets.token_hex(16)
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            or_(
                Notification.status == NotificationStatus.PENDING,
                and_(Notification.status == NotificationStatus.SENDING, Notification.claimed_at < now - lease),
            ),
        )
        .values(status=NotificationStatus.SENDING, claim_token=token, claimed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if commit or result.rowcount != 1:
        db.session.commit()
    return token if result.rowcount == 1 else None


def deliver(notification_id: int, retries_left: int = 0) -> str:
    """Delivers one notification (see the module docstring). Returns what happened: the delivering channel, "inbox",
    or "skipped" when the claim was not ours. Commits; raises TransientDelivery to be retried."""
    token = claim(notification_id, commit=False)  # committed with the first attempt, before any call out
    if token is None:
        return "skipped"
    row = db.session.get(Notification, notification_id, populate_existing=True)
    history = list(
        db.session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.notification_id == row.id).order_by(DeliveryAttempt.id)
        )
    )
    reach = channels.reach_of(row.member_id)
    plan = channels.possible_channels(row, reach)
    resolved = _resolve_in_flight(row, reach, history, token)
    if isinstance(resolved, DeliveryAttempt):
        return _finish(row, token, resolved.channel)
    if resolved is not None:  # resume on the channel whose answer was lost: never an earlier one
        plan = plan[plan.index(resolved) :] if resolved in plan else []
    refused = {a.channel for a in history if a.outcome == AttemptOutcome.REFUSED}
    tried_outside = bool(history)
    for channel in plan:
        if channel in refused:
            continue
        attempt = _begin(row, channel, token)
        if attempt is None:
            continue  # no credit left, or the SMS limit of the day is reached
        tried_outside = True
        outcome = channels.call(channel, row, reach)
        if outcome.delivered:
            _record(attempt, AttemptOutcome.DELIVERED, outcome)
            return _finish(row, token, channel)
        if outcome.ambiguous:
            _record(attempt, AttemptOutcome.IN_FLIGHT, outcome)  # stays in flight: the retry resolves it
            _release(row, token)
            raise TransientDelivery(f"notification {row.id}: no answer from {channel}")
        _record(attempt, AttemptOutcome.REFUSED if outcome.permanent else AttemptOutcome.TRANSIENT, outcome)
        _give_back(row, attempt, outcome)
        db.session.commit()
        if not outcome.permanent and retries_left > 0:
            _release(row, token)
            raise TransientDelivery(f"notification {row.id}: {channel} answered {outcome.code}")
    return _finish(row, token, None, failed=tried_outside)


def _begin(row: Notification, channel: Channel, token: str) -> DeliveryAttempt | None:
    """Writes and commits the in-flight attempt with what it spends (a credit, an SMS of the day)."""
    s = current_app.config["SETTINGS"]
    attempt = DeliveryAttempt(
        notification_id=row.id, channel=channel, outcome=AttemptOutcome.IN_FLIGHT, claim_token=token, cost_fen=0
    )
    if channel == Channel.SUBSCRIBE:
        if not channels.spend_credit(row.member_id, s.notify_subscribe_template):
            return None  # the UPDATE matched nothing: nothing to undo
        attempt.template_id, attempt.credit_spent = s.notify_subscribe_template, True
    elif channel == Channel.TEMPLATE:
        attempt.template_id = s.notify_oa_template
    elif channel == Channel.SMS:
        if not channels.reserve_sms(row.member_id, channels.local_day()):
            return None
        attempt.cost_fen = s.sms_cost_fen
    db.session.add(attempt)
    db.session.commit()
    return attempt


def _record(attempt: DeliveryAttempt, outcome: AttemptOutcome, result: channels.Outcome) -> None:
    attempt.outcome = outcome
    attempt.upstream_code = result.code if isinstance(result.code, int) else None
    attempt.provider_msgid = result.msgid
    detail = result.detail if isinstance(result.code, int) or result.code is None else f"{result.code}: {result.detail}"
    attempt.detail = (detail or None) and detail[:255]
    attempt.finished_at = utcnow() if outcome != AttemptOutcome.IN_FLIGHT else None


def _give_back(row: Notification, attempt: DeliveryAttempt, result: channels.Outcome) -> None:
    """Undoes what a surely undelivered attempt spent; 43101 means WeChat holds no credit: the ledger says so too."""
    if attempt.channel == Channel.SUBSCRIBE:
        if result.code == channels.NO_CREDIT:
            channels.zero_credits(row.member_id, attempt.template_id)
        else:
            channels.restore_credit(row.member_id, attempt.template_id)
        attempt.credit_spent = False
    elif attempt.channel == Channel.SMS:
        channels.release_sms(row.member_id, attempt.started_at.astimezone(current_app.config["SETTINGS"].zone).date())
        attempt.cost_fen = 0


def _resolve_in_flight(row, reach, history, token) -> DeliveryAttempt | Channel | None:
    """Settles an attempt a dead run (or a lost answer) left in flight: the attempt when it counts as delivered,
    the channel to resume on when it did not deliver, None when there was none."""
    pending = [a for a in history if a.outcome == AttemptOutcome.IN_FLIGHT]
    if not pending:
        return None
    attempt = pending[-1]
    for older in pending[:-1]:  # cannot happen with one claim at a time; kept honest if it ever does
        older.outcome, older.detail = AttemptOutcome.TRANSIENT, "superseded by a later attempt"
    attempt.claim_token = token
    if attempt.channel == Channel.SUBSCRIBE:
        attempt.outcome = AttemptOutcome.DELIVERED
        attempt.detail = "answer lost; taken as delivered (WeChat offers no lookup for subscribe messages)"
        attempt.finished_at = utcnow()
        return attempt
    if attempt.channel == Channel.SMS:
        day = attempt.started_at.astimezone(current_app.config["SETTINGS"].zone).date()
        try:
            received = channels.sms_was_received(row, reach, day)
        except UpstreamError as exc:
            db.session.rollback()
            _release(row, token)
            raise TransientDelivery(f"notification {row.id}: SMS lookup failed") from exc
        attempt.finished_at = utcnow()
        if received:
            attempt.outcome, attempt.detail = AttemptOutcome.DELIVERED, "answer lost; the provider has it"
            return attempt
        attempt.outcome, attempt.detail = AttemptOutcome.TRANSIENT, "answer lost; the provider does not have it"
        channels.release_sms(row.member_id, day)
        attempt.cost_fen = 0
        db.session.commit()
        return Channel.SMS
    attempt.outcome = AttemptOutcome.TRANSIENT
    attempt.detail = "answer lost; resent with the same client_msg_id (WeChat sends it once)"
    attempt.finished_at = utcnow()
    db.session.commit()
    return Channel.TEMPLATE


def _release(row: Notification, token: str) -> None:
    """Gives the claim back (pending again) so that the retry can take it; committed."""
    db.session.execute(
        update(Notification)
        .where(Notification.id == row.id, Notification.claim_token == token)
        .values(status=NotificationStatus.PENDING, claim_token=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _finish(row: Notification, token: str, channel: Channel | None, failed: bool = False) -> str:
    """Marks the notification sent by `channel` (or by the inbox alone: sent, or failed when outside channels were
    tried and none delivered); committed, and only while the claim is ours."""
    now = utcnow()
    status = NotificationStatus.FAILED if channel is None and failed else NotificationStatus.SENT
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == row.id, Notification.claim_token == token)
        .values(status=status, channel=channel or Channel.INBOX, sent_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        current_app.logger.warning("notification %s: claim lost before finishing", row.id)
    return (channel or Channel.INBOX).value


def stuck_notification_ids(limit: int = 5000) -> list[int]:
    """Notifications no run is working on: claims older than the lease, and pending rows untouched for twice the
    lease plus RQ's longest retry interval (their job was lost, e.g. the caller died between commit and enqueue)."""
    s = current_app.config["SETTINGS"]
    now = utcnow()
    lease = timedelta(seconds=s.notify_claim_lease_s)
    stale_pending = now - 2 * lease - timedelta(seconds=900)
    stmt = (
        select(Notification.id)
        .where(
            or_(
                and_(Notification.status == NotificationStatus.SENDING, Notification.claimed_at < now - lease),
                and_(Notification.status == NotificationStatus.PENDING, Notification.updated_at < stale_pending),
            )
        )
        .order_by(Notification.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))
