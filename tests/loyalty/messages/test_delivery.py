"""The mail outbox: a message is queued in its cause's transaction, sent after commit, once per dedupe key,
retried with backoff when the mail server refuses, and a secret it carries is never kept once sent."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection, transaction

from loyalty.messages.jobs import deliver_messages
from loyalty.messages.models import Message
from loyalty.messages.services import RETRY_DELAYS, SECRET_MARK, message_deliver, message_queue
from tests.factories import MemberFactory

T0 = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def member(program):
    return MemberFactory(email="ada@example.com", first_name="Ada")


def queue(member, key="k1", **extra) -> Message | None:
    return message_queue(
        member=member, kind="sign_in", dedupe_key=key, subject="Your link", text=f"Hi Ada, {SECRET_MARK}",
        now=T0, **extra,
    )  # fmt: skip


@pytest.fixture
def refusing_mail_server(monkeypatch):
    def refuse(self, messages):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    return monkeypatch


def test_a_queued_mail_is_sent_after_its_transaction_commits(member, django_capture_on_commit_callbacks, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = queue(member)
    assert mail.outbox == [] and len(callbacks) == 1

    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()

    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert Message.objects.get(pk=message.pk).status == Message.Status.SENT


def test_a_rolled_back_cause_sends_nothing(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            queue(member)
            raise RuntimeError("the purchase failed")

    assert callbacks == [] and Message.objects.count() == 0


def test_one_dedupe_key_queues_one_mail(member):
    first = queue(member, key="welcome:1")
    again = queue(member, key="welcome:1")

    assert first is not None and again is None
    deliver_messages(now=T0)
    assert len(mail.outbox) == 1


def test_the_secret_goes_into_the_mail_and_is_not_kept(member):
    message = queue(member, secret="https://x.example/portal/login/TOKEN")

    deliver_messages(now=T0)

    assert mail.outbox[0].body == "Hi Ada, https://x.example/portal/login/TOKEN"
    stored = Message.objects.get(pk=message.pk)
    assert stored.secret == "" and "TOKEN" not in stored.body_text


def test_a_refused_mail_is_retried_with_backoff_then_failed_and_its_secret_dropped(member, refusing_mail_server):
    message = queue(member, secret="https://x.example/portal/login/TOKEN")
    when = T0
    for delay in RETRY_DELAYS:
        assert message_deliver(message_id=message.pk, now=when) == Message.Status.QUEUED
        stored = Message.objects.get(pk=message.pk)
        assert stored.next_attempt_at == when + delay and stored.secret
        assert message_deliver(message_id=message.pk, now=when + delay - dt.timedelta(seconds=1)) is None
        when += delay

    assert message_deliver(message_id=message.pk, now=when) == Message.Status.FAILED
    stored = Message.objects.get(pk=message.pk)
    assert stored.attempts == len(RETRY_DELAYS) + 1 and stored.secret == ""
    assert "mail server down" in stored.last_error


def test_the_sweep_sends_what_is_due_and_leaves_what_is_not(member, refusing_mail_server):
    queue(member, key="a")
    deliver_messages(now=T0)  # refused: due again a minute later
    refusing_mail_server.undo()
    queue(member, key="b")

    early = deliver_messages(now=T0 + dt.timedelta(seconds=30))
    late = deliver_messages(now=T0 + RETRY_DELAYS[0])

    assert early.summary() == "deliver_messages: 1 sent (1 mails in 1 chunks)"
    assert late.summary() == "deliver_messages: 1 sent (1 mails in 1 chunks)"
    assert len(mail.outbox) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sweeping_at_once_send_each_mail_once(program):
    member = MemberFactory(email="ada@example.com")
    for n in range(20):
        queue(member, key=f"k{n}")
    barrier = threading.Barrier(2)

    def sweep():
        barrier.wait()
        try:
            deliver_messages(now=T0)
        finally:
            connection.close()

    workers = [threading.Thread(target=sweep) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert len(mail.outbox) == 20
    assert Message.objects.filter(status=Message.Status.SENT).count() == 20
