"""A generated repo installs itself from nothing and passes its own checks, as a user runs them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import check

UV = str(Path(sys.executable).with_name("uv"))  # the dev group's uv


@pytest.mark.slow
@pytest.mark.parametrize(
    ("trigger", "uv"),
    [
        # Firestore has the most dependencies (protobuf events and the Firestore client).
        pytest.param("firestore", UV, id="firestore-uv"),
        # Without uv, pip installs the same requirements (HTTP has the fewest, for speed).
        pytest.param("http", "", id="http-pip"),
    ],
)
def test_make_install_test_lint_from_nothing(trigger: str, uv: str, render) -> None:
    path = render(trigger_type=trigger)
    check(["make", "install", "test", "lint", f"UV={uv}"], path)
    assert (path / ".venv" / "bin" / "functions-framework").exists()
    assert (path / ".venv" / "bin" / "gcf").exists(), "gcf-devkit is installed"
    made_by_uv = "\nuv = " in "\n" + (path / ".venv" / "pyvenv.cfg").read_text()
    assert made_by_uv == bool(uv)
    assert check(["git", "status", "--porcelain"], path) == "", ".venv must be git-ignored"
