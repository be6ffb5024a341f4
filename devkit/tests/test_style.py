"""Sync and async functions: what functions.yaml says of each, and what the deploy sets for it.

main.py's decorator decides a function's style (`gcf check` compares them: test_cli.py); the
manifest key `function_style` tells the commands that do not import main.py, such as the
deploy: an async function gets WORKERS rather than THREADS, a concurrency its one event loop
can take, and a push endpoint in which Cloud Run delivers CloudEvents.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from gcf_devkit.cloud import deploy
from gcf_devkit.project import Project, ProjectError

if TYPE_CHECKING:
    from tests.conftest import Repo

DEAD_LETTER = {"trigger_type": "pubsub", "pubsub_topic": "jobs", "dead_letter_topic": "jobs-dead"}


def variables(root: Path, name: str, environment: str = "dev") -> dict[str, str]:
    deploy.plan(Project.load(root), environment, None, dry_run=True)
    loaded: dict[str, str] = yaml.safe_load(
        (root / ".deploy" / environment / f"{name}.yaml").read_text()
    )
    return loaded


def push_endpoint(root: Path, name: str) -> str:
    project = Project.load(root)
    plan = deploy.plan(project, "dev", None, dry_run=True)
    step = deploy.push_subscription(plan, project.functions[name], f"{name}-dev", create=True)
    (endpoint,) = [f for f in step.command if f.startswith("--push-endpoint=")]
    return endpoint.partition("=")[2]


def test_a_function_takes_its_own_style_else_the_answers_else_sync(repo: Repo) -> None:
    functions = {"my-function": {}, "other": {"function_style": "async"}}
    assert {n: f.function_style for n, f in Project.load(repo(functions)).functions.items()} == {
        "my-function": "sync",
        "other": "async",
    }
    root = repo(
        functions | {"third": {"function_style": "sync"}}, answers={"function_style": "async"}
    )
    styles = {n: f.is_async for n, f in Project.load(root).functions.items()}
    assert styles == {"my-function": True, "other": True, "third": False}


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"function_style": "asyncio"}, "function_style: must be one of sync, async"),
        ({"function_style": True}, "function_style: must be a string"),
        (
            {"function_style": "async", "concurrency": 501, "memory": "2Gi", "cpu": "2"},
            "concurrency: an async function serves its requests on one event loop",
        ),
    ],
)
def test_a_bad_style_or_a_concurrency_beyond_one_loop_is_refused(
    repo: Repo, entry: dict[str, object], error: str
) -> None:
    with pytest.raises(ProjectError) as raised:
        Project.load(repo({"my-function": entry}))
    assert any(error in e for e in raised.value.errors), raised.value.errors


def test_a_sync_function_may_take_more_than_one_loop_would(repo: Repo) -> None:
    answers = {"memory": "4Gi", "cpu": "2", "concurrency": 1000}
    assert Project.load(repo(answers=answers)).functions["my-function"].concurrency == 1000


def test_an_async_function_runs_one_worker_and_no_threads(repo: Repo) -> None:
    root = repo({"my-function": {"function_style": "async", "concurrency": 200}, "other": {}})
    served = variables(root, "my-function")
    assert (served["WORKERS"], served["CONCURRENCY"], "THREADS" in served) == ("1", "200", False)
    other = variables(root, "other")
    assert (other["THREADS"], "WORKERS" in other, "CONCURRENCY" in other) == ("80", False, False)


def test_an_async_functions_push_subscription_delivers_cloudevents(repo: Repo) -> None:
    root = repo({"worker": {**DEAD_LETTER, "function_style": "async"}, "sync-worker": DEAD_LETTER})
    url = "https://us-central1-my-project-dev.cloudfunctions.net"
    assert push_endpoint(root, "worker") == (
        f"{url}/worker-dev/?__GCP_CloudEventsMode=CUSTOM_PUBSUB_projects%2Fmy-project-dev%2Ftopics%2Fjobs-dev"
    )
    # A sync function converts the raw push body itself (functions-framework's Flask path).
    assert push_endpoint(root, "sync-worker") == (
        f"{url}/sync-worker-dev/projects/my-project-dev/topics/jobs-dev"
    )
