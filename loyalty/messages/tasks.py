"""The messages' tasks: one mail sent after the transaction that queued it commits, and the periodic sweep."""

from celery import shared_task
from django.utils import timezone

from loyalty.jobs.registry import job_task
from loyalty.messages.jobs import deliver_messages
from loyalty.messages.services import message_deliver

deliver_messages_task = job_task(deliver_messages, task_name="loyalty.tasks.deliver_messages")


@shared_task(name="loyalty.tasks.deliver_message", acks_late=True, reject_on_worker_lost=True)
def deliver_message(message_id: int) -> str | None:
    """Send the mail `message_id` if it is still queued and due (a duplicate task finds it sent and does nothing)."""
    return message_deliver(message_id=message_id, now=timezone.now())
