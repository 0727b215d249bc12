"""moto's server, as ``python -m moto.server`` runs it, less what made it slow and large for nothing the bench reads.

- moto keeps every model object it ever made in a list per class (``instances_tracked``, for its dashboard at
  /moto-api/data.json), and those include the copy of each table a TransactWriteItems takes to roll back with,
  its stream records and all: under the event functions' figures the server's memory grew with the square of
  the transactions. Objects are made untracked here.
- That rollback copy is taken once per item of the transaction, though every copy is of the table before any
  write: a transaction of 60 items copied the stats table 60 times, and a batch of the `events` handler spent
  nearly all its time there. It is taken once per table here: the same rollback.
- It leaves at once when stopped: holding the large table of the scale figure (20,000 records, and their
  stream), moto took longer than the bench's 15 s grace just to free its memory, and it has nothing to save.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from moto.core import common_models


def _untracked(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


class _CopyOnce:
    """``copy`` as moto's DynamoDB models use it: within a transaction, one deep copy per table (anything else is
    copied as before)."""

    copies: dict[int, tuple[Any, Any]] | None = None  # id -> (the table, its copy): the table kept, so is its id

    def deepcopy(self, thing: Any, memo: dict | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if self.copies is None or not isinstance(thing, Table):
            return copy.deepcopy(thing, memo)
        found = self.copies.get(id(thing))
        if found is None or found[0] is not thing:
            found = self.copies[id(thing)] = (thing, copy.deepcopy(thing, memo))
        return found[1]


def _copying_once(shim: _CopyOnce, transact: Any) -> Any:
    def transact_write_items(backend: Any, transact_items: list) -> None:
        shim.copies = {}
        try:
            return transact(backend, transact_items)
        finally:
            shim.copies = None

    return transact_write_items


def _leave(signum: int, frame: Any) -> None:
    os._exit(0)


if __name__ == "__main__":
    common_models.BaseModel.__new__ = staticmethod(_untracked)  # type: ignore[method-assign, assignment]
    from moto import server
    from moto.dynamodb import models as dynamodb

    shim = _CopyOnce()
    dynamodb.copy = shim  # type: ignore[assignment]
    dynamodb.DynamoDBBackend.transact_write_items = _copying_once(shim, dynamodb.DynamoDBBackend.transact_write_items)
    server.signal_handler = _leave  # what moto's main() installs for SIGINT and SIGTERM
    server.main()
