"""The one task the queue runs: `run_job(job_id)`. Which queue (database or Redis) is settings
(TASKS_BACKEND), not code."""

from __future__ import annotations

from django_tasks import task


@task()
def run_job(job_id: str) -> str:
    """Run the job if it is still waiting; answers what became of it (for the task's record)."""
    from .runner import run

    return run(job_id)
