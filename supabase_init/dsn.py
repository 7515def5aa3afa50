"""Connection strings: redact passwords, and say where a DSN points.

Pure string handling (no psycopg import) so that errors can be built anywhere.
Both libpq forms are understood: URLs (``postgresql://user:secret@host/db``)
and key=value conninfo strings (``host=h password='se cret'``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode

REDACTED = "***"
_SECRET_KEYS = frozenset({"password", "sslpassword"})
_URL = re.compile(r"^(postgres(?:ql)?)://([^/?#]*)(.*)$", re.IGNORECASE | re.DOTALL)
_KV_PAIR = re.compile(r"""(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.)+)""", re.DOTALL)


def is_url(dsn: str) -> bool:
    return _URL.match(dsn.strip()) is not None


def _split_url(dsn: str) -> tuple[str, str, str, str, str]:
    """scheme, userinfo (without '@'), hostspec, path, query of a libpq URL."""
    m = _URL.match(dsn.strip())
    assert m is not None
    scheme, netloc, rest = m.groups()
    userinfo, sep, hostspec = netloc.rpartition("@")
    if not sep:
        userinfo, hostspec = "", netloc
    path, _, query = rest.partition("?")
    path = path.split("#", 1)[0]
    return scheme, userinfo, hostspec, path, query.split("#", 1)[0]


def _unquote_kv(value: str) -> str:
    if value.startswith("'") and value.endswith("'") and len(value) >= 2:
        value = value[1:-1]
    return re.sub(r"\\(.)", r"\1", value)


def secrets_in(dsn: str) -> list[str]:
    """The passwords a DSN carries, raw and as written (for scrubbing messages)."""
    found: list[str] = []
    if is_url(dsn):
        _, userinfo, _, _, query = _split_url(dsn)
        user, sep, password = userinfo.partition(":")
        if sep and password:
            found += [password, unquote(password)]
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key in _SECRET_KEYS and value:
                found += [value, quote(value, safe="")]
        found += [v for k, v in _raw_query_pairs(query) if k in _SECRET_KEYS and v]
    else:
        for key, value in _KV_PAIR.findall(dsn):
            if key.lower() in _SECRET_KEYS:
                found += [value, _unquote_kv(value)]
    return sorted({s for s in found if s}, key=len, reverse=True)


def _raw_query_pairs(query: str) -> list[tuple[str, str]]:
    return [(k, v) for k, _, v in (p.partition("=") for p in query.split("&") if p)]


def redact_dsn(dsn: str) -> str:
    """The DSN with every password replaced by ``***``; everything else kept."""
    if is_url(dsn):
        scheme, userinfo, hostspec, path, query = _split_url(dsn)
        user, sep, password = userinfo.partition(":")
        netloc = hostspec
        if userinfo:
            netloc = f"{user}:{REDACTED}@{hostspec}" if password else f"{user}@{hostspec}"
        url = f"{scheme}://{netloc}{path}"
        if query:
            pairs = [(k, REDACTED if k in _SECRET_KEYS else v)
                     for k, v in parse_qsl(query, keep_blank_values=True)]
            url += "?" + urlencode(pairs, safe="*/:")
        return url

    def hide(m: re.Match[str]) -> str:
        return f"{m.group(1)}={REDACTED}" if m.group(1).lower() in _SECRET_KEYS else m.group(0)

    return _KV_PAIR.sub(hide, dsn)


def scrub(text: str, dsn: str) -> str:
    """``text`` with any password from ``dsn`` replaced by ``***``."""
    for secret in secrets_in(dsn):
        text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True)
class Target:
    """Where a DSN points, as libpq would resolve it (for messages)."""

    host: str
    port: str
    database: str

    def __str__(self) -> str:
        return f"host {self.host}, port {self.port}, database {self.database}"


def describe_target(dsn: str) -> Target:
    """Host, port and database a DSN names, with libpq's environment defaults."""
    params: dict[str, str] = {}
    if is_url(dsn):
        _, userinfo, hostspec, path, query = _split_url(dsn)
        user = unquote(userinfo.partition(":")[0])
        if user:
            params["user"] = user
        hosts, ports = [], []
        for part in hostspec.split(","):
            if part.startswith("["):
                host, _, port = part[1:].partition("]")
                port = port.lstrip(":")
            else:
                host, _, port = part.partition(":")
            hosts.append(unquote(host))
            ports.append(port)
        if any(hosts):
            params["host"] = ",".join(hosts)
        if any(ports):
            params["port"] = ",".join(ports)
        db = unquote(path.lstrip("/"))
        if db:
            params["dbname"] = db
        params.update({k: v for k, v in parse_qsl(query, keep_blank_values=True)
                       if k not in _SECRET_KEYS})
    else:
        params = {k.lower(): _unquote_kv(v) for k, v in _KV_PAIR.findall(dsn)
                  if k.lower() not in _SECRET_KEYS}
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") \
        or "the default Unix socket"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    user = params.get("user") or os.environ.get("PGUSER") or "the current user"
    database = params.get("dbname") or os.environ.get("PGDATABASE") or user
    return Target(host=host, port=port, database=database)
