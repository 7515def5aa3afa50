"""No password in any message: DSNs parsed as libpq parses them, in every form it accepts.

The property tests draw passwords from all printable ASCII (reserved URL
characters included), write them into a URL (raw and percent-encoded) or a
key=value string, and give that to the CLI (option and DATABASE_URL) against
a port where nothing listens.
"""

from __future__ import annotations

import os
import socket
import string
from urllib.parse import quote

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from conftest import REPO, run_cli
from supabase_init.dsn import REDACTED, describe_target, redact_dsn, scrub, secrets_in

PRINTABLE = string.printable[:95]  # every printable ASCII character, space included
FORMS = ("url", "url_encoded", "url_query", "keyword")


# One port for the whole module, so that the filter below knows its digits. Nothing
# listens on it: it stays bound, not listening, for as long as the tests run, so that
# no other process can start listening there meanwhile.
_UNLISTENED = socket.socket()
_UNLISTENED.bind(("127.0.0.1", 0))
PORT = int(_UNLISTENED.getsockname()[1])


def kv_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def dsn_for(form: str, password: str, port: int) -> str:
    if form == "url":
        return f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"
    if form == "url_encoded":
        return f"postgres://postgres:{quote(password, safe='')}@127.0.0.1:{port}/postgres"
    if form == "url_query":
        return (f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable"
                f"&password={quote(password, safe='')}")
    return (f"host=127.0.0.1 port={port} user=postgres dbname=postgres "
            f"password={kv_quote(password)}")


# What the messages say anyway: a "password" that is part of it (postgres, the
# user name; "stgres:/" of "postgres://") would be found without having leaked.
SKELETON = " ".join([*(dsn_for(form, "***", PORT) for form in FORMS), (
    f"Error: could not connect to PostgreSQL at host 127.0.0.1, port {PORT}, database "
    f"postgres: connection failed: connection to server at \"127.0.0.1\", port {PORT} "
    "failed: Connection refused Is the server running on that host and accepting TCP/IP "
    "connections? Hint: nothing accepted the connection there: check the host and port and "
    "that the server is running; give the database with --database-url (or DATABASE_URL), "
    "or use --embedded for a throwaway local server")])
passwords = st.text(alphabet=PRINTABLE, min_size=8, max_size=24).filter(
    lambda p: p not in SKELETON)


def leaks(password: str, *texts: str) -> list[str]:
    spellings = {password, quote(password, safe="")}
    return [s for s in spellings for t in texts if s in t]


def real_messages(dsn: str) -> list[str]:
    """What libpq and psycopg say about this DSN: its parse error, or a refused connection."""
    try:
        psycopg.connect(dsn, connect_timeout=2)
    # "%80" decodes to a byte psycopg rejects; a host such as "." fails IDNA encoding.
    except (psycopg.Error, UnicodeError) as e:
        return [str(e)]
    raise AssertionError("connected to a closed port")


# --------------------------------------------------------------------------
# the library


@pytest.mark.parametrize(("dsn", "display", "target"), [
    # A "/" ends libpq's user info early: host u, port Zebra, database slash@...
    ("postgresql://u:Zebra/slash@127.0.0.1:5432/db", "postgresql://u:***@127.0.0.1:5432/db",
     "host u, port ***, database ***@127.0.0.1:5432/db (as libpq reads the URL: "
     "percent-encode / ? # @ : in its user name and password, e.g. %2F for /)"),
    # libpq splits at the first "@": password "p", host "at@127.0.0.1".
    ("postgresql://u:p@at@127.0.0.1/db", "postgresql://u:***@127.0.0.1/db",
     "host ***@127.0.0.1, port 5432, database db (as libpq reads the URL: percent-encode "
     "/ ? # @ : in its user name and password, e.g. %2F for /)"),
    ("postgresql://u:p?x#y:z@h/db", "postgresql://u:***@h/db", "host h, port 5432, database db"),
    ("postgresql://u:p%zz@h/db", "connection string not shown",
     "a connection string that libpq cannot parse"),
    ("postgresql://u:a/b?c@h/db", "connection string not shown",
     "a connection string that libpq cannot parse (a URL: percent-encode / ? # @ : in its "
     "user name and password, e.g. %2F for /)"),
    ("postgresql://h/db?user=a@b", "postgresql://h/db?user=a@b",
     "host h, port 5432, database db"),
    ("postgresql://u:one@h/db?password=two", "postgresql://u:***@h/db?password=***",
     "host h, port 5432, database db"),
    ("postgresql://u@h/db?oauth_client_secret=s3cr3t&sslpassword=k3y",
     "postgresql://u@h/db?oauth_client_secret=***&sslpassword=***",
     "host h, port 5432, database db"),
    ("postgresql://u:pw@[::1]:5433,h2:5434/db", "postgresql://u:***@[::1]:5433,h2:5434/db",
     "host ::1,h2, port 5433,5434, database db"),
    ("dbname=postgresql://u:pw-nested@h/d host=x", "dbname=postgresql://u:***@h/d host=x",
     "host x, port 5432, database postgresql://u:***@h/d"),
    ("host=h password", "connection string not shown",
     "a connection string that libpq cannot parse"),
    ("host=h password='unterminated", "connection string not shown",
     "a connection string that libpq cannot parse"),
])
def test_display_and_target_follow_libpq(dsn: str, display: str, target: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER"):
        monkeypatch.delenv(name, raising=False)
    assert redact_dsn(dsn) == display
    assert str(describe_target(dsn)) == target


def test_what_cannot_be_parsed_is_not_quoted_back() -> None:
    dsn = "postgresql://u:Secret%zz@h/db"
    (message,) = real_messages(dsn)
    assert "Secret" in message  # libpq quotes the token it could not decode...
    assert "Secret" not in scrub(message, dsn)  # ...and the message we print does not
    assert scrub('missing "=" after "x"', "host=h x") == 'missing "=" after "***"'


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(password=passwords, form=st.sampled_from(FORMS))
def test_no_password_in_what_the_library_says(password: str, form: str) -> None:
    dsn = dsn_for(form, password, PORT)
    said = [redact_dsn(dsn), str(describe_target(dsn)),
            *(scrub(m, dsn) for m in real_messages(dsn))]
    assert not leaks(password, *said), (dsn, said)
    if form != "url":
        # Well-formed: libpq's own reading holds the password, and it is a known secret.
        assert conninfo_to_dict(dsn)["password"] == password
        assert password in secrets_in(dsn)


def cli_error(dsn: str) -> str:
    """The one error line of a plan against ``dsn``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    result = run_cli("plan", "--database-url", dsn, cwd=REPO, env=env)
    assert result.returncode == 1, (result.stdout, result.stderr)
    (line,) = result.stderr.splitlines()
    return line


@pytest.mark.parametrize("form", FORMS)
def test_a_short_password_leaves_libpqs_words_and_the_hint_readable(form: str) -> None:
    dsn = dsn_for(form, "e", PORT)
    (message,) = real_messages(dsn)
    assert "Connection refused" in scrub(message, dsn)
    said = cli_error(dsn)
    assert "Connection refused" in said and f"{REDACTED}" in said, said
    assert "connection to server at \"127.0.0.1\"" in said, said
    assert "Hint: nothing accepted the connection there" in said, said


@pytest.mark.parametrize(("text", "password", "expected"), [
    ('failed for "e"', "e", 'failed for "***"'),
    ("connection refused; password: e (rejected)", "e",
     "connection refused; password: *** (rejected)"),
    ('host "pw@127.0.0.1"', "pw", 'host "***@127.0.0.1"'),
    ("the password is secret", "secret", "the password is ***"),
    ("notsecretatall", "secret", "notsecretatall"),
    # From BARE_MIN characters on, a password is hidden wherever it occurs.
    ("xxlongpassword1xx", "longpassword1", "xx***xx"),
])
def test_a_short_password_is_hidden_where_it_stands_as_a_word(text: str, password: str,
                                                               expected: str) -> None:
    assert scrub(text, f"host=h password={kv_quote(password)}") == expected


def test_an_unencoded_url_password_keeps_libpqs_words_and_says_to_percent_encode() -> None:
    dsn = f"postgresql://postgres:p@ss/w?rd#@127.0.0.1:{PORT}/postgres"
    said = cli_error(dsn)
    assert 'missing key/value separator "=" in URI query parameter' in said, said
    assert "percent-encode / ? # @ :" in said, said
    assert not leaks("p@ss/w?rd#", said) and "ss/w" not in said, said


# --------------------------------------------------------------------------
# the CLI, as a user runs it


def cli_fails_without_leaking(password: str, dsn: str, command: str, via: str) -> None:
    args = [command, "--json"] if command == "apply" else [command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if via == "option":
        args += ["--database-url", dsn]
        env.pop("DATABASE_URL", None)
    else:
        env["DATABASE_URL"] = dsn
    result = run_cli(*args, cwd=REPO, env=env)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == "", result.stdout  # errors are never JSON
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: "), line
    assert not leaks(password, result.stdout, result.stderr), (dsn, line)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(password=passwords, form=st.sampled_from(FORMS),
       command=st.sampled_from(["plan", "apply"]), via=st.sampled_from(["option", "env"]))
def test_no_password_in_any_cli_output(password: str, form: str, command: str,
                                       via: str) -> None:
    cli_fails_without_leaking(password, dsn_for(form, password, PORT), command, via)


@pytest.mark.parametrize("password", ["Zebra/slash-pw", "p@at@pw-x", "q?uery#frag:pw",
                                      "per%zzcent", "sp ace' quote\\ pw"])
@pytest.mark.parametrize("form", FORMS)
def test_the_reported_passwords_never_show(password: str, form: str) -> None:
    cli_fails_without_leaking(password, dsn_for(form, password, PORT), "plan", "option")


def test_the_help_texts_redacted_local_url_is_what_redaction_gives() -> None:
    from supabase_init import api

    assert redact_dsn(api.SUPABASE_LOCAL_DATABASE_URL) == api.SUPABASE_LOCAL_DATABASE_URL_REDACTED
