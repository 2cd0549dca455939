"""Coalescing: calls that many green threads make at the same moment, sent as one batch.

A hot command (a claim, a scan, a check-in) costs far more in fixed overhead (an RPC hop, a
transaction, an event) than in work of its own, so the gateway sends the commands that arrive
together as one call (ADR 0006). There is no timer: a batch leaves as soon as one of
``max_in_flight`` slots is free, and whatever arrives while the slots are busy waits for the
next, so a quiet platform answers every command at once and a busy one sends bigger batches.

Each batch is sent by the green thread of its oldest command (the *leader*), with that
thread's own means (its RPC proxy, its deadline); the others only wait for their outcome.
Green threads switch only where they wait, so the bookkeeping needs no lock.
"""
from collections import deque

from eventlet.event import Event

_LEAD = object()  # what a waiting command receives when it is its turn to send a batch


class Coalescer:
    def __init__(self, *, max_batch=50, max_in_flight=2):
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._waiting = deque()
        self._in_flight = 0  # batches being sent, and leaders promoted but not yet running

    def submit(self, command, send):
        """``command``'s outcome, from ``send(commands)``, which returns one outcome per command
        in order; whatever ``send`` raises is raised for each command of its batch."""
        entry = _Entry(command)
        self._waiting.append(entry)
        self._promote()
        outcome = entry.done.wait()
        if outcome is _LEAD:
            outcome = self._lead(entry, send)
        if isinstance(outcome, _Failure):
            raise outcome.exc
        return outcome

    def _promote(self):
        """Give each free slot to the oldest waiting command; it leaves the queue at once, so
        no other leader takes it into a batch."""
        while self._waiting and self._in_flight < self.max_in_flight:
            self._in_flight += 1
            self._waiting.popleft().done.send(_LEAD)

    def _lead(self, leader, send):
        batch = [leader]
        while self._waiting and len(batch) < self.max_batch:
            batch.append(self._waiting.popleft())
        try:
            outcomes = send([entry.command for entry in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{len(batch)} commands sent, {len(outcomes)} outcomes received")
        except BaseException as exc:  # a killed leader too: nobody of its batch may wait forever
            outcomes = [_Failure(exc)] * len(batch)
            if not isinstance(exc, Exception):
                self._deliver(batch, outcomes)
                raise
        finally:
            self._in_flight -= 1
            self._promote()
        return self._deliver(batch, outcomes)

    @staticmethod
    def _deliver(batch, outcomes):
        """Each follower's outcome; the leader's own is returned."""
        for entry, outcome in zip(batch[1:], outcomes[1:]):
            entry.done.send(outcome)
        return outcomes[0]


class _Entry:
    __slots__ = ("command", "done")

    def __init__(self, command):
        self.command = command
        self.done = Event()


class _Failure:
    __slots__ = ("exc",)

    def __init__(self, exc):
        self.exc = exc
