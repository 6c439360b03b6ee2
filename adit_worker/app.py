"""The worker daemon: a procrastinate worker running transfer tasks, plus crash recovery.

Tasks run in threads (pynetdicom and pydicom block); the async wrapper watches for abort
requests and worker shutdown and tells the thread through a CancelToken.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import socket

import procrastinate
from procrastinate import JobContext
from procrastinate.job_context import AbortReason

from adit_core.db.database import Database
from adit_core.jobs import transitions
from adit_core.jobs.queue import QUEUE, TASK_NAME
from adit_worker.cancel import CancelToken, StopReason
from adit_worker.run_task import run_task
from adit_worker.transfer import RunnerOptions

log = logging.getLogger("adit.worker")

# Workers beat every HEARTBEAT seconds; one silent for 3 beats is considered dead and its
# running tasks are re-queued by any other worker, which looks every 1.5 beats. With the
# default 10 s a dead worker's tasks run again within 45 s.
# ADIT_WORKER_HEARTBEAT_SECONDS changes it (the tests use 1 s).
DEFAULT_HEARTBEAT_SECONDS = 10.0


def heartbeat_seconds() -> float:
    return float(os.environ.get("ADIT_WORKER_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS))


def build_app(
    db: Database, executor: concurrent.futures.Executor, runner_options: RunnerOptions
) -> procrastinate.App:
    """The procrastinate app whose one task runs ours in `executor`'s threads."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=db.url, min_size=1, max_size=4)
    )
    options = runner_options

    @app.task(name=TASK_NAME, queue=QUEUE, pass_context=True)
    async def process_task(context: JobContext, task_id: int) -> None:
        token = CancelToken()
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(executor, lambda: run_task(db, task_id, token, **options))
        try:
            while True:
                done, _ = await asyncio.wait({future}, timeout=0.25)
                if done:
                    future.result()
                    return
                if context.should_abort():
                    token.stop(_reason(context))
        except asyncio.CancelledError:
            token.stop(_reason(context))
            # Let the thread record CANCELED (or re-queue on shutdown) before we go.
            await asyncio.shield(future)
            raise

    return app


def _reason(context: JobContext) -> StopReason:
    return (
        StopReason.SHUTDOWN if context.abort_reason() == AbortReason.SHUTDOWN else StopReason.USER
    )


async def recover_stalled(app: procrastinate.App, db: Database, stalled_after: float) -> int:
    """Re-queue tasks whose worker died (SIGKILL, OOM, lost host)."""
    stalled = list(
        await app.job_manager.get_stalled_jobs(
            task_name=TASK_NAME, seconds_since_heartbeat=stalled_after
        )
    )
    recovered = 0
    for job in stalled:
        assert job.id is not None
        await app.job_manager.retry_job(job)
        raw_id = job.task_kwargs.get("task_id")
        task_id = raw_id if isinstance(raw_id, int) else 0
        with db.session() as session:
            transitions.requeue_stalled(
                session, task_id, f"worker {job.worker_id} stopped; re-queued"
            )
        recovered += 1
        log.warning(
            "re-queued a task of a dead worker",
            extra={"task_id": task_id, "procrastinate_job": job.id, "worker": job.worker_id},
        )
    return recovered


async def _recovery_loop(app: procrastinate.App, db: Database, heartbeat: float) -> None:
    while True:
        try:
            await recover_stalled(app, db, stalled_after=3 * heartbeat)
        except Exception:
            log.exception("stalled task recovery failed; will try again")
        await asyncio.sleep(1.5 * heartbeat)


async def run_worker(
    db: Database,
    *,
    concurrency: int = 1,
    burst: bool = False,
    shutdown_timeout: float = 30.0,
    name: str | None = None,
    runner_options: RunnerOptions | None = None,
    install_signal_handlers: bool = True,
) -> None:
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, concurrency), thread_name_prefix="adit-task"
    )
    app = build_app(db, executor, runner_options or RunnerOptions())
    worker_name = name or f"{socket.gethostname()}-{os.getpid()}"
    heartbeat = heartbeat_seconds()
    async with app.open_async():
        recovery = asyncio.create_task(_recovery_loop(app, db, heartbeat))
        log.info(
            "worker started",
            extra={"worker": worker_name, "concurrency": concurrency, "burst": burst},
        )
        try:
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                wait=not burst,
                name=worker_name,
                shutdown_graceful_timeout=shutdown_timeout,
                install_signal_handlers=install_signal_handlers,
                update_heartbeat_interval=heartbeat,
                stalled_worker_timeout=3 * heartbeat,
                delete_jobs="successful",
            )
        finally:
            recovery.cancel()
            executor.shutdown(wait=True)
            log.info("worker stopped", extra={"worker": worker_name})
