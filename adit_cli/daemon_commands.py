"""`adit worker` and `adit receiver`: the headless daemons."""

from __future__ import annotations

import asyncio
import os
import signal

import click

from adit_cli.context import CliContext, pass_context
from adit_cli.options import Seconds
from adit_core import limits


@click.command()
@click.option("--concurrency", "-c", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Tasks run at the same time.")  # fmt: skip
@click.option("--burst", is_flag=True, help="Exit once the queue is empty.")
@click.option("--shutdown-timeout", default=30.0, show_default=True,
              type=Seconds(limits.SHUTDOWN_SECONDS_MAX),
              help="Seconds running tasks get to finish on SIGTERM.")  # fmt: skip
@click.option("--store-associations", default=2, show_default=True, type=click.IntRange(1, 16),
              help="Parallel C-STORE associations (or STOW-RS connections) per task.")  # fmt: skip
@click.option("--pseudonymize-processes", default=None, type=click.IntRange(0, 64),
              help="Pseudonymizing processes (default: one per CPU; 0: none).")  # fmt: skip
@pass_context
def worker(
    state: CliContext,
    concurrency: int,
    burst: bool,
    shutdown_timeout: float,
    store_associations: int,
    pseudonymize_processes: int | None,
) -> None:
    """Run a worker that executes queued tasks (any number, on any host sharing the DB)."""
    from adit_core.pseudonymize_pool import PseudonymizerPool
    from adit_worker.app import run_worker
    from adit_worker.receiver_link import ReceiverLink

    with state.session() as session:
        link = ReceiverLink.from_settings(state.db, session)
    processes = (os.cpu_count() or 1) if pseudonymize_processes is None else pseudonymize_processes
    pool = PseudonymizerPool(processes) if processes > 0 else None
    if pool is not None:
        pool.warm()  # spawn and import now, not in the first task's time
    try:
        asyncio.run(
            run_worker(
                state.db,
                concurrency=concurrency,
                burst=burst,
                shutdown_timeout=shutdown_timeout,
                runner_options={
                    "store_associations": store_associations,
                    "move_destination": link,
                    "pseudonymizer_pool": pool,
                },
            )
        )
    finally:
        if pool is not None:
            pool.close()


@click.command()
@click.option("--ae-title", help="Our AE title (default: the receiver_ae_title setting, ADIT).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: setting, 11112).")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@pass_context
def receiver(state: CliContext, ae_title: str | None, port: int | None, host: str) -> None:
    """Run the C-STORE SCP that receives what C-MOVE sends."""
    from adit_core import settings
    from adit_receiver.server import Receiver

    with state.connection() as conn:
        current = settings.load(conn)
        ae_title = ae_title or current.receiver_ae_title
        port = port or current.receiver_port
    server = Receiver(state.db.url, ae_title=ae_title, port=port, host=host)
    server.start()
    click.echo(f"receiver {ae_title} listening on {host}:{server.port}", err=True)

    def stop(_signum: int, _frame: object) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, stop)
    server.wait()
