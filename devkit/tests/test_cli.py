"""The `gcf` command line, run in-process (`gcf_devkit.cli.main`) in hand-written repos."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gcf_devkit import __version__, cli

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
    assert "main.py registers 'other_function' (http), which functions.yaml lacks" in err


@pytest.mark.usefixtures("importable")
def test_check_fails_when_an_event_function_is_registered_as_http(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repo({"my-function": {"trigger_type": "pubsub", "pubsub_topic": "jobs"}})
    monkeypatch.chdir(root)
    (root / "main.py").write_text(MAIN_PY)
    assert cli.main(["check"]) == 1
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
    monkeypatch.chdir(root)
    (root / "main.py").write_text(MAIN_PY)
    assert cli.main(["check"]) == 0
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
    monkeypatch.chdir(root)
    (root / "main.py").write_text(source)
    assert cli.main(["check"]) == 1
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
    monkeypatch.chdir(root)
    (root / "main.py").write_text(ASYNC_MAIN_PY)
    assert cli.main(["check"]) == (1 if error else 0)
    captured = capsys.readouterr()
    if error:
        assert "function_style: async functions need functions-framework 3.9 or newer" in (
            captured.err
        )
        assert captured.err.rstrip().endswith(error)
    else:
        assert "my-function: my_function (http, async), 512Mi" in captured.out
