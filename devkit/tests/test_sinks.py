"""The local stand-ins of a pipeline's BigQuery, SendGrid and state bucket: written atomically,
so that concurrent writers (threads here; the server's workers are threads too) lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gcf_devkit.local import sinks

WRITERS = 32


def at_once(work, count: int = WRITERS) -> list:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(work, range(count)))


def test_emails_written_at_the_same_moment_are_all_kept(tmp_path: Path) -> None:
    paths = at_once(lambda n: sinks.write_email(tmp_path, "a@b.co", ["c@d.co"], f"#{n}", "text"))
    assert len(set(paths)) == WRITERS
    subjects = {p.read_text().splitlines()[2] for p in (tmp_path / "emails").glob("*.eml")}
    assert subjects == {f"Subject: #{n}" for n in range(WRITERS)}
    assert not list((tmp_path / "emails").glob(".*")), "a temporary file was left behind"


def test_one_claimer_wins_and_a_release_lets_the_next_one_claim(tmp_path: Path) -> None:
    assert sorted(at_once(lambda _: sinks.claim(tmp_path, "state", "files/x/notified"))) == [
        *[False] * (WRITERS - 1),
        True,
    ]
    sinks.release(tmp_path, "state", "files/x/notified")
    assert sinks.claim(tmp_path, "state", "files/x/notified")


def test_a_redelivered_insert_is_stored_once_and_concurrent_inserts_all_are(
    tmp_path: Path,
) -> None:
    def insert(n: int) -> bool:
        return sinks.insert_rows(tmp_path, "d.t", [{"n": n % 8}], [f"id-{n % 8}"])

    assert sum(at_once(insert)) == 8
    stored = sinks.stored_rows(tmp_path, "d.t")
    assert sorted(row["insert_id"] for row in stored) == [f"id-{n}" for n in range(8)]


def test_state_is_listed_by_prefix_with_its_values(tmp_path: Path) -> None:
    at_once(lambda n: sinks.save_state(tmp_path, "state", f"files/f/batches/{n}", {"n": str(n)}))
    sinks.save_state(tmp_path, "state", "files/g/last", {})
    listed = sinks.list_state(tmp_path, "state", "files/f/")
    assert listed == {f"files/f/batches/{n}": {"n": str(n)} for n in range(WRITERS)}


@pytest.mark.parametrize("key", ["../outside", "/absolute", "a/../../b", ""])
def test_a_state_key_cannot_leave_its_bucket(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="relative key"):
        sinks.claim(tmp_path, "state", key)


def test_listing_one_object_reads_only_the_folders_on_its_way(tmp_path: Path) -> None:
    for n in range(3):
        sinks.save_state(tmp_path, "state", f"files/f/batches/{n}", {"n": str(n)})
    sinks.save_state(tmp_path, "state", "files/f/last", {"last": "yes"})
    assert sinks.list_state(tmp_path, "state", "files/f/last") == {"files/f/last": {"last": "yes"}}
    assert list(sinks.list_state(tmp_path, "state", "files/f/batches/1")) == ["files/f/batches/1"]
    assert sinks.list_state(tmp_path, "nothing-yet", "files/") == {}
