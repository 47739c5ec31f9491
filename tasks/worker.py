"""`flask --app app worker`: an RQ worker that runs every job inside this app's context."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import Worker

from tasks import QUEUES, redis_client


@click.command("worker")
@click.option("--burst", is_flag=True, help="处理完队列中的任务后退出")
@click.argument("queues", nargs=-1)
@with_appcontext
def worker_command(burst: bool, queues: tuple[str, ...]) -> None:
    """Runs an RQ worker for the given queues (default: all)."""
    conn = redis_client()
    if conn is None:
        raise click.ClickException("REDIS_URL 未设置：没有 Redis 时任务在进程内直接执行，无需 worker")
    current_app.logger.info("worker on %s", ", ".join(queues or QUEUES))
    Worker(list(queues or QUEUES), connection=conn).work(burst=burst, with_scheduler=True)
