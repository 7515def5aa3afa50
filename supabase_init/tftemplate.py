"""Terraform template strings: escaping (build) and evaluation (render).

Stage 1 output is a Terraform template, evaluated by ``templatefile()``
during ``terraform apply`` and by ``evaluate`` here; both must give the same
bytes. Only what the generated templates use is supported: literal text, the
escapes ``$${`` and ``%%{``, and interpolations (with optional ``~`` strip
markers) of a variable, ``replace(x, "text", "text")`` and the one
``regex()`` guard the build emits (see ``quoting``). Anything else is an
error, never passed through.

Terraform behaviours reproduced here (each checked against the binary by the
tests):

* A strip marker trims white space (Go's ``unicode.IsSpace``) only within the
  adjacent literal *token*, and HCL ends a literal token after each newline:
  ``${x~}`` trims at most through the first following newline, ``${~x}`` only
  the text after the last newline before it (plus that newline when nothing
  else follows it).
* A carriage return not followed by a line feed stops HCL's template scanner:
  everything from it to the end of the file is one literal in which
  ``${ ... }`` is not interpolated and ``$$``/``%%`` pairs are read greedily.
* One leading byte order mark is dropped.
* Strings are Unicode NFC-normalized (cty normalizes every string value).
* Numbers are arbitrary-precision decimals printed in full (``1e3`` is
  ``1000``, ``1e-7`` is ``0.0000001``, ``-0`` stays ``-0``).
* ``${true}`` and ``${false}`` are the keywords, never variables.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from .errors import RenderError

Value = str | int | float | bool | Decimal

# HCL's strip markers remove what Go's unicode.IsSpace calls white space.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
            "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
# The escapes come first: at the same position "$${" wins over "${", and the
# leftmost match is what HCL's scanner sees ("$$${" is "$" then "$${").
_OPENER = re.compile(r"\$\$\{|%%\{|\$\{|%\{")
# Between the tokens of an interpolation HCL skips spaces, tabs and newlines.
_GAP = r"(?:[ \t\n]|\r\n)*"
_GAP_RE = re.compile(_GAP)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# A quoted string inside an interpolation: no escapes but \" and \\, no
# nested template sequences.
_STRING = re.compile(r'"((?:[^"\\$%\r\n]|\\["\\]|\$(?!\{)|%(?!\{))*)"')
_STRING_ESCAPE = re.compile(r'\\(["\\])')
_LONE_CR = re.compile(r"\r(?!\n)")
# Inside the literal that starts at a lone CR, "$$"/"%%" pairs are taken
# greedily and only a pair directly followed by "{" loses a character.
_RAW_PAIR = re.compile(r"([$%])\1(\{)?")
_KEYWORDS = {"true": "true", "false": "false"}


def escape_literal(text: str, *, source: str = "generated SQL") -> str:
    """Make ``text`` come out of Terraform template evaluation unchanged.

    HCL reads ``$${`` as a literal ``${`` whatever precedes it (``$$${`` is
    ``$`` then ``${``), so doubling the first character of every opener is
    exact. A ``$`` or ``%`` not followed by ``{`` is already literal. Text
    that no template can reproduce (a lone carriage return) is an error.
    """
    cr = _LONE_CR.search(text)
    if cr is not None:
        raise RenderError("a carriage return not followed by a line feed cannot be written in "
                          "a Terraform template (Terraform reads everything after it as plain "
                          "text); use LF or CRLF line endings",
                          path=source, line=_line_of(text, cr.start()))
    return text.replace("${", "$${").replace("%{", "%%{")


def placeholder(name: str) -> str:
    return "${" + name + "}"


def format_value(value: Value) -> str:
    """How Terraform turns a primitive into template text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        # Terraform numbers are big decimals printed without an exponent;
        # repr() is the shortest text that reads back as the same float.
        number = value if isinstance(value, Decimal) else Decimal(repr(value))
        if not number.is_finite():
            raise RenderError(f"{value!r} is not a number Terraform can represent")
        text = format(number, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    return value


def _line_of(template: str, index: int) -> int:
    return template.count("\n", 0, index) + 1


@dataclass(frozen=True)
class _Call:
    function: str
    arguments: tuple[_Expression, ...]


_Expression = str | _Call | bytes  # a variable, a call, or a quoted string (UTF-8)


@dataclass(frozen=True)
class _Interpolation:
    expression: _Expression
    strip_before: bool
    strip_after: bool
    line: int

    def names(self) -> list[str]:
        found: list[str] = []
        stack: list[_Expression] = [self.expression]
        while stack:
            e = stack.pop()
            if isinstance(e, str):
                found.append(e)
            elif isinstance(e, _Call):
                stack.extend(reversed(e.arguments))
        return found


class _Unsupported(Exception):
    pass


def _expression(text: str, pos: int) -> tuple[_Expression, int]:
    """One expression of the supported subset starting at ``pos``."""
    s = _STRING.match(text, pos)
    if s is not None:
        return _STRING_ESCAPE.sub(r"\1", s.group(1)).encode(), s.end()
    word = _IDENTIFIER.match(text, pos)
    if word is None:
        raise _Unsupported
    pos = _GAP_RE.match(text, word.end()).end()  # type: ignore[union-attr]
    if not text.startswith("(", pos):
        return word.group(), word.end()
    if word.group() not in _FUNCTIONS:
        raise _Unsupported
    arguments: list[_Expression] = []
    while True:
        pos = _GAP_RE.match(text, pos + 1).end()  # type: ignore[union-attr]
        argument, pos = _expression(text, pos)
        arguments.append(argument)
        pos = _GAP_RE.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith(")", pos):
            return _Call(word.group(), tuple(arguments)), pos + 1
        if not text.startswith(",", pos):
            raise _Unsupported


def _interpolation(text: str, pos: int) -> tuple[_Expression, bool, bool, int] | None:
    """(expression, strip before, strip after, end) of the body after ``${``."""
    strip_before = text.startswith("~", pos)
    pos = _GAP_RE.match(text, pos + strip_before).end()  # type: ignore[union-attr]
    try:
        expression, pos = _expression(text, pos)
    except _Unsupported:
        return None
    if isinstance(expression, bytes):
        return None  # a quoted string only ever appears as a function's argument
    pos = _GAP_RE.match(text, pos).end()  # type: ignore[union-attr]
    strip_after = text.startswith("~", pos)
    pos += strip_after
    if not text.startswith("}", pos):
        return None
    return expression, strip_before, strip_after, pos + 1


@dataclass(frozen=True)
class _Parsed:
    literals: list[str]  # escapes resolved; one more than interpolations
    interpolations: list[_Interpolation]
    tail: str | None  # the literal from a lone carriage return to the end


@functools.lru_cache(maxsize=4)
def _parse(template: str, source: str) -> _Parsed:
    """The template split into literals and interpolations. Cached: a command reads its
    variables' names and then renders, both from one parse."""
    if template.startswith("\ufeff"):
        template = template[1:]
    cr = _LONE_CR.search(template)
    head = template if cr is None else template[:cr.start()]
    tail = None if cr is None else _RAW_PAIR.sub(
        lambda m: m.group(1) + "{" if m.group(2) else m.group(0), template[cr.start():])
    literals: list[str] = []
    interpolations: list[_Interpolation] = []
    piece: list[str] = []
    pos = 0
    # Lines are counted incrementally: counting from the start for every
    # interpolation would make large templates quadratic.
    line, counted = 1, 0
    parsed: dict[str, tuple[_Expression, bool, bool]] = {}
    while (m := _OPENER.search(head, pos)) is not None:
        opener = m.group()
        if opener in ("$${", "%%{"):
            piece.append(head[pos:m.start()] + opener[1:])
            pos = m.end()
            continue
        line += head.count("\n", counted, m.start())
        counted = m.start()
        if opener == "%{":
            raise RenderError("template directives (%{ ... }) are not supported; "
                              "write %%{ for a literal %{", path=source, line=line)
        # A template repeats a few interpolations many times: one whose text
        # ends at the first "}" after its opener is parsed once (its parse reads
        # nothing past that "}").
        close = head.find("}", m.end())
        text = head[m.end():close + 1] if close != -1 else None
        known = parsed.get(text) if text is not None else None
        if known is not None:
            body: tuple[_Expression, bool, bool, int] | None = (*known, close + 1)
        else:
            body = _interpolation(head, m.end())
            if body is not None and text is not None and body[3] == close + 1:
                parsed[text] = body[:3]
        if body is None:
            if close == -1:
                raise RenderError(f"unterminated interpolation {head[m.start():][:40]!r}: "
                                  "no closing }", path=source, line=line)
            raise RenderError(f"unsupported template expression {head[m.start():close + 1][:60]!r}"
                              ": only a variable, replace() and the build's regex() are "
                              "supported (write $${ for a literal ${)", path=source, line=line)
        piece.append(head[pos:m.start()])
        literals.append("".join(piece))
        piece = []
        expression, strip_before, strip_after, pos = body
        interpolations.append(_Interpolation(expression=expression, strip_before=strip_before,
                                             strip_after=strip_after, line=line))
    piece.append(head[pos:])
    literals.append("".join(piece))
    return _Parsed(literals=literals, interpolations=interpolations, tail=tail)


def referenced_names(template: str, *, source: str = "template") -> list[str]:
    """Variable names interpolated by ``template``, in order of first use."""
    names: list[str] = []
    for interp in _parse(template, source).interpolations:
        for name in interp.names():
            if name not in _KEYWORDS and name != "null" and name not in names:
                names.append(name)
    return names


def _trim_first_token(text: str) -> str:
    """What ``~}`` removes: leading white space up to and including one newline."""
    newline = text.find("\n")
    cut = len(text) if newline == -1 else newline + 1
    return text[:cut].lstrip(_GO_SPACE) + text[cut:]


def _trim_last_token(text: str) -> str:
    """What ``${~`` removes: trailing white space back to the previous line's end."""
    cut = text.rfind("\n", 0, len(text) - 1) + 1
    return text[:cut] + text[cut:].rstrip(_GO_SPACE)


def _variable_text(name: str, variables: Mapping[str, Value], source: str, line: int) -> str:
    if name in _KEYWORDS:
        return _KEYWORDS[name]
    if name == "null":
        raise RenderError("${null}: a null value cannot be interpolated", path=source, line=line)
    if name not in variables:
        raise RenderError(f"variable {name!r} is used by the template but has no value",
                          path=source, line=line)
    return format_value(variables[name])


def _replace(value: str, old: str, new: str) -> str:
    if len(old) > 1 and old.startswith("/") and old.endswith("/"):
        raise _Unsupported  # Terraform reads "/.../" as a regular expression
    if not old:
        raise _Unsupported
    return value.replace(old, new)


def _regex(pattern: str, value: str) -> str:
    # The only pattern the build emits (quoting.NO_DOLLAR): no "$" at all.
    if pattern != "^[^$]*$":
        raise _Unsupported
    if "$" in value:
        raise ValueError("it contains \"$\", which cannot be quoted inside a dollar-quoted "
                         "body (its closing tag cannot be escaped)")
    return value


_FUNCTIONS: dict[str, tuple[int, Callable[..., str]]] = {"replace": (3, _replace),
                                                      "regex": (2, _regex)}


def _value_text(interp: _Interpolation, variables: Mapping[str, Value], source: str) -> str:
    def value(e: _Expression) -> str:
        if isinstance(e, bytes):
            return e.decode()
        if isinstance(e, str):
            return _variable_text(e, variables, source, interp.line)
        arity, function = _FUNCTIONS[e.function]
        if len(e.arguments) != arity:
            raise _Unsupported
        return function(*(value(a) for a in e.arguments))

    try:
        return value(interp.expression)
    except _Unsupported:
        raise RenderError("unsupported use of a template function (only replace() with plain "
                          "text and the build's regex() are supported)", path=source,
                          line=interp.line) from None
    except ValueError as e:
        names = ", ".join(repr(n) for n in dict.fromkeys(interp.names()))
        raise RenderError(f"the value of {names} is refused: {e}", path=source,
                          line=interp.line) from None


def evaluate(template: str, variables: Mapping[str, Value], *, source: str = "template") -> str:
    """Evaluate ``template`` as Terraform's ``templatefile(path, variables)`` would."""
    parsed = _parse(template, source)
    literals = list(parsed.literals)
    tail = parsed.tail
    values: list[str] = []
    last = len(parsed.interpolations) - 1
    for k, interp in enumerate(parsed.interpolations):
        if interp.strip_before:
            literals[k] = _trim_last_token(literals[k])
        if interp.strip_after:
            if k == last and tail is not None and not literals[k + 1]:
                # The lone-CR literal is itself the token after "~}".
                tail = tail.lstrip(_GO_SPACE)
            literals[k + 1] = _trim_first_token(literals[k + 1])
        values.append(_value_text(interp, variables, source))
    out = [literals[0]]
    for value, literal in zip(values, literals[1:], strict=True):
        out.append(value)
        out.append(literal)
    if tail is not None:
        out.append(tail)
    return unicodedata.normalize("NFC", "".join(out))
