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
6. **By chunk** (`deliver_chunk`, what the send jobs run): one UPDATE claims the chunk's rows under one token. The
   common case — nothing tried yet, the template message first — commits the in-flight attempts of all its template
   messages together before the first call, sends them one after the other and records the answers in bulk. A run
   killed midway leaves them all in flight, sent or not; the next run resends them with the same `client_msg_id`,
   which delivers each once (3.). Subscribe messages (no such key) and SMS keep the row-by-row path of 1.–5. A
   run stops starting sends after its time budget (far inside the job's RQ timeout, itself inside the lease) and
   releases the rest.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, case, delete, insert, or_, select, update

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
    return _deliver_claimed(notification_id, token, retries_left)


def _deliver_claimed(notification_id: int, token: str, retries_left: int, skip: frozenset = frozenset()) -> str:
    """Delivers a notification this run has claimed with `token`, one channel after the other; `skip` names channels
    not to try again in this run."""
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
    refused = {a.channel for a in history if a.outcome == AttemptOutcome.REFUSED} | skip
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
    attempt.detail = _detail(result)
    attempt.finished_at = utcnow() if outcome != AttemptOutcome.IN_FLIGHT else None


def _detail(result: channels.Outcome) -> str | None:
    detail = result.detail if isinstance(result.code, int) or result.code is None else f"{result.code}: {result.detail}"
    return (detail or None) and detail[:255]


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


# ---- a chunk at once ----------------------------------------------------------------------------------------


@dataclass
class ChunkResult:
    """What one run over a chunk did: outcomes counted (channel names, "inbox", "skipped"), ids released
    for a retry with backoff (a transient answer) and ids released unstarted (the run's time budget was spent)."""

    done: Counter = field(default_factory=Counter)
    retry: list[int] = field(default_factory=list)
    leftover: list[int] = field(default_factory=list)


def deliver_chunk(ids: list[int], retries_left: int = 0, budget_s: float | None = None) -> ChunkResult:
    """Delivers many notifications with the guarantees of `deliver` (see 6. above), at a few statements per chunk:
    one UPDATE claims them all; the common case — no earlier attempt, the template message first — commits its
    in-flight attempts together before any call out, sends one after the other through the adapter (one HTTP
    session per process, kept alive where the server allows) and records the answers in bulk. Anything else (a
    subscribe credit to spend, SMS, an earlier attempt, a refusal to fall through) goes through `deliver`'s path,
    row by row. Commits. A transient answer stops the fast sends (the rest is likely to fail alike): those rows
    are released for the retry; rows not started within `budget_s` are released as `leftover`."""
    result = ChunkResult()
    deadline = None if budget_s is None else time.monotonic() + budget_s
    token = secrets.token_hex(16)
    rows = _claim_many(ids, token)
    if len(set(ids)) > len(rows):
        result.done["skipped"] = len(set(ids)) - len(rows)
    fast, inbox_only, slow = _split(rows)
    if fast:
        db.session.execute(insert(DeliveryAttempt), [_in_flight(row, token) for row, _reach in fast])
    if inbox_only:
        _finish_many([r.id for r in inbox_only], token, NotificationStatus.SENT, Channel.INBOX)
        result.done[Channel.INBOX.value] += len(inbox_only)
    db.session.commit()  # the claims and the in-flight attempts, before any call out
    refused, transient = _send_fast(fast, token, retries_left, deadline, result)
    for notification_id in slow + refused + transient:
        if deadline is not None and time.monotonic() > deadline:
            result.leftover.append(notification_id)
            continue
        skip = frozenset({Channel.TEMPLATE}) if notification_id in transient else frozenset()
        try:
            result.done[_deliver_claimed(notification_id, token, retries_left, skip)] += 1
        except TransientDelivery:
            result.retry.append(notification_id)
    _release_many(result.leftover, token)
    return result


def _claim_many(ids: list[int], token: str) -> list[Notification]:
    """Claims every id that is claimable (as `claim` does, in one UPDATE, not committed); returns the claimed rows,
    detached from the session so that the commits to come do not expire (and reload) them one by one."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["SETTINGS"].notify_claim_lease_s)
    db.session.execute(
        update(Notification)
        .where(
            Notification.id.in_(ids),
            or_(
                Notification.status == NotificationStatus.PENDING,
                and_(Notification.status == NotificationStatus.SENDING, Notification.claimed_at < now - lease),
            ),
        )
        .values(status=NotificationStatus.SENDING, claim_token=token, claimed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    stmt = (
        select(Notification)
        .where(Notification.id.in_(ids), Notification.claim_token == token)
        .order_by(Notification.id)
        .execution_options(populate_existing=True)
    )
    rows = list(db.session.scalars(stmt))
    for row in rows:
        db.session.expunge(row)
    return rows


def _split(rows: list[Notification]) -> tuple[list, list, list[int]]:
    """([(row, reach)] to send as template messages at once, rows only the inbox can carry, ids to deliver row by
    row)."""
    if not rows:
        return [], [], []
    s = current_app.config["SETTINGS"]
    ids = [row.id for row in rows]
    tried = set(
        db.session.scalars(select(DeliveryAttempt.notification_id).where(DeliveryAttempt.notification_id.in_(ids)))
    )
    reach = channels.reach_of_many([row.member_id for row in rows])
    credited = (
        channels.members_with_credit(list(reach), s.notify_subscribe_template) if s.notify_subscribe_template else set()
    )
    fast, inbox_only, slow = [], [], []
    for row in rows:
        row_reach = reach.get(row.member_id) or channels.Reach(None, None, None)
        plan = channels.possible_channels(row, row_reach)
        if row.id in tried or (Channel.SUBSCRIBE in plan and row.member_id in credited):
            slow.append(row.id)
            continue
        plan = [c for c in plan if c != Channel.SUBSCRIBE]  # no credit: it would be skipped anyway
        if not plan:
            inbox_only.append(row)
        elif plan[0] == Channel.TEMPLATE:
            fast.append((row, row_reach))
        else:
            slow.append(row.id)
    return fast, inbox_only, slow


def _in_flight(row: Notification, token: str) -> dict:
    template = current_app.config["SETTINGS"].notify_oa_template
    return {
        "notification_id": row.id,
        "channel": Channel.TEMPLATE,
        "outcome": AttemptOutcome.IN_FLIGHT,
        "claim_token": token,
        "template_id": template,
        "credit_spent": False,
        "cost_fen": 0,
        "started_at": utcnow(),
    }


def _send_fast(fast, token, retries_left, deadline, result) -> tuple[list[int], list[int]]:
    """Sends the template messages of `fast` one after the other and records the answers in bulk (committed).
    Returns (ids refused, ids whose transient answer falls through on this last retry) for the row-by-row path."""
    answers, unsent = [], []
    for n, (row, reach) in enumerate(fast):
        if deadline is not None and time.monotonic() > deadline:
            unsent = fast[n:]
            break
        outcome = channels.call(Channel.TEMPLATE, row, reach)
        answers.append((row.id, outcome))
        if not outcome.delivered and not outcome.permanent and (retries_left > 0 or outcome.ambiguous):
            unsent = fast[n + 1 :]  # busy, rate-limited or unreachable: the rest waits for the retry's backoff
            break
    now = utcnow()
    _record_many(token, [(nid, _outcome_of(outcome), outcome) for nid, outcome in answers], now)
    delivered = [nid for nid, outcome in answers if outcome.delivered]
    _finish_many(delivered, token, NotificationStatus.SENT, Channel.TEMPLATE, now)
    if delivered:
        result.done[Channel.TEMPLATE.value] += len(delivered)
    refused = [nid for nid, outcome in answers if outcome.permanent]
    again = [nid for nid, outcome in answers if not outcome.delivered and not outcome.permanent]
    unsent_ids = [row.id for row, _reach in unsent]
    if unsent_ids:  # never called: their in-flight attempts did not happen
        db.session.execute(
            delete(DeliveryAttempt)
            .where(
                DeliveryAttempt.notification_id.in_(unsent_ids),
                DeliveryAttempt.claim_token == token,
                DeliveryAttempt.outcome == AttemptOutcome.IN_FLIGHT,
            )
            .execution_options(synchronize_session=False)
        )
    stopped = bool(again) and (retries_left > 0 or any(o.ambiguous for _, o in answers))
    if stopped:
        result.retry += again + unsent_ids
        _release_many(again + unsent_ids, token)
        return refused, []
    result.leftover += unsent_ids  # the budget is spent (or nothing is left)
    db.session.commit()
    return refused, again


def _outcome_of(outcome: channels.Outcome) -> AttemptOutcome:
    if outcome.delivered:
        return AttemptOutcome.DELIVERED
    if outcome.ambiguous:
        return AttemptOutcome.IN_FLIGHT
    return AttemptOutcome.REFUSED if outcome.permanent else AttemptOutcome.TRANSIENT


def _record_many(token: str, answers: list[tuple[int, AttemptOutcome, channels.Outcome]], now) -> None:
    """`_record` for many in-flight attempts of this run: one UPDATE for the delivered ones, one executemany for the
    (few) others."""
    delivered = {nid: result.msgid for nid, outcome, result in answers if outcome == AttemptOutcome.DELIVERED}
    if delivered:
        db.session.execute(
            update(DeliveryAttempt)
            .where(
                DeliveryAttempt.notification_id.in_(delivered),
                DeliveryAttempt.claim_token == token,
                DeliveryAttempt.outcome == AttemptOutcome.IN_FLIGHT,
            )
            .values(
                outcome=AttemptOutcome.DELIVERED,
                finished_at=now,
                provider_msgid=case(delivered, value=DeliveryAttempt.notification_id, else_=None),
            )
            .execution_options(synchronize_session=False)
        )
    others = [answer for answer in answers if answer[1] != AttemptOutcome.DELIVERED]
    if not others:
        return
    t = DeliveryAttempt.__table__
    stmt = (
        t.update()
        .where(
            t.c.notification_id == bindparam("b_id"),
            t.c.claim_token == token,
            t.c.outcome == AttemptOutcome.IN_FLIGHT,
        )
        .values(
            outcome=bindparam("b_outcome"),
            upstream_code=bindparam("b_code"),
            detail=bindparam("b_detail"),
            finished_at=bindparam("b_finished"),
        )
    )
    params = [
        {
            "b_id": nid,
            "b_outcome": outcome,
            "b_code": result.code if isinstance(result.code, int) else None,
            "b_detail": _detail(result),
            "b_finished": None if outcome == AttemptOutcome.IN_FLIGHT else now,
        }
        for nid, outcome, result in others
    ]
    db.session.execute(stmt, params)


def _finish_many(ids: list[int], token: str, status: NotificationStatus, channel: Channel, now=None) -> None:
    """`_finish` for many rows of this run, in one UPDATE (not committed)."""
    if not ids:
        return
    now = now or utcnow()
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.claim_token == token)
        .values(status=status, channel=channel, sent_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _release_many(ids: list[int], token: str) -> None:
    """`_release` for many rows of this run: pending again, committed."""
    if ids:
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.claim_token == token)
            .values(status=NotificationStatus.PENDING, claim_token=None, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


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
