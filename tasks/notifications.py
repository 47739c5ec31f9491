"""Jobs that send notifications: one send job per chunk of notifications, and a sweep for notifications whose job
was lost.

The exactly-once reasoning is in services/notify_delivery.py. RQ's part: a transient failure raises, so RQ retries the
chunk with backoff (the worker runs with its scheduler), and the retry's claim takes only the rows released for it;
a worker killed mid-job leaves its job "started", and RQ's cleanup re-runs it (it has retries left) — or, sooner,
`sweep_notifications` enqueues it again once the claims' lease is over. Either way the claims decide which run sends.
"""

from __future__ import annotations

from flask import current_app
from rq import Queue, Retry, get_current_job

from services.settings import NOTIFY_SEND_TIMEOUT_S
from tasks import enqueue, job, redis_client

QUEUE = "default"
RETRY_INTERVALS = [10, 60, 300, 900]  # seconds; the last retry falls through to the next channel instead
CHUNK_SIZE = 100  # notifications per send job: a few statements and one RQ job for each chunk, not for each message
# A run stops starting sends after this long, far inside the job's RQ timeout (itself below the claims' lease): what
# is left is released and queued again as a new job.
SEND_BUDGET_S = NOTIFY_SEND_TIMEOUT_S // 2
ENQUEUE_BATCH = 500  # jobs per pipelined enqueue


def _retries_left() -> tuple[bool, int]:
    current = get_current_job()
    return current is not None, (current.retries_left or 0) if current is not None else 0


@job(queue=QUEUE, timeout=NOTIFY_SEND_TIMEOUT_S, retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS))
def send_notifications(notification_ids: list[int]) -> dict:
    """Delivers a chunk of notifications (claims them, calls out, records attempts, commits; see
    notify_delivery.deliver_chunk); queues what the time budget left as a new job. Safe to run twice. Returns the
    outcomes counted."""
    from services.notify_delivery import TransientDelivery, deliver_chunk

    on_rq, retries_left = _retries_left()
    result = deliver_chunk(notification_ids, retries_left, budget_s=SEND_BUDGET_S if on_rq else None)
    if result.leftover:
        enqueue_send_jobs(result.leftover)
    if result.retry:
        if on_rq:
            raise TransientDelivery(f"{len(result.retry)} of {len(notification_ids)} notifications to retry")
        # In-process there is no retry: the rows stay pending (or their answer in flight) for the next sweep.
        current_app.logger.warning("%s notifications left for the next sweep", len(result.retry))
    return dict(result.done)


@job(queue=QUEUE, timeout=NOTIFY_SEND_TIMEOUT_S, retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS))
def send_notification(notification_id: int) -> str:
    """Delivers one notification (claims it, calls out, records attempts, commits). Safe to run twice. Jobs are
    queued by chunk now (`send_notifications`); this one still runs jobs queued before."""
    from services.notify_delivery import TransientDelivery, deliver

    on_rq, retries_left = _retries_left()
    try:
        return deliver(notification_id, retries_left)
    except TransientDelivery as exc:
        if on_rq:
            raise  # RQ retries later
        current_app.logger.warning("%s; left for the next sweep", exc)
        return "deferred"


@job(queue=QUEUE, timeout=300)
def sweep_notifications() -> int:
    """Enqueues send jobs for every notification nobody works on (see notify_delivery.stuck_notification_ids).
    Meant for the periodic schedule, every few minutes. Returns how many notifications were enqueued."""
    from services.notify_delivery import stuck_notification_ids

    ids = stuck_notification_ids()
    enqueue_send_jobs(ids)
    return len(ids)


def enqueue_send_jobs(ids: list[int], chunk_size: int | None = None) -> None:
    """One send job per chunk of ids: queued in pipelined batches on RQ, or run here one after another without
    Redis."""
    size = chunk_size or CHUNK_SIZE
    chunks = [ids[start : start + size] for start in range(0, len(ids), size)]
    conn = redis_client()
    if conn is None:
        for chunk in chunks:
            enqueue(send_notifications, chunk)
        return
    opts = send_notifications.rq_options
    queue = Queue(opts["queue"], connection=conn)
    for start in range(0, len(chunks), ENQUEUE_BATCH):
        jobs = [
            Queue.prepare_data(
                send_notifications,
                args=(chunk,),
                timeout=opts["timeout"],
                retry=opts["retry"],
                result_ttl=3600,
                failure_ttl=7 * 86400,
            )
            for chunk in chunks[start : start + ENQUEUE_BATCH]
        ]
        queue.enqueue_many(jobs)
