"""How `gcf dev` delivers Pub/Sub messages: the backoff between attempts, and its settings.

Delivery itself (retries, dead letters, nothing lost) runs against Google's emulator in the
template's tests/test_emulators.py."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from gcf_devkit.local import emulators
from gcf_devkit.local.delivery import backoff
from gcf_devkit.local.emulators import Subscription, seconds


def test_the_delay_doubles_from_the_least_to_the_most() -> None:
    assert [backoff(n, 10, 600) for n in range(1, 9)] == [10, 20, 40, 80, 160, 320, 600, 600]
    assert [backoff(n, 1, 1) for n in range(1, 5)] == [1, 1, 1, 1]


def test_the_delays_come_from_the_environment_or_the_deployed_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscription = Subscription("s", "t", "f", "http://127.0.0.1:1/f")
    monkeypatch.delenv("PUBSUB_MIN_RETRY_DELAY", raising=False)
    monkeypatch.delenv("PUBSUB_MAX_RETRY_DELAY", raising=False)
    assert subscription.retry_delays() == (10, 600)
    monkeypatch.setenv("PUBSUB_MIN_RETRY_DELAY", "1s")
    monkeypatch.setenv("PUBSUB_MAX_RETRY_DELAY", "0.5s")
    assert subscription.retry_delays() == (1, 1)  # the most is never below the least


def test_a_delay_that_is_not_seconds_is_refused_naming_its_variable() -> None:
    assert seconds("X", "1.5s") == 1.5
    with pytest.raises(ValueError, match=r"PUBSUB_MIN_RETRY_DELAY: must be seconds such as 10s"):
        seconds("PUBSUB_MIN_RETRY_DELAY", "1m")


def test_a_subscription_is_a_pull_subscription_the_devkit_delivers() -> None:
    body = Subscription("s", "t", "f", "http://127.0.0.1:1/f", "t-dead", 5).body("p")
    assert body == {"topic": "projects/p/topics/t", "ackDeadlineSeconds": 600}


def test_an_emulator_that_stops_while_make_dev_runs_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    process = emulators.Process("Pub/Sub emulator", ["sleep", "30"], 0, tmp_path)
    watcher = emulators.Emulators.__new__(emulators.Emulators)
    watcher.stopped, watcher.owner = threading.Event(), os.getpid()
    thread = threading.Thread(target=watcher.watch, args=(process,))
    thread.start()
    process.process.kill()
    thread.join(10)
    err = capsys.readouterr().err
    assert f"the Pub/Sub emulator (pid {process.process.pid}) stopped with exit code -9" in err
    assert str(process.log) in err
    # Stopped by make dev itself (Ctrl-C): nothing to report.
    process = emulators.Process("Pub/Sub emulator", ["sleep", "30"], 0, tmp_path)
    watcher.stopped.set()
    process.process.kill()
    watcher.watch(process)
    assert capsys.readouterr().err == ""


def test_a_push_subscription_without_a_dead_letter_topic_is_wired_without_one(repo) -> None:
    """Cloud Run's route gives every Pub/Sub function a push subscription of the repo's own;
    one without dead_letter_topic retries and is never moved (no topic named "")."""
    from gcf_devkit.project import Project

    root = repo(
        {"my-function": {"trigger_type": "pubsub", "pubsub_topic": "jobs", "deploy_api": "run"}}
    )
    project = Project.load(root)
    assert "" not in project.owned_topics()
    wired = emulators.wiring(project, "dev", "my-project-dev", 8080)
    assert wired.topics == ["jobs-dev"]
    [subscription] = wired.subscriptions
    assert (subscription.topic, subscription.dead_letter_topic) == ("jobs-dev", "")
