"""Connection strings: redact passwords, and say where a DSN points.

A DSN means what libpq makes of it, so libpq parses it:
``psycopg.conninfo.conninfo_to_dict`` (imported only here, when a message
needs it; ``render`` never loads psycopg). Both libpq forms are understood,
URLs (``postgresql://user:secret@host/db``, ``postgres://``) and key=value
strings (``host=h password='se cret'``). The layout of the text is kept for
display by reading it the way libpq does, and that reading is checked
against libpq's own result before it is trusted.

Three cases need care:

* A URL whose password holds an unencoded ``/ ? # @ :`` is read by libpq
  differently from what was meant (``u:Zebra/slash@h`` is host ``u``, port
  ``Zebra``, database ``slash@h``): the text up to the last ``@`` is treated as
  user name and password as well, and the pieces libpq made of it are hidden
  wherever they would show.
* A string libpq cannot parse is never shown: messages describe it, and any
  quoted text in them is removed.
* libpq's own error messages quote values; every spelling of every password
  (raw, percent-decoded, percent-encoded) is scrubbed from them. A spelling
  of ``BARE_MIN`` characters or more is replaced wherever it occurs; a
  shorter one only where it stands as a whole word (not inside a longer run
  of letters, digits, ``_ . -``), which is how libpq quotes a value: a
  password ``e`` must not turn "connection refused" into "conn***ction
  r***fus***d", and one that short is ordinary text, not a secret in it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote

REDACTED = "***"
_SECRET_KEYS = frozenset({"password", "sslpassword", "oauth_client_secret"})
# libpq's URI designators, matched as libpq does: case-sensitive, at the very start.
_URI_PREFIXES = ("postgresql://", "postgres://")
# The characters that end a URL's user name or password early when left unencoded.
_URL_RESERVED = "/?#@:&=,"
_SPACE = " \t\n\v\f\r"  # C isspace(), which libpq uses
NOT_SHOWN = "connection string not shown"
# From this length a password is not ordinary text: hidden wherever it occurs.
BARE_MIN = 8
_WORD = "A-Za-z0-9_.\\-"
PERCENT_ENCODE = "percent-encode / ? # @ : in its user name and password, e.g. %2F for /"


def is_url(dsn: str) -> bool:
    return dsn.startswith(_URI_PREFIXES)


def _libpq(dsn: str) -> dict[str, str] | None:
    """libpq's reading of a connection string, or None when it cannot parse it."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except (psycopg.Error, ValueError):
        # ValueError: UnicodeDecodeError of a value percent-encoded as bytes that
        # are not UTF-8 (libpq takes them, psycopg cannot decode them).
        return None


# --------------------------------------------------------------------------
# key=value strings, read as libpq's conninfo_parse() reads them


@dataclass(frozen=True)
class _Pair:
    key: str
    value: str  # unescaped, as libpq uses it
    start: int  # span of "key = value" in the text
    end: int


def _kv_pairs(dsn: str) -> tuple[list[_Pair], bool]:
    """The key=value pairs libpq would see, and whether the whole string was read."""
    pairs: list[_Pair] = []
    i, n = 0, len(dsn)
    while i < n:
        if dsn[i] in _SPACE:
            i += 1
            continue
        start = i
        while i < n and dsn[i] != "=" and dsn[i] not in _SPACE:
            i += 1
        key = dsn[start:i]
        while i < n and dsn[i] in _SPACE:
            i += 1
        if i >= n or dsn[i] != "=":
            return pairs, False
        i += 1
        while i < n and dsn[i] in _SPACE:
            i += 1
        value: list[str] = []
        quoted = i < n and dsn[i] == "'"  # a quoted value ends at "'", a plain one at a space
        i += quoted
        while True:
            if i >= n:
                if quoted:
                    return pairs, False  # unterminated quoted string
                break
            if dsn[i] == "\\":
                i += 1
                if i < n:
                    value.append(dsn[i])
                    i += 1
                continue
            if quoted and dsn[i] == "'":
                i += 1
                break
            if not quoted and dsn[i] in _SPACE:
                break
            value.append(dsn[i])
            i += 1
        pairs.append(_Pair(key, "".join(value), start, i))
    return pairs, True


# --------------------------------------------------------------------------
# URLs, read as libpq's conninfo_uri_parse_options() reads them


@dataclass(frozen=True)
class _Url:
    prefix: str
    userinfo: str | None  # as written, without the "@"; None when there is none
    rest: str  # hosts, database and query, as written

    @property
    def user(self) -> str:
        return (self.userinfo or "").partition(":")[0]

    @property
    def password(self) -> str:
        return (self.userinfo or "").partition(":")[2]

    def query(self) -> list[tuple[str, str]]:
        """(key, value) pairs of the query, as written (percent-encoded)."""
        _, sep, query = self.rest.partition("?")
        if not sep:
            return []
        return [(k, v) for k, _, v in (p.partition("=") for p in query.split("&"))]


def _split_url(dsn: str, at: int | None = None) -> _Url:
    """Split after the user info as libpq does (the first "@" before any "/"), or at ``at``."""
    prefix = next(p for p in _URI_PREFIXES if dsn.startswith(p))
    body = dsn[len(prefix):]
    if at is None:
        stop = next((i for i, ch in enumerate(body) if ch in "@/"), len(body))
        at = stop if stop < len(body) and body[stop] == "@" else -1
    if at < 0:
        return _Url(prefix, None, body)
    return _Url(prefix, body[:at], body[at + 1:])


def _url_display(url: _Url) -> str:
    """The URL as written, every password replaced by ``***``."""
    text = url.prefix
    if url.userinfo is not None:
        text += url.user + (f":{REDACTED}" if url.password else "") + "@"
    head, sep, _ = url.rest.partition("?")
    text += head
    if sep:
        text += "?" + "&".join(f"{k}={REDACTED if unquote(k) in _SECRET_KEYS else v}"
                               for k, v in url.query())
    return text


# --------------------------------------------------------------------------
# one reading of a DSN, shared by the public functions


@dataclass(frozen=True)
class _Reading:
    params: dict[str, str] | None  # libpq's result; None: it cannot parse the string
    secrets: tuple[str, ...]  # every spelling of every password, longest first
    fragments: tuple[str, ...]  # pieces of a password libpq read as something else
    display: str  # the DSN with passwords replaced, or NOT_SHOWN
    # Passwords inside another value (a dbname holding a URL), hidden in the
    # display and the target too.
    nested: tuple[str, ...] = ()
    # A URL libpq cannot parse whose password holds a character that ends it early.
    unencoded: bool = False


def _spellings(value: str, written: str | None = None) -> list[str]:
    found = [value, quote(value, safe="")]
    if written is not None:
        found += [written, unquote(written)]
    return [s for s in found if s]


def _read_url(dsn: str, params: dict[str, str] | None) -> _Reading:
    url = _split_url(dsn)
    secrets: list[str] = []
    if url.password:
        secrets += _spellings(unquote(url.password), url.password)
    for key, value in url.query():
        if unquote(key) in _SECRET_KEYS and value:
            secrets += _spellings(unquote(value), value)
    # What was meant may differ from what libpq reads: a password holding an
    # unencoded "/" or "@" ends early, and its pieces become host, port or
    # database. The last "@" is where the user info was meant to end.
    fragments: list[str] = []
    display_url = url
    body = dsn[len(url.prefix):]
    last_at = body.rfind("@")
    meant = _split_url(dsn, last_at) if last_at >= 0 else url
    if meant.password and meant.password != url.password:
        secrets += _spellings(unquote(meant.password), meant.password)
        pieces = [meant.password]
        for ch in _URL_RESERVED:
            pieces = [p for piece in pieces for p in piece.split(ch)]
        fragments = sorted({p for p in pieces if p} | {meant.password}, key=len, reverse=True)
        display_url = meant
    if params is None:
        display = NOT_SHOWN
    else:
        display = _url_display(display_url)
        if not fragments and not _url_agrees(url, params):
            display = _params_display(params)
    unencoded = params is None and any(ch in meant.password for ch in "/?#@")
    return _Reading(params, _ordered(secrets), tuple(fragments), display, unencoded=unencoded)


def _url_agrees(url: _Url, params: dict[str, str]) -> bool:
    """Whether this reading of the user info and query is libpq's."""
    query = {unquote(k): unquote(v) for k, v in url.query()}
    if "user" not in query and unquote(url.user) != params.get("user", ""):
        return False
    if "password" not in query and unquote(url.password) != params.get("password", ""):
        return False
    return all(params.get(k) == v for k, v in query.items() if k != "ssl")


def _params_display(params: dict[str, str]) -> str:
    """libpq's parameters as a key=value string, passwords replaced."""
    from psycopg.conninfo import make_conninfo

    shown = {k: (REDACTED if k in _SECRET_KEYS else v) for k, v in params.items()}
    return make_conninfo("", **shown)


def _read_kv(dsn: str, params: dict[str, str] | None) -> _Reading:
    pairs, complete = _kv_pairs(dsn)
    secrets: list[str] = []
    for pair in pairs:
        if pair.key in _SECRET_KEYS and pair.value:
            secrets += _spellings(pair.value, dsn[pair.start:pair.end].partition("=")[2].strip())
    if params is None:
        # Not parseable: hide every value it seems to hold, too.
        secrets += [p.value for p in pairs if len(p.value) >= 4]
        secrets += [t for t in dsn.split() if len(t) >= 4]
        return _Reading(None, _ordered(secrets), (), NOT_SHOWN)
    if complete and {p.key: p.value for p in pairs} == params:
        display, last = "", 0
        for pair in pairs:
            if pair.key in _SECRET_KEYS:
                display += dsn[last:pair.start] + f"{pair.key}={REDACTED}"
                last = pair.end
        display += dsn[last:]
    else:
        display = _params_display(params)
    # libpq does not expand a dbname holding a URL here, but it would show it
    # in a "database ... does not exist" message.
    nested: list[str] = []
    for key in ("dbname", "service"):
        if key in params and (is_url(params[key]) or "=" in params[key]):
            nested += _reading(params[key]).secrets
    display = _hide(display, nested)
    return _Reading(params, _ordered(secrets + nested), (), display, _ordered(nested))


def _hide(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= BARE_MIN:
            text = text.replace(secret, REDACTED)
        else:
            text = re.sub(f"(?<![{_WORD}]){re.escape(secret)}(?![{_WORD}])", REDACTED, text)
    return text


def _ordered(secrets: list[str]) -> tuple[str, ...]:
    return tuple(sorted({s for s in secrets if s}, key=len, reverse=True))


@functools.lru_cache(maxsize=64)
def _reading(dsn: str) -> _Reading:
    params = _libpq(dsn)
    if is_url(dsn):
        return _read_url(dsn, params)
    return _read_kv(dsn, params)


# --------------------------------------------------------------------------
# the public functions


def secrets_in(dsn: str) -> list[str]:
    """The passwords a DSN carries, in every spelling (for scrubbing messages), longest first."""
    return list(_reading(dsn).secrets)


def redact_dsn(dsn: str) -> str:
    """The DSN with every password replaced by ``***``; everything else kept.

    A string libpq cannot parse is not shown at all.
    """
    return _reading(dsn).display


def without_secrets(display: str) -> str | None:
    """A connection string to the place a redacted DSN (``redact_dsn``) names, with no
    password in it (libpq then takes it from PGPASSWORD, a password or service file);
    None when the display does not say where (``NOT_SHOWN``, or a value hidden in part).
    """
    params = _libpq(display) if display != NOT_SHOWN else None
    if params is None:
        return None
    kept = {k: v for k, v in params.items() if k not in _SECRET_KEYS}
    if any(REDACTED in value for value in kept.values()):
        return None
    from psycopg.conninfo import make_conninfo

    return make_conninfo("", **kept)


def _mask_quoted(text: str, hide: Callable[[str], bool]) -> str:
    """``text`` with each '...' or "..." segment whose content ``hide(content)`` replaced."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        end = text.find(ch, i + 1) if ch in "'\"" else -1
        if end < 0:
            out.append(ch)
            i += 1
            continue
        content = text[i + 1:end]
        out.append(f"{ch}{REDACTED}{ch}" if hide(content) else text[i:end + 1])
        i = end + 1
    return "".join(out)


# libpq's own punctuation in its parse errors: `missing "=" after ...`.
_SAFE_QUOTED = frozenset({"=", "]", ":", "/"})


def scrub(text: str, dsn: str) -> str:
    """``text`` with any password from ``dsn`` replaced by ``***``.

    For a string libpq cannot parse, every quoted value is removed too (its
    error messages quote the part they could not read); for a URL whose
    password libpq split, any quoted value holding a piece of it.
    """
    reading = _reading(dsn)
    text = _hide(text, reading.secrets)
    if reading.params is None:
        text = _mask_quoted(text, lambda content: content not in _SAFE_QUOTED)
        if dsn and dsn in text:
            text = text.replace(dsn, REDACTED)
    if reading.fragments:
        text = _mask_quoted(text, lambda content: _hide(content, reading.fragments) != content)
        text = _hide(text, reading.fragments)
    return text


@dataclass(frozen=True)
class Target:
    """Where a DSN points, as libpq would resolve it (for messages)."""

    host: str
    port: str
    database: str
    note: str = ""  # what is wrong with the DSN itself, if anything

    def __str__(self) -> str:
        if not (self.host or self.port or self.database):
            return self.note
        where = f"host {self.host}, port {self.port}, database {self.database}"
        return f"{where} ({self.note})" if self.note else where


def describe_target(dsn: str) -> Target:
    """Host, port and database a DSN names, as libpq reads it, with its environment defaults."""
    reading = _reading(dsn)
    if reading.params is None:
        advice = f" (a URL: {PERCENT_ENCODE})" if reading.unencoded else ""
        return Target("", "", "", f"a connection string that libpq cannot parse{advice}")
    params = reading.params
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") \
        or "the default Unix socket"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    user = params.get("user") or os.environ.get("PGUSER") or "the current user"
    database = params.get("dbname") or os.environ.get("PGDATABASE") or user
    if not reading.fragments:
        return Target(_hide(host, reading.nested), _hide(port, reading.nested),
                      _hide(database, reading.nested))

    def hide(value: str) -> str:
        return _hide(value, reading.fragments)

    return Target(hide(host), hide(port), hide(database),
                  f"as libpq reads the URL: {PERCENT_ENCODE}")
