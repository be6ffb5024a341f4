"""`python3 tasks.py release VERSION`: a tag on HEAD's files without the development ones.

Users copy the newest tag (`copier copy gh:org/gcf-template`), and every copy checks out all of
its files; their repos build gcf-devkit from its devkit/ folder. So a release must hold what
both read, and nothing that only developing the template needs.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import copier
import pytest

from conftest import (
    COPIER,
    IGNORED,
    ROOT,
    TASKS,
    VERSION,
    check,
    copier_jinja,
    releasable,
    run,
)

TAG = f"v{VERSION}"
UV = str(Path(sys.executable).with_name("uv"))


def source_repository(where: Path) -> Path:
    """This template's work tree, committed in a git repository of its own."""
    repo = where / "gcf-template"
    shutil.copytree(ROOT, repo, ignore=IGNORED)
    check(["git", "init", "--quiet"], repo)
    check(["git", "add", "--all"], repo)
    check(["git", "commit", "--quiet", "--message", "source"], repo)
    assert releasable(repo) == VERSION
    return repo


def release(repo: Path, version: str = VERSION) -> tuple[int, str, str]:
    result = run([sys.executable, "tasks.py", "release", version], repo)
    return result.returncode, result.stdout, result.stderr


def files(repo: Path, ref: str) -> dict[str, str]:
    """Each file of `ref`, with its mode and blob."""
    listing = check(["git", "ls-tree", "-r", ref], repo)
    return {line.split("\t", 1)[1]: line.split("\t", 1)[0] for line in listing.splitlines() if line}


def development(path: str) -> bool:
    return TASKS.development_only(path)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A repository with HEAD released; and the commit released."""
    repo = source_repository(tmp_path_factory.mktemp("release"))
    source = check(["git", "rev-parse", "HEAD"], repo).strip()
    code, out, err = release(repo)
    assert code == 0, err
    head = check(["git", "rev-parse", "HEAD"], repo).strip()
    assert f"main is now {head[:12]}" in out
    assert f"Publish both at once: git push --atomic origin main {TAG}\n" in out
    assert f"undo with `git tag --delete {TAG} && git reset --keep {source[:12]}`" in out
    return repo, source


def test_a_release_holds_the_files_of_head_but_the_development_ones(
    released: tuple[Path, str],
) -> None:
    repo, source = released
    head, tagged = files(repo, source), files(repo, TAG)
    assert tagged == {p: blob for p, blob in head.items() if not development(p)}
    # Every entry leaves something out: a folder renamed later is not shipped by mistake.
    assert [d for d in TASKS.DEVELOPMENT_ONLY if not any(development_of(d, p) for p in head)] == []
    for needed in ("copier.yml", "extensions/_gcf.py", "devkit/pyproject.toml", "locks/locks.txt"):
        assert needed in tagged
    assert any(p.startswith("devkit/src/gcf_devkit/rules/") for p in tagged)
    assert any(p.startswith("docs/decisions/") for p in tagged)  # the README's links
    assert len(tagged) < len(head) * 0.8
    # An annotated tag on a commit whose parent is the released one.
    assert check(["git", "cat-file", "-t", TAG], repo).strip() == "tag"
    release_commit = check(["git", "rev-parse", f"{TAG}^{{commit}}"], repo).strip()
    assert check(["git", "rev-parse", f"{release_commit}^@"], repo).split() == [source]
    # The branch moves to a merge of both with the released files: the tag is in its history.
    assert check(["git", "rev-parse", "HEAD^@"], repo).split() == [source, release_commit]
    assert files(repo, "HEAD") == head
    assert re.fullmatch(rf"{TAG}-\d+-g[0-9a-f]+\n", check(["git", "describe", "--tags"], repo))
    assert check(["git", "merge-base", "--is-ancestor", TAG, "HEAD"], repo) == ""
    assert check(["git", "status", "--porcelain"], repo) == ""
    assert check(["git", "branch", "--show-current"], repo).strip() == "main"


def development_of(entry: str, path: str) -> bool:
    return path == entry or path.startswith(entry + "/")


@pytest.mark.parametrize("answers", [{}, {"preset": "pipeline"}], ids=["default", "pipeline"])
def test_a_copy_from_a_release_is_a_copy_of_its_source(
    released: tuple[Path, str], tmp_path: Path, answers: dict[str, str]
) -> None:
    """Without --vcs-ref Copier takes the newest tag: the release, which writes what its source
    commit writes (but the version it records)."""
    repo, source = released
    copies = {}
    for name, ref in (("release", None), ("source", source)):
        copier.run_copy(
            str(repo),
            tmp_path / name,
            data=answers,
            vcs_ref=ref,
            defaults=True,
            unsafe=True,
            quiet=True,
            skip_tasks=True,
        )
        copies[name] = {
            p.relative_to(tmp_path / name).as_posix(): p.read_text()
            for p in sorted((tmp_path / name).rglob("*"))
            if p.is_file()
        }
    recorded = {name: copied.pop(".copier-answers.yml") for name, copied in copies.items()}
    assert f"\n_commit: {TAG}\n" in recorded["release"]
    commit = re.search(r"\n_commit: (\S+)\n", recorded["source"])
    assert commit is not None
    assert source.startswith(commit[1])
    assert recorded["release"] == recorded["source"].replace(commit[0], f"\n_commit: {TAG}\n")
    devkit = "requirements-devkit.txt"
    assert copies["release"].pop(devkit) == copies["source"].pop(devkit).replace(commit[1], TAG)
    assert copies["release"] == copies["source"]


def test_the_devkit_builds_from_a_release(released: tuple[Path, str], tmp_path: Path) -> None:
    """As a generated repo installs it: git+URL@commit#subdirectory=devkit."""
    repo, _ = released
    commit = check(["git", "rev-parse", f"{TAG}^{{commit}}"], repo).strip()
    requirement = f"gcf-devkit @ git+file://{repo}@{commit}#subdirectory=devkit"
    target = tmp_path / "site"
    check(
        [
            UV,
            "pip",
            "install",
            "--python",
            sys.executable,
            "--no-deps",
            "--target",
            str(target),
            requirement,
        ],
        tmp_path,
    )
    assert (target / "gcf_devkit" / "rules" / "__init__.py").is_file()
    assert (target / f"gcf_devkit-{VERSION}.dist-info").is_dir()


def test_a_release_is_refused_with_every_reason_and_nothing_tagged(tmp_path: Path) -> None:
    repo = source_repository(tmp_path)
    head = check(["git", "rev-parse", "HEAD"], repo)

    def refused(version: str) -> str:
        code, out, err = release(repo, version)
        assert (code, out) == (1, "")
        assert check(["git", "tag", "--list"], repo) == ""
        assert check(["git", "rev-parse", "HEAD"], repo) == head
        return err.strip()

    for bad in ("2.0", "v2.0.0", "02.0.0", "2.0.0rc1", "2.0.0 "):
        assert refused(bad) == (
            "release: VERSION must be MAJOR.MINOR.PATCH in digits without leading zeros, such "
            f"as 2.1.0 (tagged v2.1.0), not {bad!r}"
        )
    readme = repo / "README.md"
    readme.write_text(readme.read_text() + "edited\n")
    (repo / "includes" / "new.jinja").write_text("forgotten\n")
    (repo / "tests" / "scratch.py").write_text("# development only: not reported\n")
    assert refused("99.0.0") == (
        "release: cannot release v99.0.0: tracked files have uncommitted changes: commit them "
        "first; files git does not track would be left out: includes/new.jinja: add them or "
        f"remove them; devkit/pyproject.toml has version {VERSION}: make it 99.0.0; the first "
        f"section of CHANGELOG.md is '## {TAG}', not '## v99.0.0': name what this release "
        "brings under its version"
    )
    # What is checked is HEAD's: a version and a section in the work tree only do not count.
    check(["git", "checkout", "--", "README.md"], repo)
    (repo / "includes" / "new.jinja").unlink()
    pyproject = repo / "devkit" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(VERSION, "99.0.0"))
    changelog = repo / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace(f"## {TAG}\n", "## v99.0.0\n", 1))
    assert refused("99.0.0") == (
        "release: cannot release v99.0.0: tracked files have uncommitted changes: commit them "
        f"first; devkit/pyproject.toml has version {VERSION}: make it 99.0.0; the first "
        f"section of CHANGELOG.md is '## {TAG}', not '## v99.0.0': name what this release "
        "brings under its version"
    )
    check(["git", "checkout", "--", "devkit/pyproject.toml", "CHANGELOG.md"], repo)
    # A detached HEAD has no branch to merge the release into; a branch behind or ahead of its
    # upstream would be released on what is not published.
    check(["git", "checkout", "--quiet", "--detach"], repo)
    assert refused(VERSION) == (
        f"release: cannot release {TAG}: HEAD is detached: check out the branch to release"
    )
    check(["git", "checkout", "--quiet", "main"], repo)
    server = tmp_path / "server.git"
    check(["git", "clone", "--quiet", "--bare", str(repo), str(server)], tmp_path)
    check(["git", "remote", "add", "origin", str(server)], repo)
    check(["git", "fetch", "--quiet", "origin"], repo)
    check(["git", "branch", "--quiet", "--set-upstream-to=origin/main"], repo)
    check(["git", "commit", "--quiet", "--allow-empty", "--message", "not pushed"], repo)
    head = check(["git", "rev-parse", "HEAD"], repo)
    assert refused(VERSION) == (
        f"release: cannot release {TAG}: main is not where its upstream is: push or pull first, "
        "so that the release is made on what is published"
    )
    check(["git", "push", "--quiet", "origin", "main"], repo)
    assert release(repo)[0] == 0
    code, _, err = release(repo)
    assert code == 1
    assert err.strip() == (
        f"release: cannot release {TAG}: main is not where its upstream is: push or pull first, "
        f"so that the release is made on what is published; the tag {TAG} exists already"
    )
    assert check(["git", "tag", "--list"], repo).split() == [TAG]


COMMIT = "0123456789abcdef0123456789abcdef01234567"
REQUIREMENTS = {
    "gh:org/gcf-template": "git+https://github.com/org/gcf-template",
    "gl:group/gcf-template": "git+https://gitlab.com/group/gcf-template",
    "https://git.example.com/org/gcf-template.git": "git+https://git.example.com/org/gcf-template.git",
    "git+https://github.com/org/gcf-template": "git+https://github.com/org/gcf-template",
    "git@github.com:org/gcf-template.git": "git+ssh://git@github.com/org/gcf-template.git",
}


@pytest.mark.parametrize("source", REQUIREMENTS)
def test_a_generated_repo_installs_the_devkit_of_the_template_commit(source: str) -> None:
    """From a git server: its devkit/ folder at the commit (the release tag's) the repo was made
    or last updated from."""
    environment = copier_jinja()
    template = environment.from_string(
        "{% from 'includes/devkit.jinja' import devkit_requirement with context %}"
        "{{ devkit_requirement() }}"
    )
    line = template.render(
        _copier_answers={"_src_path": source},
        _copier_conf={"vcs_ref_hash": COMMIT, "src_path": "/tmp/copier-clone"},
    )
    assert line == (
        f"gcf-devkit[local,testing] @ {REQUIREMENTS[source]}@{COMMIT}#subdirectory=devkit"
    )


def test_a_template_in_a_folder_named_relative_to_the_copy_gives_its_absolute_devkit(
    tmp_path: Path,
) -> None:
    """`copier copy "../my templates/gcf-template" fn`: the requirement names that folder's
    devkit/ by its file URL (a space escaped), not the temporary clone Copier deletes after the
    copy."""
    source_repository(tmp_path / "my templates")  # in git: Copier renders from a clone of it
    work = tmp_path / "work"
    work.mkdir()
    check(
        [
            COPIER,
            "copy",
            "--trust",
            "--defaults",
            "--quiet",
            "--skip-tasks",
            "../my templates/gcf-template",
            "fn",
        ],
        work,
    )
    devkit = tmp_path / "my templates" / "gcf-template" / "devkit"
    lines = (work / "fn" / "requirements-devkit.txt").read_text().splitlines()
    assert lines[-1] == f"gcf-devkit[local,testing] @ {devkit.as_uri()}"
    assert "%20" in lines[-1]
    assert (devkit / "pyproject.toml").is_file()


def test_copier_copies_and_updates_to_releases_on_a_server(tmp_path: Path) -> None:
    """A release commit is on no branch: only its tag, pushed alone, points to it. Copier finds
    it on a server (a file:// URL is remote to Copier, as gh: is) through the mirror it keeps,
    and a later release's tag reaches `copier update` through that mirror."""
    work = source_repository(tmp_path)
    server = tmp_path / "server.git"
    check(["git", "clone", "--quiet", "--bare", str(work), str(server)], tmp_path)
    check(["git", "remote", "add", "origin", str(server)], work)
    cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    url = f"file://{server}"

    def publish(version: str) -> None:
        assert release(work, version)[0] == 0
        check(["git", "push", "--quiet", "origin", f"v{version}"], work)
        assert check(["git", "branch", "--contains", f"v{version}"], server) == ""

    publish(VERSION)
    options = ["--trust", "--defaults", "--quiet", "--skip-tasks"]
    check([COPIER, "copy", *options, url, "fn"], tmp_path, **cache)
    repo = tmp_path / "fn"
    assert f"\n_commit: {TAG}\n" in (repo / ".copier-answers.yml").read_text()
    check(["git", "init", "--quiet"], repo)
    check(["git", "add", "--all"], repo)
    check(["git", "commit", "--quiet", "--message", "made"], repo)

    major, minor, patch = VERSION.split(".")
    later = f"{major}.{minor}.{int(patch) + 1}"
    pyproject = work / "devkit" / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(f'version = "{VERSION}"', f'version = "{later}"')
    )
    (work / "template" / "RELEASED.md").write_text(f"{later}\n")
    check(["git", "add", "--all"], work)
    check(["git", "commit", "--quiet", "--message", later], work)
    assert releasable(work) == later
    publish(later)
    check([COPIER, "update", *options], repo, **cache)
    assert f"\n_commit: v{later}\n" in (repo / ".copier-answers.yml").read_text()
    assert (repo / "RELEASED.md").read_text() == f"{later}\n"
