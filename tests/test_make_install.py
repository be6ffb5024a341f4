"""A generated repo installs itself from nothing and passes its own checks, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import check


@pytest.mark.slow
@pytest.mark.parametrize("trigger", ["firestore"])
def test_make_install_test_lint_from_nothing(trigger: str, render, tmp_path: Path) -> None:
    # Firestore has the most dependencies (protobuf events and the Firestore client).
    path = render(trigger_type=trigger)
    check(["make", "install", "test", "lint"], path)
    assert (path / ".venv" / "bin" / "functions-framework").exists()
    assert check(["git", "status", "--porcelain"], path) == "", ".venv must be git-ignored"
