"""Local stand-ins, as files, for what a pipeline writes to BigQuery, SendGrid and its state bucket.

`gcf dev` sets LOCAL_SINK_DIR (.local/sinks/, git-ignored), and a repo's clients.py
then calls these functions instead of the services; its unit tests do the same in a
temporary folder. Deployed, LOCAL_SINK_DIR is unset and nothing here runs.

    bigquery/<table>/<digest>.jsonl    the rows of one insert: {"insert_id", "row"} per line
    emails/<time>-<random>.eml         one email each
    state/<bucket>/<key>               the state bucket's objects: JSON metadata, or empty

Every file is written whole under a temporary name and then renamed into place, so a
reader never sees half a file and two writers at the same moment (threads or processes)
never take the same name or lose each other's work.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _temporary(path: Path, data: bytes) -> Path:
    """Write `data` to a new temporary file beside `path`; return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    temporary.write_bytes(data)
    return temporary


def write_new(path: Path, data: bytes) -> bool:
    """Create `path` holding `data`, atomically; False (and nothing written) when it exists."""
    temporary = _temporary(path, data)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    return True


def replace(path: Path, data: bytes) -> None:
    """Write `path` holding `data`, atomically, replacing what it held."""
    os.replace(_temporary(path, data), path)


def insert_rows(
    folder: Path, table: str, rows: Sequence[Mapping[str, Any]], row_ids: Sequence[str]
) -> bool:
    """Store rows as BigQuery's insertAll does: rows whose insert ids were stored together
    before are dropped, so a redelivered batch is stored once. Return False when they were."""
    digest = hashlib.sha256("\n".join(row_ids).encode()).hexdigest()[:32]
    lines = [
        json.dumps({"insert_id": row_id, "row": row}) + "\n"
        for row, row_id in zip(rows, row_ids, strict=True)
    ]
    return write_new(folder / "bigquery" / table / f"{digest}.jsonl", "".join(lines).encode())


def stored_rows(folder: Path, table: str) -> list[dict[str, Any]]:
    """Every row stored in a local table, as {"insert_id", "row"}."""
    found = []
    for path in sorted((folder / "bigquery" / table).glob("*.jsonl")):
        found += [json.loads(line) for line in path.read_text().splitlines() if line]
    return found


def write_email(folder: Path, sender: str, to: Sequence[str], subject: str, text: str) -> Path:
    """Write an email as a file of its own (named by the time it was sent); return its path."""
    message = f"From: {sender}\nTo: {', '.join(to)}\nSubject: {subject}\n\n{text}"
    while True:
        path = folder / "emails" / f"{time.time_ns()}-{secrets.token_hex(4)}.eml"
        if write_new(path, message.encode()):
            return path


def _state(folder: Path, bucket: str, key: str) -> Path:
    if not bucket or not key or ".." in key.split("/") or key.startswith("/"):
        raise ValueError(
            f"a state object needs a bucket and a relative key (got {bucket!r}, {key!r})"
        )
    return folder / "state" / bucket / key


def save_state(folder: Path, bucket: str, key: str, values: Mapping[str, str]) -> None:
    """Write the object `key` of the state bucket, with `values` as its metadata."""
    replace(_state(folder, bucket, key), json.dumps(dict(values)).encode())


def list_state(folder: Path, bucket: str, prefix: str) -> dict[str, dict[str, str]]:
    """The objects of the state bucket whose keys start with `prefix`, with their metadata.

    Only the folders on the way to `prefix` are read, so that listing one object among
    thousands of others (a file's `last` beside its batches) stays cheap.
    """
    root = folder / "state" / bucket
    found: dict[str, dict[str, str]] = {}
    folders = [root] if root.is_dir() else []
    while folders:
        for path in folders.pop().iterdir():
            key = path.relative_to(root).as_posix()
            if path.name.startswith("."):
                continue  # a file being written
            if path.is_dir():
                if key.startswith(prefix) or prefix.startswith(key + "/"):
                    folders.append(path)
            elif key.startswith(prefix):
                text = path.read_text()
                found[key] = json.loads(text) if text else {}
    return found


def claim(folder: Path, bucket: str, key: str) -> bool:
    """Create the empty object `key` unless it exists: True for the one caller that created it."""
    return write_new(_state(folder, bucket, key), b"")


def release(folder: Path, bucket: str, key: str) -> None:
    """Delete the object `key`, so that a retry can claim it again."""
    _state(folder, bucket, key).unlink(missing_ok=True)
