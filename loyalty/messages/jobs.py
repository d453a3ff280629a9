"""`deliver_messages`: the sweep that sends what is due, mails whose task was lost (a broker that was down,
a worker that died) and the retries of failed attempts. Each mail is locked while it is sent (SKIP LOCKED), so
several workers share a sweep and none sends a mail twice."""

import datetime as dt

from loyalty.jobs.runner import JobRun
from loyalty.messages.services import message_deliver, messages_due

SWEEP_BATCH = 500


def deliver_messages(*, now: dt.datetime, chunk_size: int = SWEEP_BATCH) -> JobRun:
    run = JobRun("deliver_messages", unit="mails")
    for message_id in messages_due(now=now, limit=chunk_size):
        status = message_deliver(message_id=message_id, now=now)
        if status is not None:
            run.accounts += 1
            run.add(**{"sent" if status == "sent" else "not_sent": 1})
    run.chunks = int(run.accounts > 0)
    return run
