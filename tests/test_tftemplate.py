"""Unit tests for the Terraform template evaluator (supabase_init.tftemplate).

TERRAFORM_CASES records what Terraform's templatefile() returns for tricky
templates; the pure test checks the evaluator against the table, and
test_terraform_agrees_with_the_table checks the table against the real
binary, all cases in one `terraform apply`.
"""

from __future__ import annotations

import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from supabase_init.errors import RenderError
from supabase_init.tftemplate import (
    Value,
    escape_literal,
    evaluate,
    format_value,
    placeholder,
    referenced_names,
)

X: dict[str, Value] = {"x": "X"}

# id -> (template, variables, what templatefile() returns)
TERRAFORM_CASES: dict[str, tuple[str, dict[str, Value], str]] = {
    # Numbers: arbitrary-precision decimals, printed in full, never with an exponent.
    "num_1_5": ("<${x}>", {"x": 1.5}, "<1.5>"),
    "num_10": ("<${x}>", {"x": 10}, "<10>"),
    "num_1e3": ("<${x}>", {"x": 1e3}, "<1000>"),
    "num_1e3_decimal": ("<${x}>", {"x": Decimal("1e3")}, "<1000>"),
    "num_1_0": ("<${x}>", {"x": 1.0}, "<1>"),
    "num_0_1": ("<${x}>", {"x": 0.1}, "<0.1>"),
    "num_0_3": ("<${x}>", {"x": 0.1 + 0.2}, "<0.30000000000000004>"),
    "num_1e_7": ("<${x}>", {"x": 1e-7}, "<0.0000001>"),
    "num_1e21": ("<${x}>", {"x": 1e21}, "<1000000000000000000000>"),
    "num_1e22": ("<${x}>", {"x": 1e22}, "<10000000000000000000000>"),
    "num_big_int": ("<${x}>", {"x": 12345678901234567890}, "<12345678901234567890>"),
    "num_2_53_plus_1": ("<${x}>", {"x": 2**53 + 1}, "<9007199254740993>"),
    "num_negative": ("<${x}|${y}>", {"x": -3, "y": -0.5}, "<-3|-0.5>"),
    "num_negative_zero": ("<${x}>", {"x": -0.0}, "<-0>"),
    "num_many_digits": ("<${x}>", {"x": Decimal("3.14159265358979323846")},
                        "<3.14159265358979323846>"),
    "bools": ("<${t}|${f}>", {"t": True, "f": False}, "<true|false>"),
    # Keywords are literals, whatever the variables say.
    "keywords": ("<${true}|${false}>", {"true": "T"}, "<true|false>"),
    # Escapes: the last two characters before "{" form the escape.
    "esc_dollar": ("a$${b}c", {}, "a${b}c"),
    "esc_dollar_3": ("a$$${x}c", X, "a$${x}c"),
    "esc_dollar_4": ("a$$$${x}c", X, "a$$${x}c"),
    "esc_percent": ("a%%{b}c", {}, "a%{b}c"),
    "esc_percent_3": ("a%%%{b}c", {}, "a%%{b}c"),
    "esc_strip_markers": ("$${~x~} %%{~ if }", {}, "${~x~} %{~ if }"),
    "esc_mixed": ("%$${ $%%{ ${x}", X, "%${ $%{ X"),
    "lone_dollar_percent": ("$$ $ %% % $$$ ~} }{ end$", {}, "$$ $ %% % $$$ ~} }{ end$"),
    "dollar_at_end": ("${x}$", X, "X$"),
    "percent_at_end": ("${x}%", X, "X%"),
    # Strip markers trim within one literal token; a token ends after a newline.
    "strip_both": ("a  \n ${~ x ~}  \n b", X, "a  \nX b"),
    "strip_crlf_before": ("a\r\n${~x}", X, "aX"),
    "strip_crlf_after": ("a \r\n ${x ~}\r\n\r\n b", X, "a \r\n X\r\n b"),
    "strip_blank_lines": ("a \n\n ${~x~} \n\n b", X, "a \n\nX\n b"),
    "strip_between": ("${x~}\n\n${~x}", X, "XX"),
    "strip_adjacent": ("${x~}${~x~}${x}", X, "XXX"),
    "strip_previous_line": ("a\r\n \r\n${~ x}", X, "a\r\nX"),
    "strip_go_space": ("a\u00a0\u3000\x85\u2028\v\f${~x~}\u2029\u202f\u1680\t\x1cb", X,
                       "aX\x1cb"),
    "strip_stops_at_zwsp": ("a \u200b ${~x~} \u200b b", X, "a \u200bX\u200b b"),
    "strip_tab_line": ("${x~}\t\v\f\r\n\tz", X, "X\tz"),
    "interp_whitespace": ("${ x }|${\n x \n}|${x ~}|${\tx}|${\r\nx\r\n}", X, "X|X|X|X|X"),
    # Line ends and control characters are kept as they are.
    "crlf_kept": ("a\r\nb${x}\r\n", X, "a\r\nbX\r\n"),
    "controls_kept": ("a\x00b\x01${x}\x7f", X, "a\x00b\x01X\x7f"),
    # A CR without LF ends the scan: the rest is one literal, "$$"/"%%" greedy.
    "lone_cr": ("a\rb ${x}", X, "a\rb ${x}"),
    "lone_cr_after_interp": ("${x}\r${x}", X, "X\r${x}"),
    "lone_cr_escapes": ("a\r$${x}$$", X, "a\r${x}$$"),
    "lone_cr_greedy_pairs": ("a\r$$${x}$$$${x}%%%{", X, "a\r$$${x}$$${x}%%%{"),
    "lone_cr_strip_spaces_token": ("${x~}  \r b", X, "X\r b"),
    "lone_cr_strip_whole": ("${x~}\r \n\n b", X, "Xb"),
    "lone_cr_at_end": ("${x~}\r", X, "X"),
    "lone_cr_at_end_kept": ("ab \r", {}, "ab \r"),
    # One leading byte order mark is dropped.
    "bom": ("\ufeff${x}!", X, "X!"),
    "bom_twice": ("\ufeff\ufeffa", {}, "\ufeffa"),
    "bom_inside": ("a\ufeff${x}", X, "a\ufeffX"),
    # Strings are NFC-normalized, the whole result at once.
    "nfc_literal": ("e\u0301 ${x}\u0301", X, "\xe9 X\u0301"),
    "nfc_value": ("<${x}>", {"x": "e\u0301"}, "<\xe9>"),
    "nfc_across_parts": ("e${x}", {"x": "\u0301"}, "\xe9"),
    "nfc_hangul": ("\u1100${x}", {"x": "\u1161"}, "\uac00"),
    # Repeated interpolations (parsed once each), one with "}" in a string.
    "repeated": ('${replace(x, "}", "a")}|${replace(x, "}", "b")}|${replace(x, "}", "a")}'
                 "|${x} ${~x} ${x~} ${x}", {"x": "}"}, "a|b|a|}} }}"),
    "values_not_reparsed": ("<${x}>", {"x": "${y} %{ if } $${z} ~}"}, "<${y} %{ if } $${z} ~}>"),
}


@pytest.mark.parametrize("case_id", sorted(TERRAFORM_CASES))
def test_evaluate_matches_terraform_table(case_id: str) -> None:
    template, variables, expected = TERRAFORM_CASES[case_id]
    assert evaluate(template, variables) == expected


def _json_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value)


def run_templatefile(terraform_bin: str, workdir: Path,
                     cases: dict[str, tuple[str, dict[str, Value]]]) -> dict[str, str]:
    """templatefile() of every case, from one `terraform apply` of a root module."""
    (workdir / "t").mkdir(parents=True)
    entries = []
    for case_id, (template, variables) in cases.items():
        (workdir / "t" / f"{case_id}.tpl").write_bytes(template.encode("utf-8"))
        members = ", ".join(f"{json.dumps(k)}: {_json_value(v)}" for k, v in variables.items())
        entries.append(f"{json.dumps(case_id)}: {{{members}}}")
    # Written by hand so numbers keep their exact decimal text.
    (workdir / "cases.json").write_text("{" + ",\n".join(entries) + "}", encoding="utf-8")
    (workdir / "main.tf").write_text(
        'locals {\n  cases = jsondecode(file("${path.module}/cases.json"))\n}\n\n'
        'output "results" {\n'
        '  value = { for id, vars in local.cases :'
        ' id => templatefile("${path.module}/t/${id}.tpl", vars) }\n}\n', encoding="utf-8")
    (workdir / "empty.tfrc").write_text("", encoding="utf-8")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(workdir / "empty.tfrc"),
           "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    for args in (["apply", "-auto-approve", "-input=false", "-no-color"],
                 ["output", "-json", "-no-color", "results"]):
        proc = subprocess.run([terraform_bin, *args], cwd=workdir, env=env,
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    # JSON string escapes are lossless: no byte of the output is guessed.
    results: dict[str, str] = json.loads(proc.stdout)
    return results


def test_terraform_agrees_with_the_table(terraform_bin: str, tmp_path: Path) -> None:
    results = run_templatefile(terraform_bin, tmp_path, {
        case_id: (template, variables)
        for case_id, (template, variables, _) in TERRAFORM_CASES.items()})
    mismatches = {case_id: (results.get(case_id), expected)
                  for case_id, (_, _, expected) in TERRAFORM_CASES.items()
                  if results.get(case_id) != expected}
    assert not mismatches, "terraform vs table: " + ascii(mismatches)


# --- escaping -------------------------------------------------------------


@pytest.mark.parametrize(("text", "escaped"), [
    ("${x}", "$${x}"),
    ("$${x}", "$$${x}"),
    ("%{ if }", "%%{ if }"),
    ("%%{", "%%%{"),
    ("$ $$ % %% ~ } {", "$ $$ % %% ~ } {"),
    ("${~x~}", "$${~x~}"),
    ("a\r\nb", "a\r\nb"),
])
def test_escape_literal(text: str, escaped: str) -> None:
    assert escape_literal(text) == escaped
    assert evaluate(escaped, {}) == text


def test_escape_literal_next_to_an_interpolation() -> None:
    template = escape_literal("%") + placeholder("x") + escape_literal("${y}%")
    assert evaluate(template, {"x": "$"}) == "%$${y}%"


def test_escape_literal_rejects_a_lone_carriage_return() -> None:
    with pytest.raises(RenderError, match=r"generated SQL:3: a carriage return not followed"):
        escape_literal("a\nb\nc\rd")


# --- errors -----------------------------------------------------------------


@pytest.mark.parametrize(("template", "message"), [
    ("ok\n%{ if x }y%{ endif }", r"t\.tpl:2: template directives"),
    ("ok\n\n${a.b}", r"t\.tpl:3: unsupported template expression '\$\{a\.b\}'"),
    ("${f(x)}", r"t\.tpl:1: unsupported template expression '\$\{f\(x\)\}'"),
    ("${x + 1}", r"t\.tpl:1: unsupported template expression"),
    ("${}", r"t\.tpl:1: unsupported template expression '\$\{\}'"),
    ("${ ~x}", r"t\.tpl:1: unsupported template expression"),
    ("${x~ }", r"t\.tpl:1: unsupported template expression"),
    ('${"x"}', r"t\.tpl:1: unsupported template expression"),
    ("a\nb ${abc", r"t\.tpl:2: unterminated interpolation '\$\{abc': no closing \}"),
    ("${null}", r"t\.tpl:1: \$\{null\}: a null value cannot be interpolated"),
])
def test_unsupported_syntax_is_an_error_naming_the_line(template: str, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        evaluate(template, {"x": "1", "a": "1", "f": "1", "abc": "1"}, source="t.tpl")


def test_directive_is_an_error_for_referenced_names_too() -> None:
    with pytest.raises(RenderError, match=r"t\.tpl:1: template directives"):
        referenced_names("%{ for x in y }", source="t.tpl")


def test_missing_variable_names_it_and_the_line() -> None:
    with pytest.raises(RenderError, match=r"t\.tpl:2: variable 'schema' is used by the "
                                          r"template but has no value"):
        evaluate("SELECT 1;\nCREATE SCHEMA ${schema};", {"other": "x"}, source="t.tpl")


def test_after_a_lone_carriage_return_nothing_is_interpolated() -> None:
    # So nothing there can be an error either, as in Terraform.
    assert evaluate("${x}\r${nope} %{ if }", X) == "X\r${nope} %{ if }"
    assert referenced_names("${x}\r${nope}") == ["x"]


# --- referenced names and values ------------------------------------------


def test_referenced_names_in_order_of_first_use() -> None:
    template = "${b} $${a} ${~a} ${b~} ${true} ${ c }"
    assert referenced_names(template) == ["b", "a", "c"]


@pytest.mark.parametrize(("value", "text"), [
    (True, "true"),
    (False, "false"),
    (0, "0"),
    (-7, "-7"),
    (10**30, "1" + "0" * 30),
    (1.5, "1.5"),
    (10.0, "10"),
    (1e3, "1000"),
    (0.1, "0.1"),
    (-0.0, "-0"),
    (1e-7, "0.0000001"),
    (1e21, "1" + "0" * 21),
    (Decimal("1.50"), "1.5"),
    (Decimal("1E+3"), "1000"),
    (Decimal("-0"), "-0"),
    ("5min", "5min"),
    ("", ""),
])
def test_format_value(value: Value, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize("value", [float("inf"), float("nan"), Decimal("Infinity")])
def test_format_value_rejects_what_terraform_cannot_hold(value: Value) -> None:
    with pytest.raises(RenderError, match="not a number Terraform can represent"):
        format_value(value)


@pytest.mark.parametrize("text", [
    "$", "$$", "${", "$${", "$$${x}", "%", "%%", "%{", "%%{", "%%%{if}", "{}", "}",
    "${}", "a$\n${b}\n%{~c~}", "\\${x}", "'${x}'", "\"%{ for }\"", "$$$$", "~", "é ${ü}",
])
def test_escape_literal_round_trips(text: str) -> None:
    assert evaluate(escape_literal(text), {}) == text
