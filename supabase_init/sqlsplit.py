"""Split a SQL script into statements the way psql does.

psql sends one statement at a time: it ends a statement at a ``;`` that is
outside quotes, comments and parentheses, and outside the ``BEGIN ... END``
body of a ``CREATE [OR REPLACE] FUNCTION/PROCEDURE ... BEGIN ATOMIC``. Running
the statements one by one (rather than the whole script as one query string)
is what makes ``statement_timeout`` apply per statement and lets an error be
traced to the statement, and the line, that caused it.

Lexical rules followed (those of PostgreSQL with standard_conforming_strings
on, the default since 9.1):

* ``'...'`` with ``''`` for a quote; no backslash escapes.
* ``E'...'`` with backslash escapes as well as ``''``.
* ``"..."`` identifiers with ``""``.
* ``$tag$ ... $tag$`` dollar quotes; ``$1`` is a parameter, and ``$`` inside an
  identifier (``a$b``) does not start a quote.
* ``--`` to end of line, and ``/* */`` comments, which nest.

Comments and blank lines before a statement are not part of it; a statement's
line is the line of its first token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPACE = " \t\n\r\f\v"

# Words psql watches to recognise a SQL-standard function body
# (CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ATOMIC ... END).
_HEAD_WORDS = {"create": "c", "function": "f", "procedure": "p", "or": "o", "replace": "r"}


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its text (with the ``;`` when it had one)."""

    text: str
    line: int  # 1-based line of the statement's first token in the script

    @property
    def first_line(self) -> str:
        """The statement's first line, for messages."""
        return self.text.split("\n", 1)[0].rstrip()


class SplitError(ValueError):
    """The script ends inside a quote or a comment."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


# Character classes, written as complements of ASCII ranges (a class spelled
# with a range up to U+10FFFF takes milliseconds to compile):
# an identifier starts with a letter, "_" or any non-ASCII character, and goes
# on with those, digits and "$"; a dollar-quote tag has no "$" inside.
_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"
_TAG_CHAR = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
_WORD = _START + r"[^\x00-\x23\x25-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*"
_DOLLAR = r"\$(?:" + _START + _TAG_CHAR + r"*)?\$"
# Any other run of ASCII characters but blanks, newlines and ; ' " $ ( ) - /.
_OTHER = r"[\x00-\x08\x0e-\x1f!#%&*+,.0-9:<-@\[-\^`{-\x7f]+"

# One token at a time, a whole run of the characters that need no attention
# (blanks, newlines, operators, digits) at once: the script is scanned by the
# regular expression engine, not character by character.
_TOKEN = re.compile(rf"""
    (?P<blank>[ \t\r\f\v]+)
  | (?P<newline>\n+)
  | (?P<comment>--[^\n]*)
  | (?P<semicolon>;)
  | (?P<string>')
  | (?P<quoted>")
  | (?P<dollar>{_DOLLAR})
  | (?P<word>{_WORD})
  | (?P<open>\()
  | (?P<close>\))
  | (?P<block_comment>/\*)
  | (?P<other>{_OTHER}|.)
""", re.VERBOSE | re.DOTALL)
# Once a statement's leading words show it is not a function with a
# SQL-standard body, its words no longer matter: a run of tokens other than
# ; ' " ( ), comments and dollar quotes is passed over at once (tokenized as
# _TOKEN would: a "$" inside a word is part of the word).
_PLAIN_RUN = re.compile(rf"""
    (?:[ \t\r\f\v\n]+ | {_WORD} | {_OTHER} | -(?!-) | /(?!\*) | \$(?!{_DOLLAR[2:]}) )+
""", re.VERBOSE)
_PLAIN_STRING = re.compile(r"'(?:[^'\n]|'')*'")


def split_statements(script: str) -> list[Statement]:
    """The statements of ``script`` in order, as psql would send them.

    Raises SplitError when the script ends inside a quoted string, a quoted
    identifier, a dollar quote or a block comment (psql would wait for more
    input there).
    """
    out: list[Statement] = []
    n = len(script)
    i = 0
    line = 1
    start: int | None = None  # index of the current statement's first token
    start_line = 0
    paren = 0
    begin_depth = 0
    head = ""  # initial letters of the statement's leading keywords (see _HEAD_WORDS)
    words = 0
    match = _TOKEN.match

    plain_run = _PLAIN_RUN.match

    while i < n:
        if words >= 4 and start is not None and begin_depth == 0 \
                and head[:2] not in ("cf", "cp") and head[:4] not in ("corf", "corp"):
            run = plain_run(script, i)
            if run is not None:
                line += script.count("\n", i, run.end())
                i = run.end()
                if i >= n:
                    break
        m = match(script, i)
        assert m is not None
        kind = m.lastgroup
        if kind == "blank" or kind == "comment":
            i = m.end()
            continue
        if kind == "newline":
            line += m.end() - i
            i = m.end()
            continue
        if kind == "block_comment":
            i, line = _skip_block_comment(script, i, line)
            continue
        if start is None:
            start, start_line = i, line
        if kind == "semicolon":
            i += 1
            if paren == 0 and begin_depth == 0:
                text = script[start:i]
                if text.strip() != ";":
                    out.append(Statement(text, start_line))
                start, paren, begin_depth, head, words = None, 0, 0, "", 0
        elif kind == "string":
            if _is_escape_prefix(script, i):
                i, line = _skip_string(script, i, line, backslashes=True)
            else:
                plain = _PLAIN_STRING.match(script, i)
                if plain is not None:
                    i = plain.end()
                else:
                    i, line = _skip_string(script, i, line, backslashes=False)
        elif kind == "quoted":
            i, line = _skip_quoted(script, i, line, '"', "quoted identifier")
        elif kind == "dollar":
            tag = m.group()
            end = script.find(tag, m.end())
            if end < 0:
                raise SplitError(f"unterminated dollar-quoted string {tag}", line)
            line += script.count("\n", i, end + len(tag))
            i = end + len(tag)
        elif kind == "word":
            i = m.end()
            if words >= 4 and begin_depth == 0 and head[:2] not in ("cf", "cp") \
                    and head[:4] not in ("corf", "corp"):
                continue  # not a function body: the words no longer matter
            word = m.group().lower()
            if script.startswith("'", i) and word in ("e", "b", "x", "n"):
                continue  # a prefixed string constant: handled as a string next round
            if words < 4:
                head += _HEAD_WORDS.get(word, "-")
            words += 1
            if paren == 0 and (head[:2] in ("cf", "cp") or head[:4] in ("corf", "corp")):
                # CASE ... END inside the body also ends with END.
                if word == "begin" or (word == "case" and begin_depth >= 1):
                    begin_depth += 1
                elif word == "end" and begin_depth > 0:
                    begin_depth -= 1
        elif kind == "open":
            paren += 1
            i += 1
        elif kind == "close":
            if paren > 0:
                paren -= 1
            i += 1
        else:
            i = m.end()
    if start is not None:
        text = script[start:].rstrip(_SPACE)
        if text:
            out.append(Statement(text, start_line))
    return out


def _is_escape_prefix(script: str, quote: int) -> bool:
    """Whether the quote at ``quote`` opens an E'...' string (backslash escapes)."""
    if quote == 0 or script[quote - 1] not in "eE":
        return False
    before = script[quote - 2] if quote >= 2 else ""
    # "e'" is an escape string only when the E is a word of its own, not the
    # end of an identifier such as "type'" (which is a syntax error anyway).
    return not (before.isalnum() or before in "_$" or ord(before or " ") >= 0x80)


def _skip_string(script: str, i: int, line: int, *, backslashes: bool) -> tuple[int, int]:
    start_line = line
    j = i + 1
    n = len(script)
    while j < n:
        c = script[j]
        if c == "\\" and backslashes:
            if script.startswith("\n", j + 1):
                line += 1
            j += 2
            continue
        if c == "'":
            if script.startswith("'", j + 1):
                j += 2
                continue
            return j + 1, line
        if c == "\n":
            line += 1
        j += 1
    raise SplitError("unterminated quoted string", start_line)


def _skip_quoted(script: str, i: int, line: int, quote: str, what: str) -> tuple[int, int]:
    j = i + 1
    while True:
        end = script.find(quote, j)
        if end < 0:
            raise SplitError(f"unterminated {what}", line)
        if script.startswith(quote, end + 1):
            j = end + 2
            continue
        return end + 1, line + script.count("\n", i, end)


def _skip_block_comment(script: str, i: int, line: int) -> tuple[int, int]:
    start_line = line
    depth = 0
    j = i
    n = len(script)
    while j < n:
        if script.startswith("/*", j):
            depth += 1
            j += 2
        elif script.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j, line
        else:
            if script[j] == "\n":
                line += 1
            j += 1
    raise SplitError("unterminated /* comment", start_line)
