"""The compiled Jinja and Python that copies keep (extensions/gcf.py and _gcf.py).

A copy with a warm cache is byte for byte a copy without one and compiles nothing; a template
changed since is compiled again, never served stale; a broken or unwritable cache never fails
a copy; GCF_TEMPLATE_CACHE=off keeps nothing.
"""

from __future__ import annotations

import builtins
import shutil
import sys
from pathlib import Path
from typing import Any

import copier
import jinja2
import jinja2.ext
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT, load_module

VARIABLE = "GCF_TEMPLATE_CACHE"


def files(tree: Path) -> dict[str, bytes]:
    return {
        path.relative_to(tree).as_posix(): path.read_bytes()
        for path in sorted(tree.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(tree).parts
    }


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The template sources Jinja compiles from now on (Copier also hands it answers that are
    not strings, which it refuses with a TypeError: not counted)."""
    seen: list[str] = []
    compile_source = jinja2.Environment.compile

    def counted(
        self: jinja2.Environment, source: object, *args: object, **kwargs: object
    ) -> object:
        if isinstance(source, str):
            seen.append(source)
        return compile_source(self, source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    return seen


def copy(template: Path, destination: Path, **answers: str) -> dict[str, bytes]:
    copier.run_copy(
        str(template),
        destination,
        data=answers,
        defaults=True,
        unsafe=True,
        quiet=True,
        skip_tasks=True,
    )
    return files(destination)


def test_a_warm_copy_compiles_nothing_and_writes_what_a_cold_one_does(
    template_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiles: list[str]
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv(VARIABLE, str(cache))
    cold = copy(template_copy, tmp_path / "cold", trigger_type="pubsub")
    assert len(compiles) > 100  # the questions' strings and the files
    kept = sorted(cache.rglob("*.cache"))
    assert len(kept) == len(set(compiles))

    compiles.clear()
    warm = copy(template_copy, tmp_path / "warm", trigger_type="pubsub")
    assert compiles == []
    assert sorted(cache.rglob("*.cache")) == kept
    assert warm == cold

    monkeypatch.setenv(VARIABLE, "off")
    assert copy(template_copy, tmp_path / "off", trigger_type="pubsub") == cold
    assert len(compiles) == len(set(compiles)) > 100  # compiled again, each once


def test_a_changed_template_is_compiled_again(
    template_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VARIABLE, str(tmp_path / "cache"))
    template = tmp_path / "template"
    shutil.copytree(template_copy, template)
    before = copy(template, tmp_path / "before")
    readme = template / "template" / "README.md.jinja"
    readme.write_text(readme.read_text() + "Changed: {{ project_name | upper }}\n")
    questions = template / "copier.yml"
    default = "default: My Function\n"
    assert default in questions.read_text()
    questions.write_text(questions.read_text().replace(default, "default: \"{{ 'a' ~ 'b' }}\"\n"))
    after = copy(template, tmp_path / "after")
    assert after["README.md"].decode().endswith("Changed: AB\n")
    assert before["README.md"] != after["README.md"]


def test_a_broken_or_unwritable_cache_never_fails_a_copy(
    template_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv(VARIABLE, str(cache))
    first = copy(template_copy, tmp_path / "first")
    for kept in cache.rglob("*.cache"):
        kept.write_bytes(b"not a compiled template")
    assert copy(template_copy, tmp_path / "broken") == first

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(VARIABLE, str(blocked))
    assert copy(template_copy, tmp_path / "unwritable") == first


def test_the_extensions_and_rules_compiled_python_is_kept_and_found_by_its_source(
    template_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """extensions/_gcf.py and each module of the rules are compiled once; a later copy, from
    another clone, loads them from the cache, and their tracebacks name that clone's files.
    Copier compiles only extensions/gcf.py, the small module that loads them."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(VARIABLE, str(cache))
    clones = [tmp_path / "first", tmp_path / "second"]
    for number, clone in enumerate(clones):
        shutil.copytree(template_copy, clone / "template")
        # Rules of their own content (the package is loaded once per content), one module apart.
        common = clone / "template" / "devkit" / "src" / "gcf_devkit" / "rules" / "_common.py"
        common.write_text(common.read_text() + f"PROBE = {number}\n")
    modules = len(list(clones[0].glob("template/devkit/src/gcf_devkit/rules/*.py"))) + 1

    compiled: list[str] = []
    compile_source = builtins.compile

    def counted(source: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        if str(filename).endswith(".py"):  # not the <string>s of Copier's own libraries
            compiled.append(Path(filename).name)
        return compile_source(source, filename, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", counted)
    copy(clones[0] / "template", clones[0] / "repo")
    assert len(list((cache / "python").iterdir())) == modules
    assert "_gcf.py" in compiled
    compiled.clear()
    copy(clones[1] / "template", clones[1] / "repo")
    assert len(list((cache / "python").iterdir())) == modules + 1  # only _common.py again
    assert set(compiled) == {"_common.py", "gcf.py"}  # gcf.py: by Copier, once per extension

    [second] = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("_gcf_template_rules_") and name.endswith("._common")
        if getattr(module, "PROBE", None) == 1
    ]
    names = sys.modules[second.__name__.rpartition(".")[0] + "._names"]
    cached = next(f for f in vars(names).values() if getattr(f, "__module__", "") == names.__name__)
    assert cached.__code__.co_filename == names.__file__
    assert names.__file__.startswith(str(clones[1]))


def test_derived_values_follow_the_answers_of_each_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Copier makes a context per file and path: the values derived from the answers are
    computed once per distinct answers, and never served for other answers, even answers
    Python finds equal (True == 1) but the files would not."""
    extension = load_module(ROOT / "extensions" / "gcf.py", "gcf_template_extension_cache")
    calls: list[dict[str, object]] = []

    def derived(context: dict[str, object]) -> dict[str, object]:
        answers = extension.answers_of(context)
        calls.append(answers)
        return {"manifest": repr(answers)}

    monkeypatch.setattr(extension.extensions, "derived", derived)
    hook = extension.Derived(jinja2.Environment())
    for answers in ({"a": 1}, {"a": 1}, {"a": True}, {"a": 2}, {"a": 1}):
        context: dict[str, object] = {"_copier_phase": "render", "_copier_conf": {}, **answers}
        hook.hook(context)
        assert context["manifest"] == repr(answers)
    assert calls == [{"a": 1}, {"a": True}, {"a": 2}]
    question: dict[str, object] = {"_copier_phase": "prompt", "a": 1}
    hook.hook(question)
    assert "manifest" not in question


def test_strings_without_jinja_are_not_compiled(
    template_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiles: list[str]
) -> None:
    """A question's type, a choice's title or a folder's name renders to itself: never compiled,
    cached or rendered through Jinja, and the copy is what one that compiles them writes."""
    monkeypatch.setenv(VARIABLE, "off")
    copied = copy(template_copy, tmp_path / "repo", trigger_type="pubsub")
    assert compiles
    assert {"str", "bool", "int", "single", "tests", "unit"}.isdisjoint(compiles)
    # The same template with the shortcut off (Copier runs the extensions of the clone it copies).
    without = tmp_path / "without-shortcut"
    shutil.copytree(template_copy, without)
    extensions = without / "extensions" / "_gcf.py"
    source = extensions.read_text()
    assert source.count("if plain[0](source):") == 1
    extensions.write_text(source.replace("if plain[0](source):", "if False:"))
    compiles.clear()
    compiled = copy(without, tmp_path / "compiled", trigger_type="pubsub")

    def anywhere(files: dict[str, bytes], template: Path) -> dict[str, bytes]:
        """The files, the template's path aside (the source the answers record)."""
        return {p: text.replace(str(template).encode(), b"<template>") for p, text in files.items()}

    assert anywhere(compiled, without) == anywhere(copied, template_copy)
    assert {"str", "bool", "int", "single", "tests", "unit"} <= set(compiles)


JINJA_TEXT = st.text(alphabet="ab {}%#\r\n-+=_\t", max_size=12)
ENVIRONMENTS = {
    "copier": {"keep_trailing_newline": True},
    "jinja defaults": {},
    "line statements": {"keep_trailing_newline": True, "line_statement_prefix": "#"},
    "line comments": {"keep_trailing_newline": True, "line_comment_prefix": "##"},
    "windows new lines": {"keep_trailing_newline": True, "newline_sequence": "\r\n"},
    "other delimiters": {
        "keep_trailing_newline": True,
        "variable_start_string": "[[",
        "variable_end_string": "]]",
        "block_start_string": "[%",
        "block_end_string": "%]",
        "comment_start_string": "[#",
        "comment_end_string": "#]",
    },
}


@pytest.mark.parametrize("options", ENVIRONMENTS.values(), ids=ENVIRONMENTS)
@given(source=JINJA_TEXT)
def test_what_is_taken_for_plain_text_renders_to_itself(
    options: dict[str, Any], source: str
) -> None:
    """Every string the shortcut takes for plain text Jinja renders unchanged, in Copier's
    environment and in others (delimiters, line prefixes, the last new line dropped)."""
    extension = sys.modules.get("gcf_template_extension_plain") or load_module(
        ROOT / "extensions" / "gcf.py", "gcf_template_extension_plain"
    )
    environment = jinja2.Environment(**options)
    if extension.extensions.plain_text_test(environment)(source):
        assert environment.from_string(source).render(a=1) == source


def test_plain_text_is_found_in_the_strings_jinja_renders_unchanged() -> None:
    """And the shortcut is taken: for text without delimiters, and not where an extension
    could rewrite the source."""
    extension = load_module(ROOT / "extensions" / "gcf.py", "gcf_template_extension_plain")
    plain = extension.extensions.plain_text_test
    copier_like = jinja2.Environment(keep_trailing_newline=True)
    assert [
        s
        for s in ("str", "a }} b", "x\n", "{{ a }}", "{% if", "{#", "a\r\nb")
        if plain(copier_like)(s)
    ] == ["str", "a }} b", "x\n"]
    assert not plain(jinja2.Environment())("x\n")

    class Rewrites(jinja2.ext.Extension):
        def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
            return source.upper()

    assert not plain(jinja2.Environment(extensions=[Rewrites]))("str")
    # Line prefixes are on when not None: Jinja refuses "str" with an empty one.
    assert not plain(jinja2.Environment(line_statement_prefix=""))("str")
    assert not plain(jinja2.Environment(line_comment_prefix=""))("str")
    assert plain(jinja2.Environment(newline_sequence="\r\n"))("a b")
    assert not plain(jinja2.Environment(newline_sequence="\r\n"))("a\nb")


def test_copiers_yield_is_set_and_reset_for_each_string(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copier reads, after rendering a path, what a {% yield %} in it set as it rendered, and
    refuses a second one: each string resets it first, as compiling it would. Neither the
    compiled strings kept nor plain text may skip that."""
    from copier._jinja_ext import YieldExtension, get_yield_context

    monkeypatch.setenv(VARIABLE, "off")
    extension = load_module(ROOT / "extensions" / "gcf.py", "gcf_template_extension_yield")
    environment = jinja2.Environment(
        extensions=[YieldExtension, extension.Questionnaire], keep_trailing_newline=True
    )
    yielding = "{% yield item from items %}{{ item }}{% endyield %}.txt"
    for source in (yielding, "plain", "{{ a }}", yielding, "plain", "{{ a }}", yielding):
        environment.from_string(source).render(items=[1, 2], a=1)
        expected = "item" if source == yielding else None
        assert get_yield_context(environment).yield_name == expected, source
