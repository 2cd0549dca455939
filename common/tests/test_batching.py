"""Coalescing: commands made at the same moment by many green threads leave as few batches,
each command gets its own outcome, and nobody waits forever."""
import pytest

from common.batching import Coalescer  # first: its import of eventlet is where pytest.ini hides the warning
import eventlet


class Recorder:
    """A ``send`` that answers each command with its double, after a pause that lets others queue."""

    def __init__(self, pause=0.01, fail_with=None):
        self.batches = []
        self.pause = pause
        self.fail_with = fail_with

    def __call__(self, commands):
        self.batches.append(list(commands))
        eventlet.sleep(self.pause)
        if self.fail_with is not None:
            raise self.fail_with
        return [2 * command for command in commands]


def submit_all(coalescer, send, commands):
    pool = eventlet.GreenPool()
    threads = [pool.spawn(coalescer.submit, command, send) for command in commands]
    return [thread.wait() for thread in threads]


def test_a_lone_command_is_sent_at_once_in_a_batch_of_its_own():
    send = Recorder(pause=0)
    assert Coalescer().submit(21, send) == 42
    assert send.batches == [[21]]


def test_commands_arriving_together_leave_in_few_batches_and_each_gets_its_own_outcome():
    send = Recorder()
    results = submit_all(Coalescer(max_batch=50, max_in_flight=2), send, list(range(100)))
    assert results == [2 * n for n in range(100)]
    assert sorted(n for batch in send.batches for n in batch) == list(range(100))  # each sent once
    assert len(send.batches) <= 4


def test_no_batch_exceeds_its_size_and_no_more_than_the_slots_are_in_flight_at_once():
    in_flight, most = [0], [0]

    def send(commands):
        assert len(commands) <= 7
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        eventlet.sleep(0.005)
        in_flight[0] -= 1
        return commands

    assert submit_all(Coalescer(max_batch=7, max_in_flight=3), send, list(range(60))) == list(range(60))
    assert most[0] == 3


def test_a_batch_that_fails_raises_for_each_of_its_commands_and_the_next_batch_still_goes():
    coalescer = Coalescer(max_batch=10, max_in_flight=1)
    failing = Recorder(fail_with=ConnectionError("broker gone"))
    pool = eventlet.GreenPool()
    threads = [pool.spawn(coalescer.submit, n, failing) for n in range(5)]
    for thread in threads:
        with pytest.raises(ConnectionError):
            thread.wait()
    assert coalescer.submit(1, Recorder(pause=0)) == 2


def test_a_send_that_answers_the_wrong_number_of_outcomes_fails_its_commands():
    with pytest.raises(RuntimeError, match="1 commands sent, 0 outcomes"):
        Coalescer().submit(1, lambda commands: [])
