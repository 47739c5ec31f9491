"""Jobs of the learning domain: moving credited study time from Redis to the database."""

from __future__ import annotations

import time
from datetime import timedelta

from rq import Queue, Retry
from sqlalchemy.exc import IntegrityError

from models import db
from tasks import job, redis_client


@job(queue="default", timeout=900, retry=Retry(max=3, interval=[10, 30, 60]))
def flush_study_time() -> int:
    """Applies pending study time (services/learning_flush.py): unfinished batches first, then what is pending now.
    Commits once per chunk; safe to run twice or concurrently (each chunk is applied once). Returns chunks applied."""
    from services import learning_flush as flush

    applied = 0
    for batch in flush.batches_to_apply():
        for chunk in flush.chunks(batch):
            try:
                applied += flush.apply_chunk(chunk)
                db.session.commit()
            except IntegrityError:
                db.session.rollback()  # a concurrent flush applied this chunk first
        flush.release(batch)
    return applied


def schedule_flush(delay_s: int) -> None:
    """Queues one flush `delay_s` from now (the worker's scheduler starts it); the heartbeat that first credits time
    in a window calls this, so there is one flush per window whatever the traffic."""
    slot = int(time.time()) // max(1, delay_s)
    opts = flush_study_time.rq_options
    Queue(opts["queue"], connection=redis_client()).enqueue_in(
        timedelta(seconds=delay_s),
        flush_study_time,
        job_id=f"learning-flush-{slot}",
        job_timeout=opts["timeout"],
        retry=opts["retry"],
        result_ttl=3600,
        failure_ttl=7 * 86400,
    )
