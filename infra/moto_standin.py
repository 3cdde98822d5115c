"""The local AWS stand-in: moto's server, made safe for concurrent clients.

moto is not thread-safe, and its DynamoDB ``TransactWriteItems`` rolls back by
``copy.deepcopy``-ing every table a transaction touches *before* it starts and
putting the copy back when any part fails. Under ``make run`` (one moto server,
many request threads) that meant: ``RuntimeError: dictionary changed size
during iteration`` (the copy walks the table while another thread writes), a
rollback that erased other requests' committed writes (the copy is older than
them), and 9-20 MB of garbage per transaction. Real DynamoDB does none of this.

Two fixes, both here, both tested directly (tests/unit/test_moto_standin.py), and a third in
``infra/s3_policy.py`` (S3's pre-signed POST policies and URL expiry, which moto ignores):

1. ``SerialisedApp``: every request to the stand-in runs under one lock, body
   included. DynamoDB's own operations are atomic per request; serialising the
   stand-in gives it the same guarantee (moto spends its time in Python under
   the GIL anyway, so little is lost).
2. ``install_key_level_rollback()``: a transaction remembers (a deep copy of)
   only the items it is about to write and, if it is cancelled, restores just
   those keys. The table itself is never copied, so a rollback costs O(items in
   the transaction), allocates nothing per table, and cannot undo anyone else's
   write. The benchmarks use the same mechanism in-process
   (``key_level_rollback()``).

The patch depends on moto's internals, so it refuses any moto other than
``PINNED_MOTO`` (pinned in requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LOG = logging.getLogger("infra.moto_standin")
PINNED_MOTO = "5.2.5"
WRITE_OPS = ("Put", "Update", "Delete")

_ORIGINAL: dict[str, Any] = {}
_BAD_VALUE = (KeyError, TypeError, ValueError, AttributeError, IndexError)


class StandInError(RuntimeError):
    """The installed moto is not the one this patch was written and tested for."""


def check_moto_version() -> None:
    """Raise StandInError unless moto is ``PINNED_MOTO``."""
    import moto

    if moto.__version__ != PINNED_MOTO:
        raise StandInError(f"moto {moto.__version__} is installed; the local stand-in's patch is written for "
                           f"moto=={PINNED_MOTO} (run `make install`)")


class _TableKeepingCopy:
    """Replaces the ``copy`` module inside ``moto.dynamodb.models``: deep copies of a whole ``Table``
    (moto's per-transaction rollback point) return the table itself; everything else is copied as usual."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, obj: Any, memo: dict[int, Any] | None = None) -> Any:
        """The table itself for a ``Table``, a real deep copy for anything else."""
        if isinstance(obj, self._table_type):
            return obj
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _target_key(table: Any, op_type: str, op: dict[str, Any]) -> tuple[Any, Any] | None:
    """(hash, range) DynamoType of the item a transaction entry writes, or None if moto will reject it."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    attrs = op.get("Item") if op_type == "Put" else op.get("Key")
    if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
        return None
    try:
        hash_value = DynamoType(attrs[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in attrs:
                return None
            range_value = DynamoType(attrs[table.range_key_attr])
    except _BAD_VALUE:  # malformed attribute value: moto reports it
        return None
    return hash_value, range_value


def _restore(table: Any, hash_value: Any, range_value: Any, original: Any) -> None:
    """Put ``original`` (an Item or None) back at the key, without stream records."""
    if range_value is None:
        if original is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = original
        return
    bucket = table.items.get(hash_value)
    if original is None:
        if bucket is not None:
            bucket.pop(range_value, None)
            if not bucket:
                table.items.pop(hash_value, None)
    else:
        table.items[hash_value][range_value] = original


def _journal(backend: Any, transact_items: Iterable[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash, range, deep copy of the current item or None) for every write in the transaction."""
    from moto.dynamodb.exceptions import MockValidationException

    entries = []
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue
        op_type, op = next(iter(entry.items()))
        if op_type not in WRITE_OPS or not isinstance(op, dict):
            continue
        table = backend.tables.get(op.get("TableName"))
        key = _target_key(table, op_type, op) if table is not None else None
        if key is None:
            continue
        try:
            current = table.get_item(*key)
        except (*_BAD_VALUE, MockValidationException):  # moto reports the bad key itself
            continue
        entries.append((table, key[0], key[1], copy.deepcopy(current)))
    return entries


def install_key_level_rollback() -> None:
    """Patch moto's DynamoDB transactions to roll back by key, never by table copy. Idempotent."""
    check_moto_version()
    from moto.dynamodb import models as ddb
    from moto.dynamodb.models.table import Table

    if _ORIGINAL:
        return
    real = ddb.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        journal = _journal(self, transact_items) if isinstance(transact_items, list) else []
        try:
            return real(self, transact_items)
        except Exception:
            for table, hash_value, range_value, original in reversed(journal):
                _restore(table, hash_value, range_value, original)
            raise

    _ORIGINAL.update(method=real, copy=ddb.copy)
    ddb.copy = _TableKeepingCopy(Table)  # type: ignore[assignment]
    ddb.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def uninstall_key_level_rollback() -> None:
    """Undo ``install_key_level_rollback`` (tests and benchmarks)."""
    from moto.dynamodb import models as ddb

    if not _ORIGINAL:
        return
    ddb.DynamoDBBackend.transact_write_items = _ORIGINAL["method"]  # type: ignore[method-assign]
    ddb.copy = _ORIGINAL["copy"]
    _ORIGINAL.clear()


@contextmanager
def key_level_rollback() -> Iterator[None]:
    """``install_key_level_rollback()`` for the duration of a block (in-process moto, e.g. benchmarks)."""
    already = bool(_ORIGINAL)
    install_key_level_rollback()
    try:
        yield
    finally:
        if not already:
            uninstall_key_level_rollback()


class SerialisedApp:
    """WSGI middleware: one request at a time through the wrapped app, response body included."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            body = self.app(environ, start_response)
            try:
                return list(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()


class StandInServer:
    """moto's server on ``host:port`` with serialised requests and key-level transaction rollback."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint for ``AWS_ENDPOINT_URL``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a daemon thread. OSError if the port is taken."""
        install_key_level_rollback()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        from infra.s3_policy import S3PolicyApp

        app = SerialisedApp(S3PolicyApp(DomainDispatcherApplication(create_backend_app)))
        self._server = make_server(self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="moto-standin", daemon=True)
        self._thread.start()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access line per AWS call otherwise

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop accepting, close the socket, wait (bounded) for the serving thread."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._server = None


class StandInProcess:
    """``StandInServer`` in its own process (its own interpreter lock: the API and the stand-in then run
    on separate cores). The child dies with its parent, even if the parent is killed."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """The endpoint for ``AWS_ENDPOINT_URL``."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        """Launch and wait for its ``STANDIN READY`` line. OSError if it cannot listen."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "infra.moto_standin", "--host", self.host, "--port", str(self.port)],
            cwd=str(Path(__file__).resolve().parents[1]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        assert self.proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("STANDIN READY "):
                threading.Thread(target=self._pump, name="moto-standin-log", daemon=True).start()
                return
            lines.append(line.rstrip())
        self.stop()
        raise OSError(f"the stand-in did not start on {self.host}:{self.port}: " + " | ".join(lines[-5:]))

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            LOG.info("stand-in: %s", line.rstrip())

    def stop(self, timeout_s: float = 1.5) -> None:
        """SIGTERM, a bounded wait, then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(2)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent process dies (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    """``python -m infra.moto_standin --port N``: serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m infra.moto_standin", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5050)
    args = parser.parse_args(argv)
    server = StandInServer(args.host, args.port)
    try:
        server.start()
    except (OSError, StandInError) as exc:
        print(f"cannot start: {exc}", flush=True)
        return 2
    stopping: list[int] = []  # a signal handler must not take locks (Event.set could deadlock re-entered)
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _frame: stopping.append(signum))
    parent = os.getppid()
    print(f"STANDIN READY {server.url}", flush=True)
    while not stopping and os.getppid() == parent:  # also ends if the parent died before prctl took effect
        time.sleep(0.2)
    server.stop(timeout_s=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
