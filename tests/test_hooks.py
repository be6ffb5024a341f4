"""The post-copy task: a git repository with a first commit, or a clear word on what to do."""

from __future__ import annotations

import sys
from pathlib import Path

import copier

from conftest import ROOT, check, run

HOOK = ROOT / "hooks" / "post_copy.py"


def project(tmp_path: Path) -> Path:
    path = tmp_path / "fn"
    path.mkdir()
    (path / "main.py").write_text("print('hi')\n")
    return path


def test_makes_a_repository_with_a_first_commit(tmp_path: Path) -> None:
    path = project(tmp_path)
    result = run([sys.executable, str(HOOK)], path)
    assert result.returncode == 0, result.stderr
    assert check(["git", "log", "--format=%s"], path).strip() == "Initial commit from gcf-template"
    assert check(["git", "ls-files"], path).split() == ["main.py"]
    assert check(["git", "branch", "--show-current"], path).strip() == "main"


def test_leaves_an_enclosing_repository_alone(tmp_path: Path) -> None:
    check(["git", "init", "--quiet"], tmp_path)
    path = project(tmp_path)
    result = run([sys.executable, str(HOOK)], path)
    assert result.returncode == 0
    assert "inside a git repository" in result.stdout
    assert not (path / ".git").exists()


def test_says_what_to_run_when_git_cannot_commit(tmp_path: Path) -> None:
    path = project(tmp_path)
    empty = tmp_path / "gitconfig"
    empty.write_text("")
    result = run(
        [sys.executable, str(HOOK)],
        path,
        GIT_CONFIG_GLOBAL=str(empty),
        GIT_AUTHOR_NAME="",
        GIT_AUTHOR_EMAIL="",
        GIT_COMMITTER_NAME="",
        GIT_COMMITTER_EMAIL="",
        EMAIL="",
        HOME=str(tmp_path),
    )
    assert result.returncode == 0
    assert (path / ".git").is_dir()
    assert 'git commit -m "Initial commit from gcf-template"' in result.stderr


def test_says_what_to_run_without_git(tmp_path: Path) -> None:
    path = project(tmp_path)
    bare_path = tmp_path / "bin"
    bare_path.mkdir()
    result = run([sys.executable, str(HOOK)], path, PATH=str(bare_path))
    assert result.returncode == 0
    assert "git is not installed" in result.stderr
    assert "git init && git add --all" in result.stderr
    assert not (path / ".git").exists()


def test_skipping_tasks_still_gives_a_complete_repo(template_copy: Path, tmp_path: Path) -> None:
    skipped = tmp_path / "skipped"
    ran = tmp_path / "ran"
    for destination, skip in ((skipped, True), (ran, False)):
        copier.run_copy(
            str(template_copy), destination, defaults=True, unsafe=True, quiet=True, skip_tasks=skip
        )
    assert not (skipped / ".git").exists()

    def files(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".git" not in p.parts)

    assert files(skipped) == files(ran)
