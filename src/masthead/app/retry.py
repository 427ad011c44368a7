"""Retrying a job's failed steps: `masthead jobs retry JOB --reason R` and `POST /api/v1/jobs/{id}/retry`.

A step fails for good when its attempts run out or its error cannot pass by waiting (a publisher
that refused the post, a recipe step whose agent kept answering nonsense). Once the operator has
fixed the cause (a setting, a key, a project file), the job should go on from where it stopped,
not start over with a new signal that would draft, pay for and publish everything again.

This reuses the mechanism a reopened rejection uses (`TaskReopened`, `JobReopened`): the failed
steps, and the steps skipped because the job could not go on, are planned again as if they had
never run, with no attempts used; the scheduler wakes each when what it needs is done and skips
again whatever still cannot run. Steps that succeeded keep their results, and their recorded
model calls are reused, so nothing is paid twice; a publication that was delivered is never sent
again (the outbox answers from its record), and one that failed was refused by the service, so
sending it again cannot post twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from masthead.app.people import principal_of
from masthead.app.permissions import Principal, authorize
from masthead.app.workspace import Workspace
from masthead.errors import InputError, NotFoundError, StateError
from masthead.events.model import Meta, utc_now
from masthead.runtime.jobs import reopen_events, schedule

MAX_REASON_CHARS = 2000


@dataclass(frozen=True)
class Retried:
    job_id: str
    failed: list[str]  # the failed steps planned again
    skipped: list[str]  # the steps skipped after the failure, planned again


def retry_job(ws: Workspace, job_id: str, *, operator: str | Principal, reason: str) -> Retried:
    """Plan a job's failed and skipped steps again; refuse (changing nothing) if none failed."""
    reason = reason.strip()
    if not reason:
        raise InputError("the reason is empty", field="reason", fix='say what you fixed, e.g. --reason "set the X token"')
    if len(reason) > MAX_REASON_CHARS:
        raise InputError(f"the reason has {len(reason)} characters", field="reason",
                         fix=f"keep it under {MAX_REASON_CHARS} characters")
    who = principal_of(ws, operator)
    with ws.store.transaction() as tx:
        jobs = tx.query("SELECT id, project, status FROM jobs WHERE id = ?", (job_id,))
        if not jobs:
            raise NotFoundError(f"job {job_id!r} does not exist", field="job", fix="see `masthead jobs list` for job ids")
        job = jobs[0]
        authorize(who, "retry", project=job["project"])
        tasks = tx.query("SELECT id, version, status, channel FROM tasks WHERE job_id = ? AND status IN ('failed', 'skipped')"
                         " ORDER BY created_seq", (job_id,))
        failed = [t for t in tasks if t["status"] == "failed"]
        if not failed:
            raise StateError(f"job {job_id} ({job['status']}) has no failed step to retry",
                             fix=f"see what it waits for with `masthead jobs show {job_id}`")
        for channel in sorted({t["channel"] for t in tasks if t["channel"]}):
            authorize(who, "retry", project=job["project"], channel=channel)  # a person limited to channels
        meta = Meta(actor=who.actor, at=utc_now(), correlation_id=job_id)
        why = f"retried by {who.name}: {reason}"
        tx.append(reopen_events(tx, job_id, tasks, why), meta)
        schedule(tx, ws.store, job_id, meta, default_max_active=ws.config.runtime.max_active_jobs_per_project)
    return Retried(job_id=job_id, failed=[t["id"] for t in failed],
                   skipped=[t["id"] for t in tasks if t["status"] == "skipped"])
