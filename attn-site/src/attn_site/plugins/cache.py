"""Keys, storage and eviction for every cache of the site build (``.cache/<name>/``).

An entry is a file named by the hash of everything its content depends on, so a changed input
is a new key and a stale entry is never read, only left behind; reading an entry marks it used,
and :meth:`DiskCache.evict` deletes the entries left unused for longer than a given age. Writes go
through a temporary file and a rename, so a build that stops half-way leaves no torn entry.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     cache = DiskCache(Path(folder) / "demo")
...     key = cache.key("page.md", b"# Title", {"option": 1})
...     cache.read_text(key, ".html") is None
...     _ = cache.write_text(key, "<h1>Title</h1>", ".html")
...     cache.read_text(key, ".html")
True
'<h1>Title</h1>'
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

WEEK_S = 7 * 24 * 3600


def files_key(root: Path, folders: Iterable[str], pattern: str = "*") -> str:
    """A key of every file matching ``pattern`` under ``folders`` (relative to ``root``): paths and bytes.

    Byte-code and packaging metadata are left out: they follow from the sources.
    """
    found = [path for folder in folders for path in (root / folder).rglob(pattern)]
    sources = sorted(p for p in found if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p))
    return DiskCache.key(*[part for path in sources for part in (path.relative_to(root).as_posix(), path.read_bytes())])


class DiskCache:
    """Files in ``folder``, one per entry, named by their key (and a suffix)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @staticmethod
    def key(*parts: object) -> str:
        """A hex digest of ``parts``: bytes as they are, anything else as its JSON (or repr when not JSON).

        >>> DiskCache.key("a", 1) == DiskCache.key("a", 1) != DiskCache.key("a", 2)
        True
        """
        digest = hashlib.sha256()
        for part in parts:
            if isinstance(part, bytes):
                data = part
            else:
                try:
                    data = json.dumps(part, sort_keys=True, ensure_ascii=False, default=repr).encode("utf-8")
                except TypeError:
                    data = repr(part).encode("utf-8")
            digest.update(len(data).to_bytes(8, "little") + data)
        return digest.hexdigest()[:32]

    def path(self, key: str, suffix: str = "") -> Path:
        return self.folder / f"{key}{suffix}"

    def read_bytes(self, key: str, suffix: str = "") -> bytes | None:
        """The entry, marked as used, or None."""
        path = self.path(key, suffix)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        os.utime(path)
        return data

    def write_bytes(self, key: str, data: bytes, suffix: str = "") -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(key, suffix)
        with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".tmp-", delete=False) as partial:
            partial.write(data)
        os.replace(partial.name, target)
        return target

    def read_text(self, key: str, suffix: str = "") -> str | None:
        data = self.read_bytes(key, suffix)
        return None if data is None else data.decode("utf-8")

    def write_text(self, key: str, text: str, suffix: str = "") -> Path:
        return self.write_bytes(key, text.encode("utf-8"), suffix)

    def read_json(self, key: str) -> object | None:
        text = self.read_text(key, ".json")
        return None if text is None else json.loads(text)

    def write_json(self, key: str, value: object) -> Path:
        return self.write_text(key, json.dumps(value, ensure_ascii=False), ".json")

    def evict(self, max_age_s: float = WEEK_S) -> int:
        """Delete the entries unused for longer than ``max_age_s`` seconds; return how many."""
        if not self.folder.is_dir():
            return 0
        oldest = time.time() - max_age_s
        removed = 0
        for path in self.folder.iterdir():
            if path.is_file() and path.stat().st_mtime < oldest:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


class SqliteCache:
    """Many small text entries in one SQLite file: the same keys as :class:`DiskCache`, cheaper per entry.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     cache = SqliteCache(Path(folder) / "render.sqlite")
    ...     cache.put("k", "v")
    ...     cache.get("k"), cache.get("other")
    ...     cache.close()
    ('v', None)
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)  # autocommit
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = OFF")  # a cache: losing it costs a slower build, nothing else
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, used REAL NOT NULL)"
        )

    key = staticmethod(DiskCache.key)

    def get(self, key: str) -> str | None:
        """The entry, marked as used, or None."""
        row = self.db.execute("SELECT value FROM cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self.db.execute("UPDATE cache SET used = ? WHERE key = ?", (time.time(), key))
        return str(row[0])

    def put(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO cache VALUES (?, ?, ?)", (key, value, time.time()))

    def evict(self, max_age_s: float = WEEK_S) -> int:
        """Delete the entries unused for longer than ``max_age_s`` seconds; return how many."""
        return self.db.execute("DELETE FROM cache WHERE used < ?", (time.time() - max_age_s,)).rowcount

    def close(self) -> None:
        self.db.close()
