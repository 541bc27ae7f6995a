"""Listing writes made on this machine, told to every process on it that serves the same database.

Each process's read model (``directory/readmodel.py``) asks the database for its revision before it
answers, unless it asked less than ``READ_MODEL_CHECK_MS`` ago and nothing was written here since. What
"written here" means is one 8-byte token in a small file every process on the machine serving the same
database maps into memory: a statement that writes a table the public answers read (the tables whose
triggers log changes, migration 0012, and the organisations) draws a new random token after it runs and
again when its transaction commits. A process whose last check saw another token checks again.

So a change committed through any process on this machine (another gunicorn worker, the admin,
``load_seed``) is in the next answer of every process here, and one committed elsewhere (another node,
SQL typed by hand) within ``READ_MODEL_CHECK_MS``. A random token, not a counter: two writers that draw at
once each leave a value no reader has seen, so no lock is needed; a torn read only costs one more check.

The file is the user's own (created 0600, opened without following links, its owner checked); where that
cannot be had, and for an in-memory database no other process can see, the token lives in this process
only and the others fall back on the time bound.
"""

import hashlib
import importlib
import logging
import mmap
import os
import secrets
import stat
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

_TOKEN = struct.Struct("=Q")
# The tables whose triggers log a listing's changes, as the migration that made them names them.
LOGGED_TABLES = tuple(importlib.import_module("directory.migrations.0012_directory_change_log").LOGGED)
# What answers show of an organisation is read with the page, but its changes date the answers (Last-Modified).
WATCHED_TABLES = (*LOGGED_TABLES, "directory_organization")
_WRITES = ("insert", "update", "delete", "truncate", "replace", "with")


class _Token:
    """The token's 8 bytes: a shared file's, mapped, or this process's own."""

    def __init__(self, memory: mmap.mmap, shared_at: Path | None) -> None:
        self.memory = memory
        self.shared_at = shared_at

    def read(self) -> int:
        return int(_TOKEN.unpack_from(self.memory)[0])

    def draw(self) -> None:
        _TOKEN.pack_into(self.memory, 0, secrets.randbits(64))


def _identity(settings_dict: dict[str, Any], vendor: str) -> str | None:
    """What names the database for every process on this machine; None for one only this process sees."""
    name = str(settings_dict.get("NAME") or "")
    if vendor == "sqlite":
        if not name or name == ":memory:" or "mode=memory" in name:
            return None
        return f"sqlite:{Path(name).resolve()}"
    return f"{vendor}:{settings_dict.get('HOST')}:{settings_dict.get('PORT')}:{name}"


def _private() -> mmap.mmap:
    memory = mmap.mmap(-1, _TOKEN.size)
    _TOKEN.pack_into(memory, 0, secrets.randbits(64))
    return memory


def _shared(path: Path) -> mmap.mmap:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        found = os.fstat(descriptor)
        if found.st_uid != os.getuid() or not stat.S_ISREG(found.st_mode) or found.st_mode & 0o077:
            raise PermissionError(f"{path} is not this user's own private file")
        if found.st_size < _TOKEN.size:
            os.ftruncate(descriptor, _TOKEN.size)
        return mmap.mmap(descriptor, _TOKEN.size)
    finally:
        os.close(descriptor)


# By the connection settings as given, so the hot path makes no system call (``_identity`` resolves a path).
_tokens: dict[tuple[Any, ...], _Token] = {}
_opened: dict[str | None, _Token] = {}


def _token_for(connection: BaseDatabaseWrapper) -> _Token:
    settings_dict = connection.settings_dict
    given = (connection.vendor, settings_dict.get("NAME"), settings_dict.get("HOST"), settings_dict.get("PORT"))
    token = _tokens.get(given)
    if token is None:
        identity = _identity(settings_dict, connection.vendor)
        token = _opened.get(identity)
        if token is None:
            token = _opened[identity] = _open(identity)
        _tokens[given] = token
    return token


def _open(identity: str | None) -> _Token:
    if identity is None:
        return _Token(_private(), None)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
    path = Path(tempfile.gettempdir()) / f"helpline-directory-{os.getuid()}-{digest}.writes"
    try:
        return _Token(_shared(path), path)
    except OSError as problem:
        logger.warning("listing writes are not shared with this machine's other processes (%s)", problem)
        return _Token(_private(), None)


def token(connection: BaseDatabaseWrapper) -> int:
    """The token now: it differs from one read earlier if a listing was written on this machine since."""
    return _token_for(connection).read()


def writes_listings(sql: str) -> bool:
    """Whether the statement may change a table the public answers read (erring towards yes)."""
    head = sql.lstrip()[:8].lower()
    if not head.startswith(_WRITES):
        return False
    text = sql.lower()
    return "directory_" in text and any(table in text for table in WATCHED_TABLES)


def _watch(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    result = execute(sql, params, many, context)
    if writes_listings(sql):
        connection: BaseDatabaseWrapper = context["connection"]
        chosen = _token_for(connection)
        # Now: reads in the same transaction (this process's) see the write; at the commit: everyone's.
        chosen.draw()
        if connection.in_atomic_block:
            pending = connection.run_on_commit
            if not (pending and pending[-1][1] == chosen.draw):
                transaction.on_commit(chosen.draw, using=connection.alias)
    return result


def watch(connection: BaseDatabaseWrapper, **_: Any) -> None:
    """Watch the statements ``connection`` runs (``connection_created``: every connection, once)."""
    if _watch not in connection.execute_wrappers:
        connection.execute_wrappers.append(_watch)


connection_created.connect(watch, dispatch_uid="directory-local-writes")
