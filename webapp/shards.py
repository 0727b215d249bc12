"""Write-sharded indexes read as one: a list page is N Queries, one per shard, run in parallel and merged newest
first under one composite cursor.

An admin-wide index (every record, every audit entry) keyed on one value would have one partition written by
every user, and DynamoDB takes about 1,000 writes a second into one partition. So such an index is keyed on
``<value>#<n>``, n = ``shard_of(item id)``, and an admin page reads every shard. README ("No hot item") gives
the numbers behind N = 8: eight partitions' write headroom for a page of eight small Queries made in about the
time of one. N may be raised (an item stays in its shard until it is written again, and reads cover every
shard below N), never lowered; a cursor made under another N leads to the newest page.

The composite cursor is ``{"shards": [position, ...]}``, a position per shard: the ExclusiveStartKey that goes
on in the direction the cursor walks, or ``NEWEST`` / ``OLDEST`` for "before its newest item" / "past its oldest"
(a shard not started yet, or one with nothing left). An ``ascending`` walk (oldest first, or due soonest first)
reads each shard the other way (``ScanIndexForward``) and merges by the smallest sort key; its positions mean
the same along that walk: ``NEWEST`` is before a shard's first item in the walk's order, ``OLDEST`` past its
last. Eight realistic keys make a signed cursor of 630-850 characters, well within
``paging.MAX_CURSOR_LENGTH`` (tests/unit/test_shards.py measures it).
"""

from __future__ import annotations

import contextvars
import hashlib
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from webapp.dynamodb import QueryPage

SHARDS = 8  # how many shard keys each admin-wide index is spread over (README, "No hot item", says why 8)
NEWEST, OLDEST = "newest", "oldest"  # a shard's position before its newest item, and past its oldest

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def shard_of(key: str, shards: int = SHARDS) -> int:
    """The shard of an item id: stable across processes and deploys (a digest, not the salted ``hash()``)."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


@dataclass
class _Shard:
    """One shard's walk: where the page starts in it, what was read and not yet shown, what was shown."""

    number: int
    position: dict | str  # from the cursor: an ExclusiveStartKey, NEWEST or OLDEST
    more: bool  # it may hold items past what was read
    last_key: dict | None = None  # the LastEvaluatedKey of its last Query: where the next one starts
    queries: int = 0
    read: int = 0  # ScannedCount, summed
    buffer: deque = field(default_factory=deque)  # read, not yet shown
    shown: list = field(default_factory=list)


def merged_query(
    run: Callable[[dict[str, Any]], dict],
    params_of: Callable[[int], dict[str, Any]],
    size: int,
    key_of: Callable[[dict], dict],
    sort_of: Callable[[dict], str],
    start: dict | None = None,
    backward: bool = False,
    max_queries: int = 1,
    shards: int = SHARDS,
    ascending: bool = False,
) -> QueryPage:
    """One page, newest first (``ascending``: oldest first), of the items of ``shards`` Queries (``params_of(n)``
    for shard n), merged.

    The same contract as ``dynamodb.paged_query``, with composite cursors: each Query reads at most ``size`` + 1
    items; every shard's first Query runs at once, in parallel (``run`` is called from a thread pool, in a
    copy of the caller's context variables); a shard is queried again, up to ``max_queries`` times, only when
    the merge needs to know what it holds next (a FilterExpression may leave it short). Should a shard run out
    of Queries while it may still hold items newer than the next one to show, the page stops there,
    ``stopped``. ``key_of`` gives the ExclusiveStartKey after an item; ``sort_of`` its sort-key value (it is
    also given LastEvaluatedKeys, so it must read a key attribute). Items with equal sort keys in different
    shards come in shard order (reverse shard order when ``ascending``). ``backward`` walks from ``start``
    towards newer items (the "previous" link); finding nothing there, it gives the newest page. A ``start`` that
    is no composite cursor of ``shards`` shards (a link from before a change of N) gives the newest page too.
    With ``ascending``, read "newest" as "first in the walk's order" throughout: the same contract, every
    comparison turned round.
    """
    positions = _positions(start, shards)
    first_page = lambda: merged_query(  # noqa: E731
        run, params_of, size, key_of, sort_of, max_queries=max_queries, shards=shards, ascending=ascending
    )
    if start is not None and positions is None:
        return first_page()
    far, near = (NEWEST, OLDEST) if backward else (OLDEST, NEWEST)
    walks = [
        _Shard(number, position, more=position != far) for number, position in enumerate(positions or [near] * shards)
    ]
    rising = backward != ascending  # whether this walk reads each shard in ascending key order
    fetch = lambda batch: _fetch(run, params_of, size, rising, batch)  # noqa: E731
    shown, stopped = _merge(walks, size, sort_of, rising, max_queries, fetch)
    queries = sum(walk.queries for walk in walks)
    read = sum(walk.read for walk in walks)
    beyond = [_beyond(walk, key_of, far) for walk in walks]
    behind = [_behind(walk, key_of, far) for walk in walks]
    if backward:
        if not shown:  # nothing newer (any more): the newest page, rather than a cursor that skips `start`
            newest = first_page()
            newest.queries += queries
            newest.items_read += read
            return newest
        shown.reverse()
        return QueryPage(shown, _composite(behind), _composite(beyond, far), queries, read, stopped)
    previous = _composite(behind) if start is not None and shown else None
    return QueryPage(shown, _composite(beyond, far), previous, queries, read, stopped)


def _positions(start: dict | None, shards: int) -> list | None:
    """The per-shard positions of a composite cursor; None for none, or for one of another shape."""
    positions = start.get("shards") if isinstance(start, dict) else None
    if not isinstance(positions, list) or len(positions) != shards:
        return None
    if not all(isinstance(position, dict) or position in (NEWEST, OLDEST) for position in positions):
        return None
    return positions


def _composite(positions: list, end: str | None = None) -> dict | None:
    """The composite cursor of these positions; None when every shard is at ``end`` (nothing that way)."""
    if end is not None and all(position == end for position in positions):
        return None
    return {"shards": positions}


def _merge(
    walks: list[_Shard], size: int, sort_of: Callable, rising: bool, max_queries: int, fetch: Callable
) -> tuple[list[dict], bool]:
    """The page's items in the walk's order, and whether it stopped for want of Queries.

    ``rising``: the walk goes from smaller sort keys to larger ones (a backward walk of a newest-first list, or
    a forward walk of an ascending one). The next item is the first of the shards' heads in the walk's order; it
    is shown once every other shard either has a head of its own or has been read past it (or holds nothing
    more). Like ``paged_query``, the walk goes on until the item after the page is known (or that there is
    none): it stopped when its Queries ran out first, even with the page full.
    """
    fetch([walk for walk in walks if walk.more])
    shown: list[dict] = []
    order = lambda walk: (sort_of(walk.buffer[0]), -walk.number)  # noqa: E731
    while True:
        heads = [walk for walk in walks if walk.buffer]
        first = (min if rising else max)(heads, key=order) if heads else None
        waiting = [walk for walk in walks if not walk.buffer and walk.more]
        if first is not None:
            mark = sort_of(first.buffer[0])
            waiting = [walk for walk in waiting if not _read_past(sort_of(walk.last_key), mark, rising)]
        if waiting:
            if any(walk.queries >= max_queries for walk in waiting):
                return shown, True
            fetch(waiting)
            continue
        if first is None or len(shown) == size:  # nothing more, or the item after the page: it stays read
            break
        item = first.buffer.popleft()
        first.shown.append(item)
        shown.append(item)
    return shown, False


def _read_past(last: str, mark: str, rising: bool) -> bool:
    """Whether a shard read up to ``last`` holds nothing more that comes before ``mark`` in the walk."""
    return last > mark if rising else last < mark


def _fetch(run: Callable, params_of: Callable, size: int, rising: bool, batch: list[_Shard]) -> None:
    """One more Query of each shard in ``batch``, in parallel; the first failure is raised once all have ended."""
    queries = []
    for walk in batch:
        params = params_of(walk.number) | {"Limit": size + 1, "ScanIndexForward": rising}
        key = walk.last_key if walk.queries else walk.position
        if isinstance(key, dict):
            params["ExclusiveStartKey"] = key
        queries.append(params)
    if len(batch) == 1:
        answers = [run(queries[0])]
    else:
        pool = _executor()
        futures = [pool.submit(contextvars.copy_context().run, run, params) for params in queries]
        wait(futures)
        answers = [future.result() for future in futures]
    for walk, answer in zip(batch, answers, strict=True):
        walk.queries += 1
        walk.read += answer.get("ScannedCount", len(answer["Items"]))
        walk.buffer.extend(answer["Items"])
        walk.last_key = answer.get("LastEvaluatedKey")
        walk.more = walk.last_key is not None


def _beyond(walk: _Shard, key_of: Callable, far: str) -> dict | str:
    """Where the walk goes on in this shard past the page: after its last item shown, or past what was read."""
    if walk.buffer:
        return key_of(walk.shown[-1]) if walk.shown else walk.position
    return walk.last_key if walk.more else far


def _behind(walk: _Shard, key_of: Callable, far: str) -> dict | str:
    """Where the walk the other way starts in this shard: at its first item shown or, with none shown, at the
    first item read past the page's start (the items between were filtered out), else from ``far`` (an empty
    shard read from one end stays at that end: nothing either way)."""
    if walk.shown:
        return key_of(walk.shown[0])
    if walk.buffer:
        return key_of(walk.buffer[0])
    if walk.more:
        return walk.last_key
    return walk.position if isinstance(walk.position, str) else far  # from an end to the other: an empty shard


def _executor() -> ThreadPoolExecutor:
    """The module's thread pool, made on first use (not at import) and kept for the life of the process."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=SHARDS, thread_name_prefix="shard-query")
        return _pool
