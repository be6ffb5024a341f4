"""The model of a function repo: its answers, functions.yaml, environments and env files.

`Project.load()` reads and checks the repo that holds the current directory; each
function's settings are resolved into a typed `Function`. Every command reads the repo
through this package, so they all see the same functions and the same variables.
"""

from gcf_devkit.project._files import (
    ANSWERS,
    MANIFEST,
    SECRETS,
    Layout,
    ProjectError,
    read_answers,
    read_env_file,
    read_secrets_file,
    read_yaml,
)
from gcf_devkit.project._function import Function
from gcf_devkit.project._manifest import KEYS, load_functions, resolve
from gcf_devkit.project._project import Project

__all__ = [
    "ANSWERS",
    "KEYS",
    "MANIFEST",
    "SECRETS",
    "Function",
    "Layout",
    "Project",
    "ProjectError",
    "load_functions",
    "read_answers",
    "read_env_file",
    "read_secrets_file",
    "read_yaml",
    "resolve",
]
