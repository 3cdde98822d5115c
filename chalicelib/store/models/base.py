"""The base model over the single service table and its one shared connection.

Table name and region are resolved on use, not at import, so one process can
serve several stages and tests can give every test its own table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.connection.base import MetaTable
from pynamodb.indexes import AllProjection
from pynamodb.models import Model

from chalicelib import aws
from chalicelib.settings import get_settings
from chalicelib.store import schema


class _Lazy:
    """Descriptor that evaluates a setting each time pynamodb reads it."""

    def __init__(self, fn: Callable[[], Any]):
        self.fn = fn

    def __get__(self, obj: Any, owner: Any) -> Any:
        return self.fn()


class _TableMeta:
    table_name = _Lazy(lambda: get_settings().table_name)
    region = _Lazy(lambda: get_settings().region)


_shared: dict[tuple[str, str], Connection] = {}
_shared_lock = threading.Lock()


def shared_connection() -> Connection:
    """One pynamodb Connection per (region, table) for every model and transaction.

    pynamodb would otherwise give each model class its own botocore client,
    which costs a client creation per model on every cold start.
    """
    settings = get_settings()
    key = (settings.region, settings.table_name)
    with _shared_lock:
        conn = _shared.get(key)
        if conn is None:
            # as many pooled HTTP connections as the sweep has threads (botocore keeps 10 by default)
            conn = Connection(region=settings.region, max_pool_connections=max(10, settings.sweep_workers))
            conn._local.session = aws.session()._session  # the container's one botocore session
            conn.add_meta_table(MetaTable(schema.table_definition(settings.table_name)))
            _shared[key] = conn
        return conn


class _Base(Model):
    """Every item has a string partition key ``pk`` and sort key ``sk``."""

    class Meta(_TableMeta):
        pass

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table = super()._get_connection()
        table.connection = shared_connection()
        return table

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


def _index(name: str) -> type:
    class Meta:
        index_name = name
        projection = AllProjection()

    return Meta
