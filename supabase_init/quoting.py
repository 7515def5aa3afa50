"""Where each Terraform-time value sits in the built SQL, and how it is quoted.

Stage 1 leaves a stand-in wherever a template calls ``var(name)``. Before the
stand-ins become Terraform interpolations, the built SQL is scanned with
PostgreSQL's lexical rules and each stand-in gets the quoting of the place it
is in, written with Terraform built-in functions so that ``templatefile()``
and ``render`` quote it alike:

* inside a quoted identifier at the top level, ``"`` is doubled;
* inside a standard string literal at the top level, ``'`` is doubled;
* inside a dollar-quoted body (a ``DO`` block, a function), a value may only
  be a quoted identifier, directly in the body's code or inside one of its
  string literals (SQL it will ``EXECUTE``). A body's closing tag cannot be
  escaped, so there the value must not contain ``$`` (``regex()`` fails the
  evaluation otherwise); the identifier's ``"`` and, inside a literal, ``'``
  are doubled.

Anywhere else (unquoted, in a comment, in an ``E'...'`` string, in a literal
in a body where it is not an identifier) the build fails: no value, whatever
it holds, can change the statements the script is made of.
"""

from __future__ import annotations

import re

from .errors import RenderError

# The one pattern the built templates pass to regex(): no "$" at all.
NO_DOLLAR = "^[^$]*$"

_IDENT = r'replace({0}, "\"", "\"\"")'
_LITERAL = '''replace({0}, "'", "''")'''
_GUARD = 'regex("' + NO_DOLLAR + '", {0})'
# Each form is a Terraform expression with {0} standing for the variable.
FORMS = {
    "identifier": _IDENT,
    "literal": _LITERAL,
    "body identifier": _IDENT.format(_GUARD),
    "body literal identifier": _LITERAL.format(_IDENT.format(_GUARD)),
}

OPEN, CLOSE = "\ue000", "\ue001"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SENTINEL = re.compile(OPEN + "(" + _NAME + ")" + CLOSE)
# An identifier starts with a letter, "_" or any non-ASCII character (the
# stand-ins excepted) and goes on with those, digits and "$".
_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f\ue000\ue001]"
_CONT = r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f\ue000\ue001]"
_TAG = r"\$(?:" + _START + r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f\ue000\ue001]*)?\$"
_TOKEN = re.compile(
    "(?P<sentinel>" + _SENTINEL.pattern + ")"
    r"|(?P<line_comment>--[^\n]*)"
    r"|(?P<block_comment>/\*)"
    r"|(?P<escape_string>(?<![\w$])[EeUu]&?')"
    r"|(?P<string>')"
    r'|(?P<quoted>(?:(?<![\w$])[Uu]&)?")'
    "|(?P<dollar>" + _TAG + ")"
    "|(?P<word>" + _START + _CONT + "*)"
    r"|(?P<other>[^'\"$\-/\ue000\ue001A-Za-z_\x80-\uffff]+|.)",
    re.DOTALL)
_STRING_END = re.compile(r"(?:[^']|'')*'", re.DOTALL)
_ESCAPE_STRING_END = re.compile(r"(?:[^'\\]|''|\\.)*'", re.DOTALL)
_QUOTED_END = re.compile(r'(?:[^"]|"")*"', re.DOTALL)
_BLOCK_COMMENT = re.compile(r"/\*|\*/")

_TOP, _BODY, _INNER = "top", "body", "inner"


class _Misplaced(Exception):
    def __init__(self, ordinal: int, why: str) -> None:
        super().__init__(why)
        self.ordinal = ordinal  # how many stand-ins come before it
        self.why = why


def _names_in(text: str) -> list[str]:
    return _SENTINEL.findall(text)


def _refuse_inside(text: str, why: str, out: list[str]) -> None:
    if _names_in(text):
        raise _Misplaced(len(out), why)


def _contexts(text: str, level: str, out: list[str]) -> None:
    """Append the quoting form of each stand-in in ``text`` to ``out``, in order."""
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        assert m is not None  # the last alternative matches any character
        kind, pos = m.lastgroup, m.end()
        if kind == "sentinel":
            raise _Misplaced(len(out), "is not inside a quoted identifier or a string "
                             "literal")
        if kind == "line_comment":
            _refuse_inside(m.group(), "is inside a SQL comment, which a line break in the "
                           "value would end", out)
        elif kind == "block_comment":
            end = _comment_end(text, m.start())
            _refuse_inside(text[m.start():end], "is inside a SQL comment", out)
            pos = end
        elif kind == "escape_string":
            end = _end(_ESCAPE_STRING_END, text, pos, "string")
            _refuse_inside(text[pos:end], "is inside an E'...' or U&'...' string; use a "
                           "standard '...' literal", out)
            pos = end
        elif kind == "string":
            end = _end(_STRING_END, text, pos, "string")
            _in_string(text[pos:end - 1], level, out)
            pos = end
        elif kind == "quoted":
            end = _end(_QUOTED_END, text, pos, "quoted identifier")
            if m.group().startswith(("U", "u")):
                _refuse_inside(text[pos:end], "is inside a U&\"...\" identifier", out)
            found = _names_in(text[pos:end])
            out.extend([_IDENTIFIER_FORM[level]] * len(found))
            pos = end
        elif kind == "dollar":
            tag = m.group()
            end = text.find(tag, pos)
            if end == -1:
                raise RenderError(f"the dollar quote {tag} is never closed")
            _contexts(text[pos:end], _INNER if level == _INNER else _BODY, out)
            pos = end + len(tag)


_IDENTIFIER_FORM = {_TOP: "identifier", _BODY: "body identifier",
                    _INNER: "body literal identifier"}


def _in_string(content: str, level: str, out: list[str]) -> None:
    names = _names_in(content)
    if not names:
        return
    if level == _TOP:
        out.extend(["literal"] * len(names))
        return
    if level == _INNER:
        raise _Misplaced(len(out), "is inside a string literal within SQL that a dollar-quoted "
                         "body runs; only a quoted identifier can be quoted there")
    # A literal in a body: SQL the body runs, or a name it resolves. Read it
    # as SQL, in which the value may only be a quoted identifier.
    _contexts(content.replace("''", "'"), _INNER, out)


def _end(pattern: re.Pattern[str], text: str, pos: int, what: str) -> int:
    m = pattern.match(text, pos)
    if m is None:
        raise RenderError(f"a {what} is never closed")
    return m.end()


def _comment_end(text: str, start: int) -> int:
    depth, pos = 0, start
    while (m := _BLOCK_COMMENT.search(text, pos)) is not None:
        depth += 1 if m.group() == "/*" else -1
        pos = m.end()
        if depth == 0:
            return pos
    raise RenderError("a /* comment is never closed")


def variable_forms(text: str, *, source: str) -> list[str]:
    """The quoting form (a key of FORMS) of each stand-in of ``text``, in order.

    A stand-in outside any quoting is an error naming the variable and the
    line of ``text`` it is on.
    """
    out: list[str] = []
    try:
        _contexts(text, _TOP, out)
    except _Misplaced as e:
        m = list(_SENTINEL.finditer(text))[e.ordinal]
        line = text.count("\n", 0, m.start()) + 1
        raise RenderError(f"var({m.group(1)!r}) {e.why}", path=source, line=line) from None
    except RenderError as e:
        raise RenderError(f"cannot place the variables: {e.message}", path=source) from None
    return out


def interpolate(text: str, forms: list[str]) -> str:
    """``text`` with its stand-ins replaced, in order, by Terraform interpolations."""
    it = iter(forms)
    return _SENTINEL.sub(lambda m: "${" + FORMS[next(it)].format(m.group(1)) + "}", text)
