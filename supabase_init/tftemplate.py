"""Terraform template strings: escaping (build) and evaluation (render).

Stage 1 output is a Terraform template, evaluated by ``templatefile()``
during ``terraform apply`` and by ``evaluate`` here; both must give the same
bytes. Only what the generated templates use is supported: literal text, the
escapes ``$${`` and ``%%{``, and ``${name}`` interpolations (with optional
``~`` strip markers). Anything else is an error, never passed through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import RenderError

Value = str | int | float | bool

# HCL's strip markers remove what Go's unicode.IsSpace calls white space.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
            "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_INTERP_BODY = re.compile(r"(~?)\s*([A-Za-z_][A-Za-z0-9_-]*)\s*(~?)\}")


def escape_literal(text: str) -> str:
    """Make ``text`` come out of Terraform template evaluation unchanged.

    HCL reads ``$${`` as a literal ``${`` whatever precedes it (``$$${`` is
    ``$`` then ``${``), so doubling the first character of every opener is
    exact. A ``$`` or ``%`` not followed by ``{`` is already literal.
    """
    return text.replace("${", "$${").replace("%{", "%%{")


def placeholder(name: str) -> str:
    return "${" + name + "}"


def format_value(value: Value) -> str:
    """How Terraform turns a primitive into template text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        text = repr(value)
        if "e" in text or "E" in text:
            from decimal import Decimal

            text = format(Decimal(text), "f")
        return text
    return value


def _line_of(template: str, index: int) -> int:
    return template.count("\n", 0, index) + 1


def referenced_names(template: str, *, source: str = "template") -> list[str]:
    """Names interpolated by ``template``, in order of first use."""
    names: list[str] = []
    for _, name in _scan(template, source):
        if name is not None and name not in names:
            names.append(name)
    return names


def _scan(template: str, source: str):  # type: ignore[no-untyped-def]
    """Yield (literal text, None) and (strip flags, name) pieces."""
    i = 0
    n = len(template)
    literal: list[str] = []
    start = 0
    while i < n:
        ch = template[i]
        if ch in "$%" and template.startswith(ch + ch + "{", i):
            literal.append(template[start:i] + ch + "{")
            i += 3
            start = i
            continue
        if ch == "%" and template.startswith("%{", i):
            raise RenderError("template directives (%{ ... }) are not supported",
                              path=source, line=_line_of(template, i))
        if ch == "$" and template.startswith("${", i):
            m = _INTERP_BODY.match(template, i + 2)
            if not m:
                end = template.find("}", i)
                snippet = template[i:end + 1 if end != -1 else i + 20][:40]
                raise RenderError(
                    f"unsupported template expression {snippet!r}: only ${{name}} is supported",
                    path=source, line=_line_of(template, i))
            literal.append(template[start:i])
            yield "".join(literal), None
            literal = []
            yield (m.group(1), m.group(3)), m.group(2)
            i = m.end()
            start = i
            continue
        i += 1
    literal.append(template[start:])
    yield "".join(literal), None


def evaluate(template: str, variables: Mapping[str, Value], *, source: str = "template") -> str:
    """Evaluate ``template`` as Terraform's ``templatefile(path, variables)`` would."""
    out: list[str] = []
    strip_next = False
    for piece, name in _scan(template, source):
        if name is None:
            text = piece
            if strip_next:
                text = text.lstrip(_GO_SPACE)
                strip_next = False
            out.append(text)
            continue
        strip_before, strip_after = piece
        if strip_before and out:
            out[-1] = out[-1].rstrip(_GO_SPACE)
        if name not in variables:
            raise RenderError(f"variable {name!r} is used by the template but has no value",
                              path=source)
        out.append(format_value(variables[name]))
        strip_next = bool(strip_after)
    return "".join(out)
