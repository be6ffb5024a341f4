"""gcf-template's Jinja extensions and the values they derive; extensions/gcf.py loads this
module into Copier (its docstring says how and why).

- `Questionnaire` gives copier.yml the rules and defaults of gcf-devkit (`check('cpu')`,
  `suggest('cpu')`): the very functions `gcf check` applies to functions.yaml, loaded from
  this template's own devkit/ (never from an installed gcf-devkit of another version).
- `Derived` adds to the context of every rendered file the values derived from the answers
  (names per environment, the functions of functions.yaml, CI jobs, ...), computed here
  rather than in Jinja inside copier.yml; they are not stored in the answers file.
- The locks a copy writes (`locked`), kept in locks/ (`python3 tasks.py lock`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import pickle
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from copier_template_extensions import ContextHook
from jinja2 import Environment, FileSystemBytecodeCache, __version__, pass_context
from jinja2.bccache import Bucket
from jinja2.ext import Extension
from jinja2.runtime import Context

ROOT = Path(__file__).resolve().parents[1]
# Given by extensions/gcf.py, which runs this module (gcf.run): gcf-devkit's rules as this
# template has them, and where copies keep what they compiled (None: nothing is kept).
rules: ModuleType = globals()["rules"]
cache_folder: Callable[[], Path | None] = globals()["cache_folder"]
# The locks of every requirements.in the template can write (`python3 tasks.py lock`), in one
# file of sections named <lock_key()>/<file> (every copy checks out this repository: one file
# is far quicker to write than a folder of them): docs/decisions/0007-locked-requirements.md.
LOCKS = ROOT / "locks"
STORE = LOCKS / "locks.txt"
# The answers that choose what requirements.in lists (template/requirements.in.jinja): every
# combination of them is locked. tests/test_locks.py renders requirements.in with these alone.
LOCK_ANSWERS = ("preset", "trigger_type", "function_style", "database")

# GitHub Actions that generated workflows use, pinned to the commit of a release.
ACTIONS = {
    "checkout": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1  # v7.0.1",
    "setup_python": "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97  # v7.0.0",
    "auth": "google-github-actions/auth@7c6bc770dae815cd3e89ee6cdf493a5fab2cc093  # v3.0.0",
    "setup_gcloud": "google-github-actions/setup-gcloud@aa5489c8933f4cc7a4f7d45035b3b1440c9c10db  # v3.0.1",
    "setup_uv": "astral-sh/setup-uv@20cfd1bf945f4377ade1205e4dbc17946fc9a30d  # v10.0.1",
}
# The uv that generated CI installs with (`make install` uses uv when it is on PATH): the same
# pin as pyproject.toml's dev group.
UV_VERSION = "0.13.9"
# The images generated GitLab CI and Cloud Build run, by tag and digest (the digest is what
# runs; the tag says what it is, and lets Renovate's docker:pinDigests refresh the digest).
# The python image of each runtime the template supports: tests/test_generated.py checks
# that every runtime has one. Multi-arch index digests of Docker Hub's official image.
PYTHON_IMAGES = {
    "3.11": "python:3.11@sha256:33b4060c8f8268bb55f244a11adf6a1d75348f1a3a8335b858c65fe755559b29",
    "3.12": "python:3.12@sha256:29cdc34ede8cd9716d1f40a8200447355ae210c05a539c1b0262ccc5fcaf183c",
    "3.13": "python:3.13@sha256:4889af0e45f04b7c5dd741421a1280919499d38d3125d714b69fa86b23b1052a",
    "3.14": "python:3.14@sha256:fe6ffb340c566fe7459832667da8b545896edb30c3dce0c3b1218ab4d377ba7d",
}
CLOUD_SDK_IMAGE = (
    "gcr.io/google.com/cloudsdktool/cloud-sdk:slim"
    "@sha256:b3c19d28b18621203fc6e360515061c086c3b103dc4cf09ff80051e1473ed5ec"
)
# The Copier, and its extension loader, that generated repos check for template updates with.
COPIER_VERSION = "9.19.1"
COPIER_TEMPLATE_EXTENSIONS_VERSION = "0.3.4"


class CompiledCache(FileSystemBytecodeCache):
    """Jinja's bytecode cache for Copier, which renders each copy from a new temporary clone:
    a template is found by its name and its source's checksum (Jinja checks it before use), not
    by the clone's path, in a folder of its own for each Jinja, Python and environment syntax.
    So a second copy, an update (which renders two versions) or a platform team's hundredth
    repo skips compiling what has not changed; the first copy on a machine compiles it all."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root))
        self.root = root
        self.ready = False

    def get_bucket(
        self, environment: Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        if not self.ready:  # the environment is complete by the first template it compiles
            self.directory = str(self.root / syntax_of(environment))
            with contextlib.suppress(OSError):  # then nothing is kept: compiled every time
                os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self.ready = True
        return super().get_bucket(environment, name, filename, source)

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return hashlib.sha256(name.encode()).hexdigest()

    def code_of(self, environment: Environment, source: str) -> Any:
        """The compiled code of a template string, from the cache or compiled and kept."""
        name = "string:" + hashlib.sha256(source.encode()).hexdigest()
        bucket = self.get_bucket(environment, name, None, source)
        if bucket.code is None:
            bucket.code = environment.compile(source)
            self.set_bucket(bucket)
        return bucket.code

    # A cache that cannot be read or written (no folder, a full or read-only disk, a broken
    # file) only means compiling again: the copy goes on.
    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, ValueError, EOFError, TypeError, pickle.UnpicklingError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


# What compiled code depends on besides its source: the environment's syntax and options.
SYNTAX_OPTIONS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
    "autoescape",
    "finalize",
    "is_async",
)


def syntax_of(environment: Environment) -> str:
    """A digest of the Jinja and Python versions and the environment's syntax and extensions."""
    syntax = [__version__, sys.version, type(environment).__qualname__]
    syntax += sorted(environment.extensions)
    syntax += [repr(getattr(environment, option, None)) for option in SYNTAX_OPTIONS]
    return hashlib.sha256(json.dumps(syntax).encode()).hexdigest()[:16]


def compiled_cache() -> CompiledCache | None:
    """The cache of compiled Jinja between copies, or None when it is off."""
    folder = cache_folder()
    return None if folder is None else CompiledCache(folder / "jinja")


class PlainText:
    """A template string without Jinja syntax, which renders to itself whatever the context."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, *args: Any, **kwargs: Any) -> str:
        return self.text


# Extensions whose preprocess returns the source unchanged: Copier's {% yield %} resets there
# what a previous {% yield %} left (Questionnaire's from_string runs it for every string).
SOURCE_KEEPING = {"copier._jinja_ext.YieldExtension"}


def plain_text_test(environment: Environment) -> Callable[[str], bool]:
    """A test for strings that Jinja, configured as `environment` is, renders unchanged: no
    delimiter, no line statement or comment, no new line Jinja would rewrite (a carriage
    return, or a final one it drops); nothing at all when an extension rewrites sources."""
    rewrites = any(
        type(e).preprocess is not Extension.preprocess
        or type(e).filter_stream is not Extension.filter_stream
        for e in environment.extensions.values()
        if f"{type(e).__module__}.{type(e).__qualname__}" not in SOURCE_KEEPING
    )
    prefixes = (environment.line_statement_prefix, environment.line_comment_prefix)
    if rewrites or prefixes != (None, None):
        return lambda source: False
    starts = [
        environment.block_start_string,
        environment.variable_start_string,
        environment.comment_start_string,
        "\r",
    ]
    if environment.newline_sequence != "\n":  # Jinja writes each new line as that
        starts.append("\n")
    drops_last_newline = not environment.keep_trailing_newline

    def is_plain(source: str) -> bool:
        if drops_last_newline and source.endswith("\n"):
            return False
        return not any(start in source for start in starts)

    return is_plain


# Copier's short forms of git servers, as pip needs them.
GIT_SERVERS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}


def devkit_pin(source: str, commit: str | None, clone: Any) -> str:
    """The requirement that installs gcf-devkit in a generated repo (includes/devkit.jinja,
    docs/decisions/0004-devkit-package.md), from the template's source as Copier records it:
    on a git server (gh:, gl:, git+..., https://, ssh), its devkit/ folder at the template's
    `commit`; in a local folder, that folder's devkit/ by its file URL, a relative or ~ path
    taken from where Copier runs (without a source, the `clone` Copier renders from)."""
    if source[:3] in GIT_SERVERS:
        url = GIT_SERVERS[source[:3]] + source[3:]
    elif source.startswith("git+"):
        url = source[4:]
    elif re.match(r"[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:", source):  # user@host:path
        url = "ssh://" + source.replace(":", "/", 1)
    elif re.match(r"(https?|ssh)://", source):
        url = source
    else:
        url = ""
    if url and commit:
        return f"gcf-devkit[local,testing] @ git+{url}@{commit}#subdirectory=devkit"
    folder = Path(os.path.abspath(os.path.expanduser(source or str(clone))))
    return f"gcf-devkit[local,testing] @ {folder.as_uri()}/devkit"


def lock_key(direct: str) -> str:
    """The folder of a requirements.in's locks: a digest of its requirement lines (comments,
    blank lines and their order aside), so that the rules of what it lists stay in
    requirements.in.jinja alone."""
    lines = sorted({line.split("#")[0].strip() for line in direct.splitlines()} - {""})
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


# The hashes of every file of every locked package, once (locks/hashes.txt): a lock is kept
# without its --hash lines, which are most of its bytes and the same in every lock.
HASHES = LOCKS / "hashes.txt"
_LOCKED_PACKAGE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*==[^\s;]+).* \\$")


def without_hashes(lock: str) -> tuple[str, dict[str, list[str]]]:
    """A lock as uv writes it -> (the lock without its --hash lines, each package's hashes)."""
    kept: list[str] = []
    hashes: dict[str, list[str]] = {}
    package = ""
    for line in lock.splitlines(keepends=True):
        if line.startswith("    --hash="):
            hashes.setdefault(package, []).append(line.strip().removesuffix("\\").strip())
            continue
        match = _LOCKED_PACKAGE.match(line)
        package = match[1] if match else ""
        kept.append(line)
    return "".join(kept), hashes


def with_hashes(kept: str, hashes: Mapping[str, list[str]]) -> str:
    """without_hashes() undone: the lock exactly as uv wrote it."""
    lines = []
    for line in kept.splitlines(keepends=True):
        lines.append(line)
        match = _LOCKED_PACKAGE.match(line)
        if match:
            values = hashes[match[1]]
            lines += [f"    {h} \\\n" for h in values[:-1]] + [f"    {values[-1]}\n"]
    return "".join(lines)


@functools.cache
def read_hashes() -> dict[str, list[str]]:
    text = HASHES.read_text() if HASHES.exists() else ""
    return {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}


# A section of locks/locks.txt starts with this line; no line of a lock or requirements.in does.
_SECTION = re.compile(r"^==> ([0-9a-z]+)/(requirements[a-z-]*\.(?:in|txt)) <==\n", re.M)
STORE_HEADER = (
    "# The locks of every requirements.in gcf-template can write, without their hashes\n"
    "# (hashes.txt), one section per file: ==> <key>/<file> <==. Written by `python3 tasks.py\n"
    "# lock`; docs/decisions/0007-locked-requirements.md.\n"
)


@functools.cache
def stored_files() -> dict[tuple[str, str], str]:
    """locks/locks.txt: (key, file name) -> the file as kept (locks without their hashes)."""
    parts = _SECTION.split(STORE.read_text() if STORE.exists() else "")
    return {(parts[i], parts[i + 1]): parts[i + 2] for i in range(1, len(parts), 3)}


def store_text(files: Mapping[tuple[str, str], str]) -> str:
    """locks/locks.txt holding `files`, each ending with a new line, as stored_files() reads it."""
    sections = sorted(files.items())
    return STORE_HEADER + "".join(f"==> {key}/{name} <==\n{text}" for (key, name), text in sections)


def stored_lock(key: str, name: str) -> str | None:
    """The file `name` of the locks of `key`, as uv wrote it (None when there is none)."""
    kept = stored_files().get((key, name))
    return None if kept is None else with_hashes(kept, read_hashes())


def locked(direct: str, name: str) -> str:
    """The lock `name` (requirements.txt, -dev, -deploy) of the requirements.in `direct`."""
    key = lock_key(direct)
    text = stored_lock(key, name)
    if text is None:
        # Only before `python3 tasks.py lock` has run; tests/test_locks.py fails on it.
        return f"# Not locked yet: run python3 tasks.py lock in gcf-template ({key}).\n"
    return text


def lock_combinations() -> list[dict[str, str]]:
    """Every combination of LOCK_ANSWERS a copy can answer: the single preset with each
    trigger, style and database; the pipeline (sync, no database question)."""
    combinations = [
        {"preset": "pipeline", "trigger_type": "http", "function_style": "sync", "database": "none"}
    ]
    for trigger in rules.TRIGGER_TYPES:
        for style in ("sync", "async"):
            for database in ("none", "cloudsql_postgres"):
                combinations.append(
                    {
                        "preset": "single",
                        "trigger_type": trigger,
                        "function_style": style,
                        "database": database,
                    }
                )
    return combinations


def answers_of(context: Context | Mapping[str, Any]) -> dict[str, Any]:
    values = context.get_all() if isinstance(context, Context) else context
    return {k: v for k, v in values.items() if not k.startswith("_")}


class Questionnaire(Extension):
    """`check(key)`: the rule of a question on its answer ("" when valid); `suggest(key)`:
    the default of a question from the answers before it."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)

        @pass_context
        def check(context: Context, key: str) -> str:
            return str(rules.question_error(key, answers_of(context)))

        @pass_context
        def suggest(context: Context, key: str) -> Any:
            return rules.question_default(key, answers_of(context))

        @pass_context
        def check_choice(context: Context, key: str, value: Any) -> str:
            """The rule's verdict on one choice of a list, before it is picked (a list cannot
            refuse a pick after the fact): "" offers it, a message greys it out."""
            return str(rules.question_error(key, {**answers_of(context), key: value}))

        environment.filters["locked"] = locked
        environment.globals.update(
            check=check,
            check_choice=check_choice,
            suggest=suggest,
            short_name=rules.short_name,
            devkit_pin=devkit_pin,
        )
        # Copier compiles each question's help, type, default and condition every time it
        # renders one (a thousand strings a copy, a few hundred distinct): compile each once,
        # and keep the compiled strings and files for the next copy (CompiledCache).
        # Half of those strings hold no Jinja at all ("str", a choice's title, a file's name):
        # each renders to itself (PlainText), with no compiled code to load and no context.
        cache = compiled_cache()
        environment.bytecode_cache = cache
        compile_string = environment.from_string
        compiled: dict[str, Any] = {}
        plain: list[Callable[[str], bool]] = []  # the test, once every extension is loaded

        def from_string(source: Any, globals: Any = None, template_class: Any = None) -> Any:
            if globals is not None or template_class is not None or not isinstance(source, str):
                return compile_string(source, globals, template_class)
            # As a compile would: Copier's {% yield %} resets there what the last string's set
            # (it sets it again as it renders).
            environment.preprocess(source)
            if source not in compiled:
                if not plain:
                    plain.append(plain_text_test(environment))
                if plain[0](source):
                    compiled[source] = PlainText(source)
                elif cache is None:
                    compiled[source] = compile_string(source)
                else:
                    code = cache.code_of(environment, source)
                    compiled[source] = environment.template_class.from_code(
                        environment, code, environment.make_globals(None)
                    )
            return compiled[source]

        environment.from_string = from_string  # type: ignore[method-assign]


STORAGE_EVENT_TEXT = {
    "finalized": "created or overwritten",
    "deleted": "deleted",
    "archived": "archived (made noncurrent)",
    "metadataUpdated": "given new metadata",
}
FIRESTORE_EVENT_TEXT = {
    "created": "created",
    "updated": "updated",
    "deleted": "deleted",
    "written": "created, updated or deleted",
}
SAMPLE_EVENT_FILE = {
    "http": "greet_post.json",
    "pubsub": "text_message.json",
    "scheduler": "scheduled_run.json",
    "audit_log": "audit_log_entry.json",
}
SENDGRID_SECRET = "SENDGRID_API_KEY=sendgrid-api-key:latest"
# The pipeline's BigQuery dataset (BIGQUERY_TABLE is <dataset>.records).
PIPELINE_DATASET = "pipeline"
GITHUB_IF = {
    "branch": "github.event_name == 'push' && github.ref == format('refs/heads/{0}', github.event.repository.default_branch)",
    "tag": "github.event_name == 'push' && startsWith(github.ref, 'refs/tags/v')",
}
GITLAB_IF = {"branch": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "tag": "$CI_COMMIT_TAG =~ /^v/"}


def trigger_summary(a: Mapping[str, Any]) -> str:
    kind = a["trigger_type"]
    if kind == "http":
        who = "by anyone" if a["allow_unauthenticated"] else "by callers with an identity token"
        return f"called over HTTPS {who}"
    if kind == "pubsub":
        return f"triggered by messages published to the Pub/Sub topic `{a['pubsub_topic']}`"
    if kind == "storage":
        event = STORAGE_EVENT_TEXT[a["storage_event"]]
        return f"triggered when an object in gs://{a['storage_bucket']} is {event}"
    if kind == "firestore":
        event = FIRESTORE_EVENT_TEXT[a["firestore_event"]]
        return f"triggered when a document matching `{a['firestore_document']}` is {event}"
    if kind == "audit_log":
        return (
            f"triggered by audit log entries of `{a['audit_method_name']}` calls on "
            f"`{a['audit_service_name']}`"
        )
    return (
        f"run by Cloud Scheduler on `{a['schedule']}` ({a['schedule_time_zone']}) through the "
        f"Pub/Sub topic `{a['pubsub_topic']}`"
    )


def manifest(a: Mapping[str, Any]) -> list[list[Any]]:
    """The functions of functions.yaml as the copy writes it: each deployed name, and the
    settings that are its own (every other setting is the repo-wide answer)."""
    if a["preset"] == "pipeline":
        records, summaries = a["records_topic"], a["summary_topic"]

        def identity(name: str) -> str:
            return rules.function_account(a["function_name"], a["gcp_project_id"], name)

        return [
            [
                "validate-and-parse",
                {
                    "entry_point": "validate_and_parse",
                    "trigger_type": "storage",
                    "storage_bucket": a["storage_bucket"],
                    "storage_event": "finalized",
                    "trigger_location": a["trigger_location"],
                    "retry_on_failure": True,
                    "publishes": {"RECORDS_TOPIC": records},
                    "service_account": identity("validate-and-parse"),
                },
            ],
            [
                "enrich-records",
                {
                    "entry_point": "enrich_records",
                    "trigger_type": "pubsub",
                    "pubsub_topic": records,
                    "dead_letter_topic": f"{records}-dead-letter",
                    "max_delivery_attempts": 5,
                    "publishes": {"SUMMARY_TOPIC": summaries},
                    "roles": [{"role": "roles/bigquery.dataEditor", "dataset": PIPELINE_DATASET}],
                    "service_account": identity("enrich-records"),
                },
            ],
            [
                "notify-stakeholders",
                {
                    "entry_point": "notify_stakeholders",
                    "trigger_type": "pubsub",
                    "pubsub_topic": summaries,
                    "dead_letter_topic": f"{summaries}-dead-letter",
                    "max_delivery_attempts": 5,
                    "secrets": [*a["secrets"], SENDGRID_SECRET],
                    "roles": [
                        {"role": "roles/storage.objectUser", "bucket": rules.state_bucket(a)}
                    ],
                    "service_account": identity("notify-stakeholders"),
                },
            ],
        ]
    entry: dict[str, Any] = {"entry_point": a["entry_point"], "trigger_type": a["trigger_type"]}
    if password := rules.database_password_secret(a):
        entry["secrets"] = [*a["secrets"], password]
    return [[a["function_name"], entry]]


def deploy_jobs(environments: list[str]) -> list[dict[str, str]]:
    """CI's deploy jobs: the first non-production environment from the default branch,
    production from version tags."""
    jobs = []
    for environment in rules.ci_environments(environments):
        on = "tag" if environment == rules.PRODUCTION else "branch"
        jobs.append(
            {
                "environment": environment,
                "from": "version tags (v*)" if on == "tag" else "the default branch",
                "github_if": GITHUB_IF[on],
                "gitlab_if": GITLAB_IF[on],
            }
        )
    return jobs


def derived(a: Mapping[str, Any]) -> dict[str, Any]:
    """Every value the template's files use that the answers imply."""
    pipeline = a["preset"] == "pipeline"
    kind = a["trigger_type"]
    functions = manifest(a)
    secrets = [*a["secrets"], *([SENDGRID_SECRET] if pipeline else [])]
    secrets += [p] if (p := rules.database_password_secret(a)) else []
    environments = list(a["environments"])
    folder = "pipeline" if pipeline else kind
    if pipeline:
        sample = "orders_uploaded.json"
    elif kind == "storage":
        sample = f"object_{a['storage_event']}.json"
    elif kind == "firestore":
        sample = f"document_{a['firestore_event']}.json"
    else:
        sample = SAMPLE_EVENT_FILE[kind]
    return {
        "http": not pipeline and kind == "http",
        # The single function is async (functions_framework.aio); the pipeline's are sync.
        "aio": not pipeline and a["function_style"] == "async",
        "loop_concurrency": rules.LOOP_CONCURRENCY,
        "python_version": rules.python_version(a["runtime"]),
        "ruff_target": f"py{a['runtime'][6:]}",
        "event_type": rules.event_type(kind, a["storage_event"], a["firestore_event"]),
        "storage_event_text": STORAGE_EVENT_TEXT[a["storage_event"]] if kind == "storage" else "",
        "firestore_event_text": (
            FIRESTORE_EVENT_TEXT[a["firestore_event"]] if kind == "firestore" else ""
        ),
        "sample_document": (
            rules.sample_document(a["firestore_document"]) if kind == "firestore" else ""
        ),
        "scheduler_body": json.dumps({"job": a["function_name"]}),
        "trigger_summary": trigger_summary(a),
        "events_folder": folder,
        "sample_event_file": sample,
        "sample_events": (
            []
            if pipeline
            else {"http": ["greet_get.json"], "pubsub": ["json_message.json"]}.get(kind, [])
        ),
        "deployers": {
            e: rules.deployer(a["function_name"], a["gcp_project_id"], e) for e in environments
        },
        "pipeline_dataset": PIPELINE_DATASET,
        "state_bucket": rules.state_bucket(a) if pipeline else "",
        "manifest": functions,
        "secret_names": list(dict.fromkeys(entry.partition("=")[0] for entry in secrets)),
        "trigger_types": ["storage", "pubsub"] if pipeline else [kind],
        "deployments": {
            environment: {
                "functions": [rules.deployed_name(name, environment) for name, _ in functions],
                "min_instances": a["min_instances"] if environment == rules.PRODUCTION else 0,
            }
            for environment in environments
        },
        "deploy_jobs": deploy_jobs(environments),
        "actions": ACTIONS,
        "uv_version": UV_VERSION,
        "python_image": PYTHON_IMAGES[rules.python_version(a["runtime"])],
        "cloud_sdk_image": CLOUD_SDK_IMAGE,
        "copier_version": COPIER_VERSION,
        "copier_template_extensions_version": COPIER_TEMPLATE_EXTENSIONS_VERSION,
    }


class Derived(ContextHook):
    """Adds the derived values to the context of every file Copier renders (not of the
    questions: they ask the rules and defaults directly)."""

    # Copier makes a context for every file and path it renders (a few hundred a copy), with
    # the same answers: derive once per distinct answers, and compare with the last answers
    # first (same values of the same types) before the digest of them.
    known: ClassVar[dict[str, dict[str, Any]]] = {}
    last: tuple[dict[str, Any], dict[str, Any]] | None = None

    def hook(self, context: dict[str, Any]) -> None:
        if context.get("_copier_phase") != "render" or "manifest" in context:
            return
        answers = answers_of(context)
        if self.last is None or not same(answers, self.last[0]):
            key = json.dumps(answers, sort_keys=True, default=repr)
            if key not in self.known:
                self.known[key] = derived(context)
            self.last = (answers, self.known[key])
        context.update(self.last[1])


def same(answers: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Equal answers of the same types (True == 1 in Python, not in the files written)."""
    return answers == other and list(map(type, answers.values())) == list(map(type, other.values()))
