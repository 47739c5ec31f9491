"""Jobs that send notifications: one send job per notification, and a sweep for notifications whose job was lost.

The exactly-once reasoning is in services/notify_delivery.py. RQ's part: a transient failure raises, so RQ retries it
with backoff (the worker runs with its scheduler); a worker killed mid-job leaves its job "started", and RQ's cleanup
re-runs it (it has retries left) — or, sooner, `sweep_notifications` enqueues it again once the claim's lease is
over. Either way the claim decides which run sends.
"""

from __future__ import annotations

from flask import current_app
from rq import Queue, Retry, get_current_job

from services.settings import NOTIFY_SEND_TIMEOUT_S
from tasks import enqueue, job, redis_client

QUEUE = "default"
RETRY_INTERVALS = [10, 60, 300, 900]  # seconds; the last retry falls through to the next channel instead
ENQUEUE_BATCH = 1000


@job(queue=QUEUE, timeout=NOTIFY_SEND_TIMEOUT_S, retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS))
def send_notification(notification_id: int) -> str:
    """Delivers one notification (claims it, calls out, records attempts, commits). Safe to run twice."""
    from services.notify_delivery import TransientDelivery, deliver

    current = get_current_job()
    retries_left = (current.retries_left or 0) if current is not None else 0
    try:
        return deliver(notification_id, retries_left)
    except TransientDelivery as exc:
        if current is not None:
            raise  # RQ retries later
        # In-process there is no retry: the row stays pending (or its answer in flight) for the next sweep.
        current_app.logger.warning("%s; left for the next sweep", exc)
        return "deferred"


@job(queue=QUEUE, timeout=300)
def sweep_notifications() -> int:
    """Enqueues a send job for every notification nobody works on (see notify_delivery.stuck_notification_ids).
    Meant for the periodic schedule, every few minutes. Returns how many were enqueued."""
    from services.notify_delivery import stuck_notification_ids

    ids = stuck_notification_ids()
    enqueue_send_jobs(ids)
    return len(ids)


def enqueue_send_jobs(ids: list[int]) -> None:
    """One send job per id: queued in pipelined batches on RQ, or run here one after another without Redis."""
    conn = redis_client()
    if conn is None:
        for notification_id in ids:
            enqueue(send_notification, notification_id)
        return
    opts = send_notification.rq_options
    queue = Queue(opts["queue"], connection=conn)
    for start in range(0, len(ids), ENQUEUE_BATCH):
        jobs = [
            Queue.prepare_data(
                send_notification,
                args=(notification_id,),
                timeout=opts["timeout"],
                retry=opts["retry"],
                result_ttl=3600,
                failure_ttl=7 * 86400,
            )
            for notification_id in ids[start : start + ENQUEUE_BATCH]
        ]
        queue.enqueue_many(jobs)
