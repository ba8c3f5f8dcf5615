"""The RQ worker that `manage.py jobs_worker` runs when TASKS_BACKEND=rq.

RQ's own worker listens on a Redis channel for commands in a thread that wakes once a minute;
at shutdown it waits for that thread, so a worker asked to stop (SIGTERM: `docker compose
stop`, a deploy) could take up to a minute to leave, longer than the usual grace period before
a SIGKILL. Ours wakes every second, so a stop takes about a second once the job in hand ends.
"""

from __future__ import annotations

from rq import Worker as RQWorker

#: How long the command channel's thread may block before it looks whether to stop (seconds).
CHANNEL_WAKE_SECONDS = 1.0


class Worker(RQWorker):
    def subscribe(self) -> None:
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]  # RQ types it None
            sleep_time=CHANNEL_WAKE_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )
