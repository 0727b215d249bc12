"""The app's Lambda event sources, stood in for locally: the records table's stream into `events`, and the
notifications topic's Lambda subscription into `inbox`, with serverless.yml's settings.

``EventSources`` holds the two stand-ins (``localaws/streams.py``, ``localaws/deliveries.py``). `make run` starts
them in background threads (``start``), polling every quarter of a second, so the dashboard's counters and the
inbox follow a change within a second or two; the tests start no thread and call ``drain()`` instead, which
returns once everything pending has been delivered (or given up), so a test never sleeps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from localaws import deliveries, functions, resources, streams

log = logging.getLogger("localaws.eventsources")

INTERVAL = 0.25  # seconds between two polls in the background
STREAM_FUNCTION = "events"  # serverless.yml's function on the records table's stream
ROUNDS = 10  # drain(): stream, then deliveries, again while either found work (a handler may make more)


class Background:
    """A daemon thread calling ``step(wait)`` every ``interval`` seconds until stopped; ``wait`` pauses inside a
    step (a retry's backoff) and answers True once stopping. A failing step is logged and tried again."""

    def __init__(self, name: str, step: Callable[[Callable[[float], bool]], Any], interval: float = INTERVAL):
        self.name, self.step, self.interval = name, step, interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.step(self._stopping.wait)
            except Exception:
                log.exception("%s: a poll failed; polling again", self.name)
            self._stopping.wait(self.interval)


class EventSources:
    """The stream poller and the SNS deliverer for one emulated account (its boto3 ``session``).

    ``handlers`` replaces functions' handlers by function name (tests pass their own); otherwise each invocation
    imports the app's handler then. ``clock`` and ``backoff`` are the stand-ins' (tests make time pass)."""

    def __init__(
        self,
        session: Any,
        *,
        handlers: dict[str, functions.Handler] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.session, self.handlers, self.clock = session, dict(handlers or {}), clock
        self._threads: list[Background] = []

    @cached_property
    def stream(self) -> streams.StreamPoller:
        """The records table's stream into the `events` function, as serverless.yml maps it."""
        function = functions.declared(STREAM_FUNCTION)
        settings = streams.StreamSettings.from_event(function.event("stream"))
        failures = resources.queue_url(self.session.client("sqs"), settings.on_failure)
        return streams.StreamPoller(
            self.session,
            function,
            settings,
            table=resources.table_name("RECORDS_TABLE"),
            failures_queue_url=failures,
            handler=self.handlers.get(STREAM_FUNCTION),
            clock=self.clock,
        )

    @cached_property
    def deliveries(self) -> deliveries.Deliverer:
        """SNS's deliveries to the Lambda subscriptions (the `inbox` function's), from moto in this process."""
        return deliveries.Deliverer(self.session, handlers=self.handlers, clock=self.clock)

    def drain(self) -> None:
        """Deliver everything pending now: the stream's batches, then the messages they (or anything) published,
        again while either found work. Retries run at once; failures end where AWS puts them (the failures queue,
        the dead-letter queue) or in a log line."""
        for _ in range(ROUNDS):
            read = self.stream.drain()
            if not self.deliveries.drain() and not read:
                return

    def start(self, interval: float = INTERVAL) -> None:
        """Poll both in background threads (`make run`)."""
        self.stream.connect()
        self.deliveries.connect()
        self._threads = [
            Background("events-stream", self.stream.poll, interval),
            Background("inbox-deliveries", self.deliveries.poll, interval),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop the threads (each finishes the invocation it is in)."""
        for thread in self._threads:
            thread.stop()
        self._threads = []
