"""The `gcf` command line, run in-process (`gcf_devkit.cli.main`) in hand-written repos."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gcf_devkit import __version__, cli
from gcf_devkit.project._mainpy import pinned_version, registered_functions

if TYPE_CHECKING:
    from tests.conftest import Repo

# What each command's help says it does (its description is its module's first paragraph).
HELPS = {
    "deploy": "Deploy every function of functions.yaml to one environment",
    "setup": "One-time setup of a project for the functions of functions.yaml",
    "check": "functions.yaml: each function's settings resolved against the repo's answers",
    "dev": "Serve every function of functions.yaml at once",
    "event": "Send an event or a request to a function served by `gcf dev`",
    "publish": "`gcf publish`",
    "upload": "`gcf upload`",
    "dead-letters": "`gcf dead-letters`",
    "postgres": "PostgreSQL",
}
MAIN_PY = """\
import functions_framework


@functions_framework.http
def my_function(request):
    return "ok"
"""


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the Makefile passes as defaults, unset: each test passes its own."""
    for name in ("ENV", "DRY_RUN", "FUNCTION", "PORT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def in_repo(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current directory is a repo of one HTTP function, my-function."""
    root = repo()
    monkeypatch.chdir(root)
    return root


def check(root: Path, monkeypatch: pytest.MonkeyPatch, main_py: str) -> int:
    """`gcf check`'s exit code, run in the repo `root` with this main.py."""
    monkeypatch.chdir(root)
    (root / "main.py").write_text(main_py)
    return cli.main(["check"])


def test_deploy_dry_run_prints_the_commands(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["deploy", "dev", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith("gcloud functions deploy my-function-dev --project=my-project-dev ")
    assert out[0].endswith(" --env-vars-file=.deploy/dev/my-function.yaml --quiet")
    assert (in_repo / ".deploy" / "dev" / "my-function.yaml").is_file()


def test_deploy_runs_from_a_subfolder_and_takes_dry_run_from_the_environment(
    in_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    below = in_repo / "tests"
    below.mkdir()
    monkeypatch.chdir(below)
    monkeypatch.setenv("DRY_RUN", "1")
    monkeypatch.setenv("ENV", "production")
    assert cli.main(["deploy"]) == 0
    assert capsys.readouterr().out.startswith(
        "gcloud functions deploy my-function --project=my-project-id "
    )


def test_deploy_one_function(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo({"my-function": {}, "second": {}}))
    assert cli.main(["deploy", "dev", "--dry-run", "--function", "second"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("gcloud functions deploy second-dev ")


def test_deploy_to_an_unknown_environment_deploys_nothing(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["deploy", "qa", "--dry-run"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "unknown environment 'qa': known environments are dev, production",
        "deploy: nothing was deployed",
    ]
    assert not (in_repo / ".deploy").exists()


def test_deploy_without_an_environment_names_them(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["deploy", "--dry-run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "name an environment: make deploy ENV=<environment>, one of dev, production",
        "deploy: nothing was deployed",
    ]


def test_a_bad_manifest_stops_deploy_with_every_problem(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo({"my-function": {"concurrency": "80", "colour": "blue"}}))
    assert cli.main(["deploy", "dev", "--dry-run"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("functions.yaml: function 'my-function': colour: unknown key")
    assert (
        err[1]
        == "functions.yaml: function 'my-function': concurrency: must be a whole number (got \"80\")"
    )
    assert err[2] == "deploy: nothing was deployed"


def test_a_real_deploy_without_gcloud_says_so(
    in_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(in_repo / "no-bin"))
    assert cli.main(["deploy", "dev"]) == 2
    assert capsys.readouterr().err.startswith("deploy: gcloud is not installed")


def test_setup_without_an_environment(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["setup", "--dry-run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "name an environment: make setup ENV=<environment>",
        "setup: nothing was set up",
    ]


def test_setup_dry_run_prints_the_commands(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["setup", "dev", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    # First what is looked at before anything changes: this repo's deployer and provider.
    assert out[0].startswith(
        "if found=$(gcloud iam service-accounts describe my-function-86e4-dep-dev@"
    )
    assert out[1].startswith(
        "if found=$(gcloud iam workload-identity-pools providers describe my-function-86e4 "
    )
    assert out[2].startswith("gcloud services enable cloudfunctions.googleapis.com ")
    assert any(
        "then gcloud iam workload-identity-pools providers update-oidc" in line
        and "else gcloud iam workload-identity-pools providers create-oidc" in line
        for line in out
    )


def test_bad_cost_answers_stop_setup(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo(answers={"monthly_budget": 10}))
    assert cli.main(["setup", "dev", "--dry-run"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("setup: .copier-answers.yml: monthly_budget: a budget needs")


def test_outside_a_repo_commands_say_where_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["deploy", "dev", "--dry-run"]) == 2
    assert "no functions.yaml in" in capsys.readouterr().err
    assert cli.main(["check"]) == 1
    assert "run this in a repo made by gcf-template" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"gcf-devkit {__version__}"


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([])
    assert info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def help_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What a --help prints: argparse exits 0, `gcf event`'s own parser returns 0."""
    try:
        code: Any = cli.main(argv)
    except SystemExit as exit:
        code = exit.code
    assert code == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


@pytest.mark.parametrize(("command", "says"), list(HELPS.items()))
def test_every_command_has_help(
    command: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = help_of([command, "--help"], capsys)
    assert out.startswith(f"usage: gcf {command} ")
    assert says in " ".join(out.split())


def test_the_main_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    out = " ".join(help_of(["--help"], capsys).split())
    for command in HELPS:
        assert f" {command} " in out
    assert "deploy every function to an environment" in out
    assert "check functions.yaml against the platform's rules and main.py" in out


# -- gcf check imports main.py


@pytest.fixture
def importable(monkeypatch: pytest.MonkeyPatch) -> None:
    """`gcf check` imports main.py as the module `main` and puts its folder on sys.path:
    both are undone after the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setitem(sys.modules, "main", None)


@pytest.mark.usefixtures("importable")
def test_check_passes_when_main_py_defines_the_functions(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_repo / "main.py").write_text(MAIN_PY)
    assert cli.main(["check"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "my-function: my_function (http, sync), 512Mi, 1 vCPU, concurrency 80",
        "functions.yaml: 1 function(s) checked against main.py",
    ]
    assert captured.err == ""


@pytest.mark.usefixtures("importable")
def test_check_fails_when_main_py_lacks_the_entry_point(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_repo / "main.py").write_text(MAIN_PY.replace("def my_function", "def other_function"))
    assert cli.main(["check"]) == 1
    err = capsys.readouterr().err
    assert (
        "functions.yaml declares 'my-function' with entry_point 'my_function', which main.py "
        "does not define"
    ) in err
    assert (
        "main.py registers 'other_function' (http), which functions.yaml lacks: add it under "
        "functions:, for example `other-function: {entry_point: other_function, trigger_type: ...}`"
    ) in err


@pytest.mark.usefixtures("importable")
def test_check_fails_when_an_event_function_is_registered_as_http(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repo({"my-function": {"trigger_type": "pubsub", "pubsub_topic": "jobs"}})
    assert check(root, monkeypatch, MAIN_PY) == 1
    assert (
        "functions.yaml declares 'my-function' with entry_point 'my_function' as a pubsub "
        "function (cloudevent), but main.py registers my_function as http"
    ) in capsys.readouterr().err


@pytest.mark.usefixtures("importable")
def test_check_reports_a_main_py_that_cannot_be_imported(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_repo / "main.py").write_text("import no_such_module_here\n")
    assert cli.main(["check"]) == 1
    assert "main.py cannot be imported: ModuleNotFoundError" in capsys.readouterr().err


@pytest.mark.usefixtures("importable")
def test_check_warns_of_warm_instances(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repo({"my-function": {"min_instances": 1}})
    assert check(root, monkeypatch, MAIN_PY) == 0
    assert capsys.readouterr().err.startswith("warning: cost: my-function keeps 1 instance(s) warm")


def test_check_stops_at_a_bad_manifest(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo({"my-function": {"timeout": 0}}))
    assert cli.main(["check"]) == 1
    assert capsys.readouterr().err.startswith(
        "functions.yaml: function 'my-function': timeout: must be 1 to 3600 seconds"
    )


ASYNC_MAIN_PY = """\
import functions_framework.aio


@functions_framework.aio.http
async def my_function(request):
    return "ok"
"""


@pytest.mark.usefixtures("importable")
@pytest.mark.parametrize(
    ("declared", "source", "decorator"),
    [
        ("sync", ASYNC_MAIN_PY, "@functions_framework.aio.http"),
        ("async", MAIN_PY, "@functions_framework.http"),
    ],
)
def test_check_fails_when_function_style_disagrees_with_the_decorator(
    repo: Repo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    declared: str,
    source: str,
    decorator: str,
) -> None:
    root = repo(answers={"function_style": declared})
    (root / "requirements.txt").write_text("functions-framework==3.10.2\n")
    assert check(root, monkeypatch, source) == 1
    other = "sync" if declared == "async" else "async"
    assert (
        f"functions.yaml declares 'my-function' function_style {declared}, but main.py registers "
        f"my_function with {decorator}: set `function_style: {other}` in its entry"
    ) in capsys.readouterr().err


@pytest.mark.usefixtures("importable")
@pytest.mark.parametrize(
    ("requirements", "error"),
    [
        ("functions-framework==3.10.2\n", ""),
        ("functions-framework>=3.9\n", ""),
        ("functions-framework==3.8.1\n", '(got "3.8.1")'),
        ("flask==3.1.3\n", '(got "no version")'),
    ],
)
def test_check_needs_a_functions_framework_with_aio_for_an_async_function(
    repo: Repo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    requirements: str,
    error: str,
) -> None:
    root = repo(answers={"function_style": "async"})
    (root / "requirements.txt").write_text(requirements)
    assert check(root, monkeypatch, ASYNC_MAIN_PY) == (1 if error else 0)
    captured = capsys.readouterr()
    if error:
        assert "function_style: async functions need functions-framework 3.9 or newer" in (
            captured.err
        )
        assert captured.err.rstrip().endswith(error)
    else:
        assert "my-function: my_function (http, async), 512Mi" in captured.out


@pytest.mark.usefixtures("importable")
def test_check_imports_main_py_as_the_module_main_so_its_dataclasses_work(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As functions-framework does: a dataclass with postponed annotations looks its module
    up in sys.modules by its __name__."""
    (in_repo / "main.py").write_text(
        "from __future__ import annotations\n\nimport dataclasses\n\n"
        + MAIN_PY
        + "\n\n@dataclasses.dataclass\nclass Greeting:\n    text: str\n"
    )
    assert cli.main(["check"]) == 0
    assert capsys.readouterr().err == ""


@pytest.fixture
def helpers_module() -> Iterator[str]:
    """The name of a module of the repo's own that main.py imports, forgotten after the test."""
    yield "repo_helpers"
    sys.modules.pop("repo_helpers", None)


@pytest.mark.usefixtures("importable")
def test_main_py_imports_the_repos_own_modules_before_any_other_of_the_same_name(
    in_repo: Path,
    tmp_path: Path,
    helpers_module: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """main.py's folder comes first on sys.path, ahead of an installed module of the same name."""
    installed = tmp_path / "site-packages"
    installed.mkdir()
    (installed / f"{helpers_module}.py").write_text("OTHER = 'not the repo'\n")
    monkeypatch.setattr(sys, "path", [str(installed)] + [p for p in sys.path if p not in ("", ".")])
    (in_repo / f"{helpers_module}.py").write_text("GREETING = 'ok'\n")
    (in_repo / "main.py").write_text(f"from {helpers_module} import GREETING\n\n" + MAIN_PY)
    assert cli.main(["check"]) == 0
    assert capsys.readouterr().err == ""
    assert sys.path[:2] == [str(in_repo), str(installed)]


@pytest.mark.usefixtures("importable")
def test_check_fails_when_an_event_function_has_no_decorator(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Undecorated, functions-framework would serve it as HTTP: an event function needs one."""
    root = repo({"my-function": {"trigger_type": "pubsub", "pubsub_topic": "jobs"}})
    assert check(root, monkeypatch, "def my_function(cloud_event):\n    return None\n") == 1
    assert capsys.readouterr().err == (
        "functions.yaml declares 'my-function' with entry_point 'my_function' as a pubsub "
        "function, but main.py's my_function has no @functions_framework.cloud_event decorator\n"
    )


@pytest.mark.usefixtures("importable")
def test_check_passes_an_http_function_without_a_decorator(
    in_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """functions-framework serves an undecorated function as HTTP (its default signature)."""
    (in_repo / "main.py").write_text("def my_function(request):\n    return 'ok'\n")
    assert cli.main(["check"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.usefixtures("importable")
def test_check_compares_the_style_of_every_function_not_only_the_first(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repo({"my-function": {}, "worker": {}})
    worker = ASYNC_MAIN_PY.replace("my_function", "worker").replace(
        "import functions_framework.aio\n", ""
    )
    main_py = f"{MAIN_PY}\nimport functions_framework.aio\n\n{worker}"
    assert check(root, monkeypatch, main_py) == 1
    assert capsys.readouterr().err == (
        "functions.yaml declares 'worker' function_style sync, but main.py registers worker with "
        "@functions_framework.aio.http: set `function_style: async` in its entry (the decorator "
        "decides how it is served)\n"
    )


TYPED_MAIN_PY = """\
import functions_framework


class Order:
    @staticmethod
    def from_dict(data):
        return Order()

    def to_dict(self):
        return {}


@functions_framework.typed
def my_function(order: Order):
    return order
"""


@pytest.mark.usefixtures("importable")
def test_a_style_error_names_the_kind_a_decorator_without_an_async_twin_registers(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """@functions_framework.typed has no aio counterpart: the error names what it registers."""
    root = repo(answers={"function_style": "async"})
    (root / "requirements.txt").write_text("functions-framework==3.10.2\n")
    assert check(root, monkeypatch, TYPED_MAIN_PY) == 1
    assert (
        "functions.yaml declares 'my-function' function_style async, but main.py registers "
        "my_function with typed: set `function_style: sync` in its entry"
    ) in capsys.readouterr().err


def test_main_py_that_python_cannot_load_is_refused_by_name(tmp_path: Path) -> None:
    not_python = tmp_path / "main.txt"
    not_python.write_text("")
    with pytest.raises(ImportError, match=r"^cannot load .*main\.txt$"):
        registered_functions(not_python)


@pytest.mark.parametrize(
    ("requirements", "pinned"),
    [
        ("functions-framework==3.10.2\n", "3.10.2"),
        ("flask==3.1.3\nfunctions-framework>=3.9  # aio\n", "3.9"),
        ("Functions_Framework ~= 3.9.1\n", "3.9.1"),
        ("functions.framework[extra]==3.10; python_version >= '3.11'\n", "3.10"),
        ("functions-framework\n", ""),
        ("functions-framework-extra==1.0\n", ""),
        (None, ""),
    ],
)
def test_the_pinned_version_of_a_package_is_read_as_pip_names_it(
    tmp_path: Path, requirements: str | None, pinned: str
) -> None:
    """Any line, any case, - _ or . alike (pip's name normalisation); no file pins nothing."""
    path = tmp_path / "requirements.txt"
    if requirements is not None:
        path.write_text(requirements)
    assert pinned_version(path, "functions-framework") == pinned
