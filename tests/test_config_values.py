"""Config values as a unit: variable patterns and typed values, matched and converted
exactly as Terraform does (each case checked against the real binary)."""

from __future__ import annotations

from pathlib import Path

import pytest

from supabase_init.config import config_from_document, pattern_matches
from supabase_init.errors import VariableError
from supabase_init.hclfile import parse_hcl_text
from supabase_init.variables import VariableSources, resolve_variables


@pytest.mark.parametrize(("pattern", "value", "matches"), [
    # Checked against `terraform console`: can(regex(pattern, value)).
    ("^a|b$", "ax", True),  # a search: the alternation splits the anchors
    ("^[a-z]+$", "abc\n", False),  # RE2's $ is the end of the text
    ("^[a-z]+$", "abc", True),
    ("^[$]$", "$", True),  # a $ in a class is literal
    ("^a\\$$", "a$", True),  # so is an escaped one
    ("^[0-9]{1,9}(us|ms|s|min|h)?$", "5 s", False),
])
def test_pattern_matches_like_terraform_regex(pattern: str, value: str, matches: bool) -> None:
    assert pattern_matches(pattern, value) is matches


TYPED_CONFIG = """
variable "rows" {
  type    = "number"
  default = 1
}

variable "enabled" {
  type    = "bool"
  default = false
}
"""


@pytest.mark.parametrize(("arg", "expected"), [
    # Checked against `terraform console`: tonumber(...) / tobool(...).
    ("rows=5", 5), ("rows=+5", 5), ("rows=.5", 0.5), ("rows=1e3", 1000), ("rows=-2.50", -2.5),
    ("rows= 5", None), ("rows=1_000", None), ("rows=0x10", None), ("rows=nan", None),
    ("rows=", None),
    ("enabled=true", True), ("enabled=1", True), ("enabled=0", False),
    ("enabled=True", None), ("enabled=yes", None),
])
def test_var_strings_convert_like_terraform(arg: str, expected: object, tmp_path: Path) -> None:
    config = config_from_document(parse_hcl_text(TYPED_CONFIG, tmp_path / "typed.hcl"))
    sources = VariableSources(vars=(arg,), environ={})
    name = arg.partition("=")[0]
    if expected is None:
        with pytest.raises(VariableError, match=f"variable '{name}' .*expected a "):
            resolve_variables(config, sources)
    else:
        value = resolve_variables(config, sources)[name]
        assert value == expected and type(value) is not str
