"""The files of a function repo, and the one reader of each: answers, env files, secrets.

Every command reads env.<environment>.yaml and .secrets.yaml through `read_env_file` and
`read_secrets_file`, so a file that one command takes, every command takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gcf_devkit import rules
from gcf_devkit._errors import GcfError

MANIFEST = "functions.yaml"
ANSWERS = ".copier-answers.yml"
SECRETS = ".secrets.yaml"


class ProjectError(GcfError):
    """A file of the repo breaks a rule; `errors` has one line per problem."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Layout:
    """Where a repo keeps each file the commands read and write."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Layout:
        """The repo that holds `start` (the current directory): the nearest folder with
        functions.yaml."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / MANIFEST).is_file():
                return cls(folder)
        raise ProjectError(
            [f"no {MANIFEST} in {here} or above it: run this in a repo made by gcf-template"]
        )

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST

    @property
    def answers(self) -> Path:
        return self.root / ANSWERS

    @property
    def main_py(self) -> Path:
        return self.root / "main.py"

    @property
    def schema(self) -> Path:
        return self.root / "schema.sql"

    @property
    def secrets(self) -> Path:
        return self.root / SECRETS

    @property
    def mounted_secrets(self) -> Path:
        """Where `gcf dev` writes the secrets that are mounted as files when deployed."""
        return self.root / ".secrets" / "mounted"

    @property
    def local(self) -> Path:
        """What `gcf dev` keeps between runs: emulator logs and local stand-ins (git-ignored)."""
        return self.root / ".local"

    @property
    def deploy_dir(self) -> Path:
        """Where `gcf deploy` writes each function's env file (git-ignored)."""
        return self.root / ".deploy"

    def env_file(self, environment: str) -> Path:
        return self.root / f"env.{environment}.yaml"

    def environments_on_disk(self) -> list[str]:
        return sorted(p.name[4:-5] for p in self.root.glob("env.*.yaml"))


def read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ProjectError([f"{path.name} is missing"]) from None
    except yaml.YAMLError as error:
        raise ProjectError([f"{path.name} is not valid YAML: {error}"]) from None


def read_answers(layout: Layout) -> dict[str, Any]:
    """The answers given to gcf-template (.copier-answers.yml), without Copier's own keys."""
    answers = read_yaml(layout.answers) or {}
    if not isinstance(answers, dict):
        raise ProjectError([f"{ANSWERS} must be a map of answers"])
    return {str(k): v for k, v in answers.items() if not str(k).startswith("_")}


# One line of a flat YAML map with a quoted value, as env files and .secrets.yaml are written:
# read without PyYAML, which keeps it out of the dev server's start-up.
QUOTED_ENTRY = re.compile(
    r"""^(?P<key>[A-Za-z_/][^\s:"'#]*):[ \t]+(?:"(?P<double>[^"\\]*)"|'(?P<single>[^']*)')[ \t]*(?:#.*)?$"""
)


def _read_map(path: Path, secret: bool) -> dict[str, Any]:
    """A YAML map from a file; an error names the file and, for secrets, never shows a value."""
    text = path.read_text()
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    matches = [QUOTED_ENTRY.match(line) for line in lines]
    if all(matches):
        return {
            m["key"]: m["double"] if m["double"] is not None else m["single"]
            for m in matches
            if m is not None
        }
    import yaml

    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        if secret:  # PyYAML's message may quote the line, and so a secret: say where only
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ProjectError(
                [f'{path.name} is not valid YAML{where}: quote each value, such as KEY: "..."']
            ) from None
        raise ProjectError([f"{path.name} is not valid YAML: {error}"]) from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ProjectError([f"{path.name} must be a map of names to string values"])
    return values


def read_env_file(path: Path) -> dict[str, str]:
    """An environment's variables (env.<environment>.yaml): names a function may have, each
    with a string value, as Cloud Run takes them."""
    if not path.exists():
        raise ProjectError([f"{path.name} is missing"])
    values = _read_map(path, secret=False)
    errors = [error for name in values if (error := rules.env_name_error(name, path.name))]
    wrong = [str(k) for k, v in values.items() if not isinstance(v, str)]
    if wrong:
        errors.append(
            f"{path.name}: values must be strings, as Cloud Run sets them; quote them: "
            f"{', '.join(wrong)}"
        )
    if errors:
        raise ProjectError(errors)
    return {str(k): v for k, v in values.items()}


def read_secrets_file(path: Path) -> dict[str, str]:
    """Local values of the functions' secrets (.secrets.yaml, git-ignored): each secret's
    variable name, or its mount path, with a string value. An absent file has none."""
    if not path.exists():
        return {}
    values = _read_map(path, secret=True)
    errors = [
        f"{path.name}: {name!r} must be a variable name or a mount path such as /etc/secrets/key"
        for name in values
        if not (isinstance(name, str) and (name.startswith("/") or rules.ENV_NAME.fullmatch(name)))
    ]
    wrong = [str(k) for k, v in values.items() if not isinstance(v, str)]
    if wrong:
        errors.append(f"{path.name}: values must be strings; quote them: {', '.join(wrong)}")
    if errors:
        raise ProjectError(errors)
    return {str(k): v for k, v in values.items()}
