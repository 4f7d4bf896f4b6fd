"""The README documents every operator, quantifier and command."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from workbench.__main__ import build_parser
from workbench.catalog import OPERATORS, QUANTIFIERS

README = (REPO / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_operator_is_documented(op):
    assert f"`{op}`" in README


@pytest.mark.parametrize("quantifier", sorted(QUANTIFIERS))
def test_quantifier_is_documented(quantifier):
    assert f"`{quantifier}`" in README


def test_every_command_is_documented():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    missing = [c for c in commands if f"python -m workbench {c}" not in README]
    assert not missing, f"commands missing from the README: {missing}"


def test_readme_names_no_machine_paths():
    assert "/work/" not in README and "/root/" not in README
