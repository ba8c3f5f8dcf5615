"""Background jobs: exports to a file and large imports, run by a worker beside the web processes.

- `services`: start a job (the `Job` row and its task in one transaction on the database
  backend; after the commit on Redis);
- `runner`: what a worker does with a job: claim it under a lease, renew the lease while it
  works, write the file under a temporary name and move it into place, then mark it done in
  the same update that names the file; retry or fail it with the reason;
- `work`: the export and the import themselves (the existing `exports` and `imports` code);
- `maintenance`: jobs whose worker died (the lease ran out) and expired files;
- `tasks`: the task the queue runs (`run_job(job_id)`), on Django's task framework;
- `selectors`: who sees a job (the member who asked, while they may still do it, and owners).

The `Job` row is the truth and the task only a wake-up call: running a task twice, or a task for
a job that is already done, does nothing.
"""
