"""Fixtures of the devkit's own tests: small repos written by hand in tmp_path.

A repo is what `gcf_devkit.project` reads: `.copier-answers.yml`, `functions.yaml` and one
`env.<environment>.yaml` per environment. The `repo` fixture writes one from the answers of
an HTTP function `my-function` (entry point `my_function`, project `my-project-id`, region
us-central1, environments dev and production, 512Mi, cpu "1", concurrency 80, timeout 60,
instances 0 to 100, CI on GitHub Actions for acme/my-function), updated by `answers` (a None
value removes an answer). Each env file sets ENVIRONMENT, LOG_LEVEL and GOOGLE_CLOUD_PROJECT
(my-project-id in production, my-project-<environment> elsewhere), updated by `env`.
No test here renders the template: these run in well under a second each.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

BASE_ANSWERS: dict[str, Any] = {
    "_commit": "v2.0.0",
    "_src_path": "gh:acme/gcf-template",
    "project_name": "My Function",
    "preset": "single",
    "function_name": "my-function",
    "entry_point": "my_function",
    "gcp_project_id": "my-project-id",
    "region": "us-central1",
    "runtime": "python313",
    "environments": ["dev", "production"],
    "trigger_type": "http",
    "allow_unauthenticated": False,
    "workload": "io_bound",
    "memory": "512Mi",
    "cpu": "1",
    "concurrency": 80,
    "timeout": 60,
    "min_instances": 0,
    "max_instances": 100,
    "secrets": [],
    "vpc": "none",
    "database": "none",
    "billing_account": "",
    "monthly_budget": 0,
    "ci_provider": "github_actions",
    "repository": "acme/my-function",
}
HTTP_FUNCTION = {"my-function": {"entry_point": "my_function", "trigger_type": "http"}}


def cloud_project(environment: str) -> str:
    """The GOOGLE_CLOUD_PROJECT of an environment's env file."""
    return "my-project-id" if environment == "production" else f"my-project-{environment}"


class Repo(Protocol):
    def __call__(
        self,
        functions: Mapping[str, Any] | None = None,
        *,
        answers: Mapping[str, Any] | None = None,
        env: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Path: ...


def write_env_file(path: Path, variables: Mapping[str, str]) -> None:
    """An env file as the template writes it: one `NAME: "value"` line each."""
    lines = ["# Environment variables (written by a test)."]
    lines += [f"{name}: {json.dumps(value)}" for name, value in variables.items()]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """Write a repo in tmp_path/repo and return its root (see the module's docstring)."""

    def write(
        functions: Mapping[str, Any] | None = None,
        *,
        answers: Mapping[str, Any] | None = None,
        env: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Path:
        root = tmp_path / "repo"
        root.mkdir(exist_ok=True)
        given = {**BASE_ANSWERS, **(answers or {})}
        given = {k: v for k, v in given.items() if v is not None}
        (root / ".copier-answers.yml").write_text(
            "# Answers given to gcf-template.\n" + yaml.safe_dump(given, sort_keys=False)
        )
        manifest = {"functions": dict(HTTP_FUNCTION if functions is None else functions)}
        (root / "functions.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
        for environment in given.get("environments") or ["production"]:
            variables = {
                "ENVIRONMENT": environment,
                "GOOGLE_CLOUD_PROJECT": cloud_project(environment),
                "LOG_LEVEL": "INFO" if environment == "production" else "DEBUG",
                **(env or {}).get(environment, {}),
            }
            write_env_file(root / f"env.{environment}.yaml", variables)
        return root

    return write
