"""The outbox on SQLite and on PostgreSQL: durability, retries, dead letter, crashes."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from pos_fakes.journal import JournalPos
from pos_fakes.tickets import line, order

from adapters.base import PermanentError, TransientError
from adapters.local import LocalPos
from agi.outbox import Outbox, RetryPolicy, Sender

ROOT = Path(__file__).resolve().parents[2]
FAST = RetryPolicy(base_s=0.01, cap_s=0.05)


def ticket(n: int = 1):
    return order([line("pizza-cheese", "cheese pizza", 1099 + n)])


def test_enqueue_is_durable_and_idempotent(outbox_dsn):
    box = Outbox(outbox_dsn)
    assert box.enqueue(ticket(), "k1", "journal") is True
    assert box.enqueue(ticket(), "k1", "journal") is False  # the same confirmed call, queued once
    box.close()
    # A different process sees it: the row was committed before enqueue returned.
    code = f"from agi.outbox import Outbox; b = Outbox({outbox_dsn!r}); print(b.get('k1').state, b.counts())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "pending (1, 0)"


def test_delivers_to_the_local_pos(outbox_dsn, tmp_path):
    catalog = ROOT / "playbooks" / "catalogs" / "pizzeria.yaml"
    pos = LocalPos(tmp_path / "data", catalog)
    box = Outbox(outbox_dsn)
    box.enqueue(ticket(), "call-1", pos.name)
    assert box.deliver_pending(pos) == 1
    receipt = box.receipt("call-1")
    assert receipt.order_id == pos.orders()[0].order_id and receipt.adapter == "local"
    assert box.counts() == (0, 0)


def test_backoff_honours_retry_after_and_skips_find_after_429(outbox_dsn, tmp_path):
    pos = JournalPos(tmp_path / "pos.sqlite3")
    pos.fail_next = [TransientError("429", retry_after=0.4, maybe_applied=False, kind="http_429")]
    box = Outbox(outbox_dsn, FAST)
    box.enqueue(ticket(), "k", pos.name)
    before = time.time()
    box.deliver_pending(pos)
    row = box.get("k")
    assert row.state == "pending" and row.next_at >= before + 0.4 and not row.maybe_applied
    assert box.deliver_pending(pos) == 0  # not due yet
    box.deliver_pending(pos, keys=["k"], wait_s=5)
    assert box.get("k").state == "delivered" and pos.calls("find") == []  # a 429 never created anything


def test_ambiguous_failure_looks_before_resending(outbox_dsn, tmp_path):
    pos = JournalPos(tmp_path / "pos.sqlite3")
    pos.fail_next = [TransientError("timeout", maybe_applied=True, kind="timeout")]
    box = Outbox(outbox_dsn, FAST)
    box.enqueue(ticket(), "k", pos.name)
    box.deliver_pending(pos, keys=["k"], wait_s=5)
    assert pos.calls("find") == ["k"] and pos.orders() == {"k": 1}


def test_permanent_failure_is_dead_letter_with_alert_and_hook(outbox_dsn, tmp_path, caplog):
    class Refusing(JournalPos):
        def submit(self, t, key):
            raise PermanentError("item 86'd at the POS", status=400)

    pos = Refusing(tmp_path / "pos.sqlite3")
    box = Outbox(outbox_dsn, FAST)
    dead: list[tuple[str, str]] = []
    box.on_dead_letter.append(lambda row, reason: dead.append((row.key, reason)))
    box.enqueue(ticket(), "k", pos.name)
    with caplog.at_level(logging.ERROR, logger="callticket.outbox"):
        box.deliver_pending(pos)
    assert box.get("k").state == "dead" and box.counts() == (0, 1)
    assert dead and "86'd" in dead[0][1]
    alert = [r for r in caplog.records if r.getMessage() == "outbox dead letter"]
    assert alert and alert[0].fields["alert"] == "pos_dead_letter"
    assert box.requeue("k") and box.get("k").state == "pending"


def test_gives_up_after_max_age(outbox_dsn, tmp_path):
    pos = JournalPos(tmp_path / "pos.sqlite3")
    pos.fail_next = [TransientError("down", maybe_applied=False)]
    box = Outbox(outbox_dsn, RetryPolicy(base_s=0.01, cap_s=0.05, max_age_s=0.0))
    box.enqueue(ticket(), "k", pos.name)
    time.sleep(0.01)
    box.deliver_pending(pos)
    assert box.get("k").state == "dead" and "gave up" in box.get("k").last_error


def test_live_lease_of_another_machine_is_respected(outbox_dsn, tmp_path):
    box = Outbox(outbox_dsn)
    box.enqueue(ticket(), "k", "journal")
    now = time.time()
    assert box.store.claim(["journal"], "other-host:1:1", 0.5, now) is not None
    assert box.store.claim(["journal"], box.owner, 60, now + 0.1) is None  # still leased over there
    assert box.store.claim(["journal"], box.owner, 60, now + 1.0) is not None  # expired: ours now


def test_concurrent_senders_never_send_a_row_twice(outbox_dsn, tmp_path):
    pos = JournalPos(tmp_path / "pos.sqlite3")
    seed = Outbox(outbox_dsn)
    for n in range(60):
        seed.enqueue(ticket(n), f"k{n}", pos.name)
    # Two outboxes in one process act as two workers (their own connections, one owner id).
    senders = [Sender(Outbox(outbox_dsn, FAST), {pos.name: pos}, workers=3, poll_s=0.05).start() for _ in range(2)]
    deadline = time.time() + 60
    while seed.counts()[0] and time.time() < deadline:
        time.sleep(0.05)
    for s in senders:
        s.close()
    assert seed.counts() == (0, 0)
    assert pos.orders() == {f"k{n}": 1 for n in range(60)}
    assert sorted(pos.calls("submit")) == sorted(f"k{n}" for n in range(60))


SENDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {pos_dir!r})
    from agi.outbox import Outbox, RetryPolicy, Sender
    from pos_fakes.journal import JournalPos
    pos = JournalPos({pos_db!r})
    box = Outbox({dsn!r}, RetryPolicy(base_s=0.01, cap_s=0.05))
    Sender(box, {{pos.name: pos}}, workers=2, poll_s=0.05).start()
    print("ready", flush=True)
    time.sleep(120)
""")


def test_sigkill_mid_request_then_restart_makes_exactly_one_order(outbox_dsn, tmp_path):
    pos_db = tmp_path / "pos.sqlite3"
    pos = JournalPos(pos_db)
    box = Outbox(outbox_dsn)
    box.enqueue(ticket(), "crash-me", pos.name)
    code = SENDER.format(pos_dir=str(Path(__file__).parent), pos_db=str(pos_db), dsn=outbox_dsn)
    env = dict(os.environ, JOURNAL_PAUSE_S="30")  # the order exists, the answer never comes
    first = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        while pos.orders() != {"crash-me": 1}:
            assert time.time() < deadline and first.poll() is None, "the sender never reached the POS"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)  # between the POS creating the order and the outbox hearing of it
        first.wait(10)
        assert box.get("crash-me").state == "pending"
        env["JOURNAL_PAUSE_S"] = "0"
        second = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  text=True)
        try:
            deadline = time.time() + 30
            while box.get("crash-me").state != "delivered":
                assert time.time() < deadline and second.poll() is None, "the restarted sender did not deliver"
                time.sleep(0.05)
        finally:
            second.kill()
            second.wait(10)
    finally:
        first.kill()
        first.wait(10)
    assert pos.orders() == {"crash-me": 1}, "the restart resent blindly"
    assert pos.calls("find") == ["crash-me"]
    assert box.receipt("crash-me").order_id == "1"


def test_sender_threads_stop_cleanly(tmp_path):
    pos = JournalPos(tmp_path / "pos.sqlite3")
    box = Outbox(tmp_path / "o.sqlite3", FAST)
    sender = Sender(box, {pos.name: pos}, workers=2, poll_s=0.05).start()
    box.enqueue(ticket(), "live", pos.name)  # wakes a waiting worker at once
    deadline = time.time() + 10
    while box.get("live").state != "delivered" and time.time() < deadline:
        time.sleep(0.02)
    sender.close()
    assert box.get("live").state == "delivered"
    assert not any(t.is_alive() for t in sender._threads)
    assert threading.active_count() < 50


def test_commit_path_reports_done_queued_and_refused(outbox_dsn, tmp_path):
    from agi import events as ev
    from agi.outbox import commit

    pos = JournalPos(tmp_path / "pos.sqlite3")
    # Retries well after this test: with a near-zero backoff the one commit
    # could already have redelivered the 503'd ticket.
    box = Outbox(outbox_dsn, RetryPolicy(base_s=30.0, cap_s=60.0))
    done = commit(box, pos, ticket(), "c1")
    assert isinstance(done, ev.CommitDone) and done.order_id == "1"
    pos.fail_next = [TransientError("503", maybe_applied=False)]
    queued = commit(box, pos, ticket(), "c2")
    assert isinstance(queued, ev.CommitDone) and queued.order_id is None  # the sender carries on
    pos.fail_next = [PermanentError("item no longer sold", status=400)]
    refused = commit(box, pos, ticket(), "c3")
    assert isinstance(refused, ev.CommitFailed) and "no longer sold" in refused.reason
