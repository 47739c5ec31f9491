"""Background work. With REDIS_URL set, jobs go to RQ; without it they run in-process at once.

Views commit first and enqueue after (a job never sees uncommitted rows). Job functions take ids, declare their
queue, timeout and retry with `@job`, are safe to run twice, and let exceptions propagate so RQ records failure.
"""

from __future__ import annotations

import os
from functools import wraps

from flask import current_app
from redis import Redis
from rq import Queue, Retry, get_current_job

from models import db

QUEUES = ("default", "exports")


def init_tasks(app) -> None:
    url = app.config["SETTINGS"].redis_url
    app.extensions["redis"] = Redis.from_url(url) if url else None


def redis_client() -> Redis | None:
    return current_app.extensions.get("redis")


def job(*, queue: str = "default", timeout: int = 600, retry: Retry | None = None):
    """Declares how a function runs as an RQ job."""

    def decorate(fn):
        @wraps(fn)
        def run(*args, **kwargs):
            if get_current_job() is None:
                return fn(*args, **kwargs)  # in-process: the caller owns the session
            _own_pool()
            try:
                return fn(*args, **kwargs)
            finally:
                db.session.remove()

        run.rq_options = {"queue": queue, "timeout": timeout, "retry": retry}
        return run

    return decorate


_pool_pid: int | None = None


def _own_pool() -> None:
    """In a forked RQ work-horse, never reuse the parent's pooled connections: the first job of each process
    starts a pool of its own (a forking worker's horse is a new process per job; a non-forking worker keeps its
    pool from job to job)."""
    global _pool_pid
    if _pool_pid != os.getpid():
        db.engine.dispose(close=False)
        _pool_pid = os.getpid()


def enqueue(fn, *args, job_id: str | None = None):
    """Runs `fn(*args)` now (no Redis) or queues it on RQ. Call only after the request's commit."""
    conn = redis_client()
    if conn is None:
        fn(*args)
        return None
    opts = fn.rq_options
    queue = Queue(opts["queue"], connection=conn)
    return queue.enqueue(
        fn,
        *args,
        job_id=job_id,
        job_timeout=opts["timeout"],
        retry=opts["retry"],
        result_ttl=86400,
        failure_ttl=7 * 86400,
    )
