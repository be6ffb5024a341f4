"""Checks of the template repository itself: pins, data, docs, CI and tooling."""

from __future__ import annotations

import filecmp
import importlib.resources
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, TESTDATA, actionlint_findings, check

SHARED_TESTDATA = ROOT.parent / "shared" / "cloudevents-testdata"


def pins(text: str) -> dict[str, str]:
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s{]+)", text, re.M)}


def test_generated_pins_match_the_environment_the_tests_use() -> None:
    dev_group = pins(
        "\n".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"])
    )
    generated = {}
    for name in ("requirements.in.jinja", "requirements-dev.in.jinja"):
        generated |= pins((ROOT / "template" / name).read_text())
    assert generated, "no pins found in template/requirements*"
    for package, version in generated.items():
        assert dev_group.get(package) == version, (
            f"{package}: template pins {version}, pyproject.toml {dev_group.get(package)}"
        )


def test_every_question_has_help_a_default_and_free_text_has_a_validator() -> None:
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    questions = {k: v for k, v in config.items() if not k.startswith("_")}
    assert len(questions) >= 20
    for key, question in questions.items():
        assert question.get("help"), f"{key} has no help"
        assert "default" in question, f"{key} has no default"
        text = question.get("type", "str") == "str" and isinstance(question["default"], str)
        if text and "choices" not in question:
            assert question.get("validator") == f"{{{{ check('{key}') }}}}", key


def test_copier_yml_is_a_list_of_questions() -> None:
    """No Jinja programs in copier.yml: values are derived in Python (extensions/gcf.py), and
    a question's expressions are short conditions or a call of the devkit's rules."""
    text = (ROOT / "copier.yml").read_text()
    assert len(text.splitlines()) <= 400
    config = yaml.safe_load(text)
    for key, question in config.items():
        if key.startswith("_"):
            continue
        assert question.get("when") is not False, f"{key} is computed: derive it in Python"
        for field in ("default", "when", "ask", "validator"):
            value = question.get(field)
            if isinstance(value, str) and "{" in value:
                assert "{%" not in value, (key, field)
                assert len(value) <= 100, (key, field, value)


def test_time_zone_list_is_the_iana_database() -> None:
    from gcf_devkit.rules import TIME_ZONES

    listed = set(TIME_ZONES)
    zones = set(importlib.resources.files("tzdata").joinpath("zones").read_text().split())
    assert listed == zones


@pytest.mark.skipif(
    not SHARED_TESTDATA.is_dir(),
    reason=(
        "no ../shared/cloudevents-testdata beside this checkout to compare tests/testdata with "
        "(the tests use tests/testdata either way)"
    ),
)
def test_vendored_testdata_matches_the_shared_copy() -> None:
    comparison = filecmp.dircmp(TESTDATA, SHARED_TESTDATA)

    def differences(c: filecmp.dircmp) -> list[str]:
        found = c.left_only + c.right_only + c.diff_files
        return found + [d for sub in c.subdirs.values() for d in differences(sub)]

    assert differences(comparison) == []


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(python3 tasks\.py \S+.*?)(?:\s+#.*)?$", quick_start, re.M)
    assert [c.split()[2] for c in commands] == ["new", "test"], commands
    assert "python3 tasks.py test" in (ROOT / ".ci" / "run").read_text()
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "python3 tasks.py test" in workflow


def test_template_code_is_ruff_clean() -> None:
    ruff = str(Path(sys.executable).with_name("ruff"))
    check([ruff, "check", "."], ROOT)
    check([ruff, "format", "--check", "."], ROOT)


def test_own_workflows_pass_zizmor_and_actionlint() -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    zizmor = str(Path(sys.executable).with_name("zizmor"))
    assert "No findings" in check(
        [zizmor, "--offline", "--persona=pedantic", *map(str, workflows)], ROOT
    )
    assert actionlint_findings(workflows, ROOT) == []


def test_ci_runs_the_newest_checkers_and_a_weekly_check() -> None:
    assert "python3 tasks.py tools" in (ROOT / ".ci" / "run").read_text()
    assert "python3 tasks.py tools" in (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    weekly = yaml.safe_load((ROOT / ".github" / "workflows" / "checkers.yml").read_text())
    assert weekly[True]["schedule"][0]["cron"].endswith("* * 1")  # YAML reads `on:` as True
    steps = [s.get("run", "") for s in weekly["jobs"]["checkers"]["steps"]]
    assert steps[-2:] == ["python3 tasks.py tools", steps[-1]]
    assert all(k in steps[-1] for k in ("zizmor", "jsonschema", "actionlint"))


def test_the_devkit_is_versioned_with_the_template() -> None:
    """gcf-devkit carries the version of the template it belongs to: the CHANGELOG's newest."""
    import gcf_devkit

    newest = re.search(r"^## v(\d+\.\d+\.\d+)\b", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert newest, "CHANGELOG.md names no version"
    devkit = tomllib.loads((ROOT / "devkit" / "pyproject.toml").read_text())["project"]
    assert devkit["version"] == gcf_devkit.__version__ == newest[1]
