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


def test_takes_the_configured_branch_even_without_stdout_and_stderr(tmp_path: Path) -> None:
    """Started with file descriptors 1 and 2 closed, the pipe to git takes their numbers: the
    hook then reads git's answers another way, and still honours init.defaultBranch."""
    path = project(tmp_path)
    config = tmp_path / "gitconfig"
    config.write_text(
        "[user]\n\tname = t\n\temail = t@example.invalid\n[init]\n\tdefaultBranch = trunk\n"
    )
    closed = f'exec "{sys.executable}" -S "{HOOK}" >&- 2>&-'
    result = run(["sh", "-c", closed], path, GIT_CONFIG_GLOBAL=str(config))
    assert result.returncode == 0
    assert check(["git", "branch", "--show-current"], path).strip() == "trunk"
    assert check(["git", "log", "--format=%s"], path).strip() == "Initial commit from gcf-template"


def test_a_git_that_cannot_start_is_reported_not_raised(tmp_path: Path) -> None:
    path = project(tmp_path)
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    broken = bin_folder / "git"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    result = run([sys.executable, "-S", str(HOOK)], path, PATH=str(bin_folder))
    assert result.returncode == 0
    assert result.stderr.startswith("gcf-template: git init failed: git: [Errno 2]")
    assert "gcf-template: run by hand: git init && git add --all && git commit" in result.stderr
    assert not (path / ".git").exists()
