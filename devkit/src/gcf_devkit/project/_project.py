"""A function repo: its answers, its functions, and what they are named in each environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gcf_devkit import rules
from gcf_devkit.project._files import (
    Layout,
    ProjectError,
    read_answers,
    read_env_file,
    read_secrets_file,
    read_yaml,
)
from gcf_devkit.project._function import Function
from gcf_devkit.project._manifest import load_functions


@dataclass(frozen=True)
class Project:
    """The repo-wide answers and every function of functions.yaml, checked."""

    layout: Layout
    answers: dict[str, Any]
    functions: dict[str, Function] = field(default_factory=dict)

    @classmethod
    def load(cls, start: Path | None = None) -> Project:
        """Read and check the repo that holds `start` (the current directory); raise
        ProjectError with every problem found."""
        layout = Layout.find(start)
        answers = read_answers(layout)
        return cls(layout, answers, load_functions(read_yaml(layout.manifest), answers))

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def project_id(self) -> str:
        return str(self.answers.get("gcp_project_id", ""))

    @property
    def function_name(self) -> str:
        """The repo's own name (the answer function_name), which names its accounts."""
        return str(self.answers.get("function_name", "function"))

    @property
    def runtime(self) -> str:
        return str(self.answers.get("runtime", "python313"))

    @property
    def environments(self) -> list[str]:
        return list(self.answers.get("environments") or [rules.PRODUCTION])

    @property
    def ci_environments(self) -> list[str]:
        return rules.ci_environments(self.environments)

    @property
    def ci_provider(self) -> str:
        return str(self.answers.get("ci_provider", "none"))

    def deployer(self, environment: str) -> str:
        """The identity that deploys to `environment` (CI runs as it; only that environment's
        CI jobs may)."""
        return rules.deployer(self.function_name, self.project_id, environment)

    def shared_identity_warnings(self) -> list[str]:
        """One line for each identity that functions with different rights share: each of them
        holds every right of the others."""
        by_account: dict[str, list[Function]] = {}
        for f in self.functions.values():
            by_account.setdefault(f.service_account, []).append(f)
        warnings = []
        for account, functions in by_account.items():
            if len({f.rights for f in functions}) > 1:
                names = ", ".join(f.name for f in functions)
                rights = "; ".join(
                    f"{f.name}: {', '.join(sorted(f.rights)) or 'nothing'}" for f in functions
                )
                warnings.append(
                    f"identity: {names} run as {account} but need different rights ({rights}), "
                    "so each holds the others' too. Give each its own service_account in "
                    "functions.yaml (`make setup` creates it)."
                )
        return warnings

    def check_environment(self, environment: str) -> None:
        if environment not in self.environments:
            raise ProjectError(
                [
                    f"unknown environment {environment!r}: known environments are "
                    f"{', '.join(self.environments)}"
                ]
            )

    def variables(self, environment: str) -> dict[str, str]:
        """The environment's variables (env.<environment>.yaml)."""
        return read_env_file(self.layout.env_file(environment))

    def secrets(self) -> dict[str, str]:
        """Local values of the secrets (.secrets.yaml)."""
        return read_secrets_file(self.layout.secrets)

    def cloud_project(self, environment: str) -> str:
        """The project an environment deploys to: GOOGLE_CLOUD_PROJECT in its env file."""
        project = self.variables(environment).get("GOOGLE_CLOUD_PROJECT", "")
        if not rules.PROJECT_ID.fullmatch(project):
            name = self.layout.env_file(environment).name
            raise ProjectError(
                [f"{name} must set GOOGLE_CLOUD_PROJECT to a project id (got {project!r})"]
            )
        return project

    def owned_topics(self) -> set[str]:
        """Topics the repo creates: those its functions publish to, scheduler topics, the
        topics of its own push subscriptions and their dead-letter topics."""
        topics = {t for f in self.functions.values() for t in f.publishes.values()}
        for f in self.functions.values():
            if f.trigger_type == "scheduler" or f.push_subscription:
                topics.add(f.pubsub_topic)
            if f.dead_letter_topic:
                topics.add(f.dead_letter_topic)
        return topics

    def topic(self, topic: str, environment: str) -> str:
        """A topic's id in an environment: the repo's own topics are suffixed outside production."""
        if topic in self.owned_topics():
            return rules.deployed_name(topic, environment)
        return topic

    def deployed_name(self, function: Function, environment: str) -> str:
        """The deployed name: <name>-<environment> outside production."""
        return rules.deployed_name(function.name, environment)

    def by_entry_point(self) -> dict[str, Function]:
        return {f.entry_point: f for f in self.functions.values()}

    def select(self, only: str | None) -> list[Function]:
        """Every function, or the one named `only`."""
        if only is not None and only not in self.functions:
            raise ProjectError(
                [f"no function {only!r} in functions.yaml: it has {', '.join(self.functions)}"]
            )
        return [f for f in self.functions.values() if only in (None, f.name)]
