"""Read an HCL file (python-hcl2) into blocks and attributes that keep their line.

python-hcl2's dict output drops line numbers and silently keeps the last of
two attributes with the same name, so this walks its rule tree instead. Values
are plain Python data (str, int, float, bool, list, dict) with Terraform's
meaning: a heredoc keeps its final newline, and ``<<-`` strips indentation as
HCL does. Expressions such as ``var.x`` or ``"${x}"`` are not evaluated: a
config holds literals only (they are an error there), and in a variable file
they become ``Expression`` values that are an error only where used.

Variable files (``.tfvars``) may hold secrets, so they are read with
``secret=True``: never cached, and no error quotes their text or values.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .excerpt import excerpt

# An interpolation is "${" not preceded by the "$" that escapes it.
_INTERPOLATION = re.compile(r"(?<!\$)\$\{|(?<!%)%\{")


@dataclass(frozen=True)
class Attribute:
    name: str
    value: Any
    line: int


@dataclass(frozen=True)
class Block:
    type: str
    labels: tuple[str, ...]
    attributes: dict[str, Attribute]
    blocks: tuple[Block, ...]
    line: int


@dataclass(frozen=True)
class Document:
    path: Path
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Expression:
    """A value that is an expression or interpolation, not a literal (text not kept)."""


EXPRESSION = Expression()


def _one_line(error: BaseException) -> str:
    """A foreign exception's text on one line (lark's messages span several)."""
    return " ".join(str(error).split()) or type(error).__name__


def _options() -> Any:
    from hcl2.utils import SerializationOptions

    return SerializationOptions(
        with_comments=False,
        strip_string_quotes=True,
        preserve_heredocs=False,
        explicit_blocks=False,
    )


# --------------------------------------------------------------------------
# heredocs, as HCL reads them

# Go's unicode.IsSpace, which HCL uses to measure a flush heredoc's indentation.
_GO_SPACE = frozenset("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
                      + "".join(chr(c) for c in range(0x2000, 0x200B)))


def heredoc_value(token: str) -> str:
    """The string a heredoc token (``<<EOT ... EOT`` with its final newline) stands for.

    As HCL: every content line keeps its line ending, the last one included;
    ``<<-`` removes from each line the smallest indentation of the lines that
    are not blank (whitespace-only lines are kept as they are).
    """
    header_end = token.index("\n") + 1
    body = token[:-1] if token.endswith("\n") else token
    body = body[:-1] if body.endswith("\r") else body
    closing_start = body.rfind("\n") + 1
    content = token[header_end:max(closing_start, header_end)]
    if not token.startswith("<<-"):
        return content
    lines = _split_newlines(content)

    def blank(line: str) -> bool:
        return all(ch in _GO_SPACE for ch in line.rstrip("\r\n"))

    indents = [len(line) - len(line.lstrip("".join(_GO_SPACE)))
               for line in lines if line and not blank(line)]
    cut = min(indents, default=0)
    return "".join(line if blank(line) else line[cut:] for line in lines)


def _split_newlines(text: str) -> list[str]:
    """``text`` split after each "\\n" only (str.splitlines also splits at \\v, \\x1c, ...)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _heredoc_rule(expression: Any) -> Any | None:
    """The heredoc rule when an attribute's whole value is one heredoc."""
    from hcl2.rules.strings import HeredocTemplateRule

    inner = [c for c in getattr(expression, "children", ()) if c is not None]
    if len(inner) == 1 and isinstance(inner[0], HeredocTemplateRule):
        return inner[0]
    return None


def _references_a_name(expression: Any) -> bool:
    """Whether a value is, or holds, a bare name such as ``public`` or ``a-b``.

    HCL reads a bare name as a reference to a variable (Terraform: "Variables
    not allowed"), but python-hcl2 returns it as the plain string, exactly as
    if it had been quoted. An object's keys are names too, and are fine.
    """
    from hcl2.rules.expressions import ExprTermRule
    from hcl2.rules.literal_rules import IdentifierRule
    from hcl2.rules.strings import StringRule

    stack = [expression]
    while stack:
        node = stack.pop()
        if isinstance(node, StringRule):
            continue  # a name inside "${...}" is an interpolation, refused as such
        children = [c for c in getattr(node, "children", ()) or () if c is not None]
        if isinstance(node, ExprTermRule) and any(isinstance(c, IdentifierRule)
                                                  for c in children):
            return True
        stack.extend(children)
    return False


def _contains_heredoc(rule: Any) -> bool:
    from hcl2.rules.strings import HeredocTemplateRule

    stack = [rule]
    while stack:
        node = stack.pop()
        if isinstance(node, HeredocTemplateRule):
            return True
        stack.extend(c for c in getattr(node, "children", ()) or () if c is not None)
    return False


# --------------------------------------------------------------------------
# the rule tree → Document


@dataclass(frozen=True)
class _Reading:
    path: Path
    options: Any
    secret: bool


def _literal(value: Any, reading: _Reading, line: int, name: str) -> Any:
    if isinstance(value, str):
        if _INTERPOLATION.search(value):
            if reading.secret:
                return EXPRESSION
            raise ConfigError(
                f"{name}: expressions and interpolations are not allowed here: "
                f"{excerpt(value)}", path=reading.path, line=line)
        return value.replace("$${", "${").replace("%%{", "%{")
    if isinstance(value, list):
        items = [_literal(v, reading, line, name) for v in value]
        return EXPRESSION if EXPRESSION in items else items
    if isinstance(value, dict):
        members = {k: _literal(v, reading, line, f"{name}.{k}") for k, v in value.items()}
        return EXPRESSION if EXPRESSION in members.values() else members
    return value


def _value(child: Any, reading: _Reading, line: int, name: str) -> Any:
    heredoc = _heredoc_rule(child.expression)
    if heredoc is not None:
        return _literal(heredoc_value(str(heredoc.heredoc.value)), reading, line, name)
    if _contains_heredoc(child.expression):
        raise ConfigError(f"{name}: a heredoc is supported only as a whole value, not "
                          "inside a list, an object or an expression",
                          path=reading.path, line=line)
    if _references_a_name(child.expression):
        if reading.secret:
            return EXPRESSION
        raise ConfigError(f"{name}: expressions and interpolations are not allowed here: a "
                          "bare name refers to a variable; write a string in double quotes",
                          path=reading.path, line=line)
    try:
        raw = child.expression.serialize(reading.options)
    except RecursionError:
        raise  # too deep: parse_hcl_text says so for the whole file
    except Exception as e:  # python-hcl2 raises bare exceptions on odd input
        reason = type(e).__name__ if reading.secret else _one_line(e)
        raise ConfigError(f"{name}: cannot read value: {reason}", path=reading.path,
                          line=line) from e
    return _literal(raw, reading, line, name)


def _body(rule: Any, reading: _Reading,
          where: str = "") -> tuple[dict[str, Attribute], tuple[Block, ...]]:
    """Attributes and blocks of one body; ``where`` ("role 'anon': ") prefixes errors."""
    from hcl2.rules.base import AttributeRule, BlockRule

    attributes: dict[str, Attribute] = {}
    blocks: list[Block] = []
    for child in rule.children:
        if isinstance(child, AttributeRule):
            name = str(child.identifier.serialize(reading.options))
            line = child._meta.line
            if name in attributes:
                raise ConfigError(
                    f"{where}attribute {name!r} is set twice (first on line "
                    f"{attributes[name].line})", path=reading.path, line=line)
            attributes[name] = Attribute(name, _value(child, reading, line, where + name), line)
        elif isinstance(child, BlockRule):
            labels = [str(label.serialize(reading.options)) for label in child.labels]
            inner = " ".join([labels[0], *(repr(label) for label in labels[1:])])
            inner_attrs, inner_blocks = _body(child.body, reading, f"{where}{inner}: ")
            blocks.append(Block(labels[0], tuple(labels[1:]), inner_attrs, inner_blocks,
                                child._meta.line))
    return attributes, tuple(blocks)


# What a syntax error expected and found, in words: lark's terminal names
# are python-hcl2's grammar, and the text of a token may be a secret.
_SYMBOLS = {"EQ": "=", "COLON": ":", "COMMA": ",", "LBRACE": "{", "RBRACE": "}",
            "LSQB": "[", "RSQB": "]", "LPAR": "(", "RPAR": ")", "DBLQUOTE": '"',
            "DOUBLE_EQ": "==", "NEQ": "!=", "DOT": ".", "PLUS": "+", "MINUS": "-",
            "ASTERISK": "*", "SLASH": "/", "PERCENT": "%", "NOT": "!", "QMARK": "?",
            "LT": "<", "GT": ">", "LEQ": "<=", "GEQ": ">=", "DOUBLE_AMP": "&&",
            "DOUBLE_PIPE": "||", "INTERP_START": "${", "DIRECTIVE_START": "%{",
            "FOR_OBJECT_ARROW": "=>", "ELLIPSIS": "...", "COLONS": "::"}
_VALUE_STARTS = frozenset({"INT_LITERAL", "FLOAT_LITERAL", "HEREDOC_TEMPLATE",
                           "HEREDOC_TEMPLATE_TRIM", "LSQB"})


def _expected(names: set[str]) -> str:
    if not names or names == {"$END"}:
        return "the end of the file"
    if names & _VALUE_STARTS:
        return "a value"
    if "EQ" in names:
        return '"=" after the attribute name'
    if names == {"LBRACE"}:
        return '"{" (a block) or "=" (an attribute)'
    symbols = sorted(f'"{_SYMBOLS[n]}"' for n in names if n in _SYMBOLS)
    if "NAME" in names:
        symbols.insert(0, "a name")
    return " or ".join(symbols) if symbols else "something else"


def _found(token: Any) -> str:
    kind = getattr(token, "type", None)
    if kind == "$END":
        return "the end of the file"
    if kind in _SYMBOLS:
        return f'"{_SYMBOLS[kind]}"'
    if kind == "STRING_CHARS" and str(token).startswith("<<"):
        return "a heredoc without its closing marker line"
    return {"NAME": "a name", "INT_LITERAL": "a number", "FLOAT_LITERAL": "a number",
            "STRING_CHARS": "unquoted text", "NL_OR_COMMENT": "the end of the line"}.get(
                str(kind), "something else")


_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\n")
_OPENERS = {"{": "block", "[": "list", "(": "parenthesis", '"': "string",
            "${": "interpolation", "<<": "heredoc"}


def _unclosed(text: str) -> tuple[str, int] | None:
    """The outermost block, list, string or heredoc that ``text`` opens and never closes,
    and its line; None when everything is closed.

    Read as HCL reads it: comments (#, //, /* */), strings with their escapes
    and ${ } / %{ } templates, heredocs (<<EOT, <<-EOT).
    """
    stack: list[tuple[str, int]] = []
    i, n, line = 0, len(text), 1
    while i < n:
        ch = text[i]
        top = stack[-1][0] if stack else ""
        if ch == "\n":
            line += 1
            i += 1
            continue
        if top == '"':
            if ch == "\\":
                i += 2
                continue
            if text.startswith(("$${", "%%{"), i):
                i += 3
                continue
            if text.startswith(("${", "%{"), i):
                stack.append(("${", line))
                i += 2
                continue
            if ch == '"':
                stack.pop()
            i += 1
            continue
        if ch == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                return None  # the parser names an unclosed comment itself
            line += text.count("\n", i, end)
            i = end + 2
            continue
        heredoc = _HEREDOC.match(text, i) if text.startswith("<<", i) else None
        if heredoc:
            closing = re.compile(rf"^[ \t]*{re.escape(heredoc.group(1))}[ \t]*$", re.MULTILINE)
            found = closing.search(text, heredoc.end())
            if found is None:
                stack.append(("<<", line))
                break
            line += text.count("\n", i, found.end())
            i = found.end()
            continue
        if ch in "{[(\"":
            stack.append((ch, line))
        elif ch in "}])" and stack:
            stack.pop()
        i += 1
    if not stack:
        return None
    kind, opened = stack[0]
    return _OPENERS[kind], opened


def _syntax_error(e: Any, path: Path, secret: bool, text: str) -> ConfigError:
    """Line, column, what was expected and what was found: never the text itself."""
    from lark.exceptions import UnexpectedCharacters

    token = getattr(e, "token", None)
    if getattr(token, "type", None) == "$END":
        unclosed = _unclosed(text)
        if unclosed is not None:
            # Where the reader can act: the opening line, not the end of the file.
            what, opened = unclosed
            return ConfigError(f"the {what} opened on this line is never closed (syntax "
                               f"error at column {e.column} of line {e.line}: the end of the "
                               "file)", path=path, line=opened)
        return ConfigError(f"syntax error at column {e.column}: unexpected end of file "
                           "(an unclosed block, bracket or string?)", path=path, line=e.line)
    if isinstance(e, UnexpectedCharacters):
        found = "a character that cannot start anything here"
        expected = _expected(set(getattr(e, "allowed", None) or ()))
    else:
        found = _found(token)
        expected = _expected(set(getattr(e, "expected", None) or ()))
    message = f"syntax error at column {e.column}: expected {expected}, found {found}"
    if not secret and token is not None and str(token).strip():
        message += f" ({excerpt(str(token).strip())})"
    return ConfigError(message, path=path, line=e.line)


def parse_hcl_text(text: str, path: Path, *, secret: bool = False) -> Document:
    """Parse HCL text; ``path`` is only used in error messages.

    ``secret``: the text may hold secrets (a variable file), so errors name
    the line and column but never quote the text, and expressions become
    ``EXPRESSION`` values instead of errors.
    """
    import hcl2
    from lark.exceptions import UnexpectedInput

    try:
        tree = hcl2.parses(text, discard_comments=True)
        attributes, blocks = _body(tree.body, _Reading(path, _options(), secret))
    except UnexpectedInput as e:
        raise _syntax_error(e, path, secret, text) from None
    except RecursionError:
        raise ConfigError("nested too deeply to read (lists or objects inside one "
                          "another hundreds of levels deep)", path=path) from None
    except ConfigError:
        raise
    except Exception as e:
        reason = type(e).__name__ if secret else _one_line(e)
        raise ConfigError(f"cannot parse HCL: {reason}", path=path) from None
    return Document(path, attributes, blocks)


def _read_text(path: Path) -> str:
    try:
        # Bytes, not read_text(): universal newlines would turn a heredoc's
        # CRLF into LF, and Terraform keeps it.
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError as e:
        raise ConfigError("file not found", path=path) from e
    except UnicodeDecodeError as e:
        raise ConfigError("file is not valid UTF-8", path=path) from e
    except OSError as e:
        raise ConfigError(f"cannot read file: {e.strerror or type(e).__name__}",
                          path=path) from e


# The common variable file, one `name = literal` per line, read without
# python-hcl2: importing it and loading its grammar costs about 0.1 s, which
# a secret file cannot save through the cache. Anything beyond this subset
# (escapes, templates, heredocs, lists, blocks, block comments, CR, a name set
# twice) goes to python-hcl2; tests check that both read the subset alike.
_SIMPLE_LINE = re.compile(
    r"[ \t]*(?:(?P<name>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*=[ \t]*"
    r'(?:"(?P<string>[^"\\$%\n]*)"|(?P<int>[0-9]+)|(?P<float>[0-9]+\.[0-9]+)'
    r"|(?P<word>true|false|null))[ \t]*)?(?:(?:#|//)[^\n]*)?")
_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_KEYWORDS = frozenset({"true", "false", "null", "for", "for_each", "in", "if", "else",
                       "endif", "endfor"})


def parse_plain_assignments(text: str, path: Path) -> Document | None:
    """A file of plain ``name = literal`` lines, read without python-hcl2.

    None when the text has anything else (python-hcl2 then reads it); the
    tests check that both readings agree.
    """
    if "\r" in text or "/*" in text:
        return None
    attributes: dict[str, Attribute] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        m = _SIMPLE_LINE.fullmatch(line)
        if m is None:
            return None
        name = m.group("name")
        if name is None:
            continue
        if name in attributes or name in _KEYWORDS:
            return None
        if m.group("string") is not None:
            value: Any = m.group("string")
            if any(ch < " " and ch != "\t" or ch == "\x7f" for ch in value):
                return None
        elif m.group("int") is not None or m.group("float") is not None:
            digits = m.group("int") or m.group("float")
            if len(digits) > 15:
                return None  # beyond a float's exact digits: python-hcl2 decides
            value = int(digits) if m.group("int") is not None else float(digits)
        else:
            value = _WORDS[m.group("word")]
        attributes[name] = Attribute(name, value, number)
    return Document(path, attributes)


def parse_hcl_file(path: Path, *, secret: bool = True) -> Document:
    """Read and parse an HCL file.

    ``secret`` (the default, the safe choice): the file may hold secrets, such
    as a ``.tfvars`` file. It is then never cached, and its errors never
    quote its text (see ``parse_hcl_text``). A config without secrets passes
    ``secret=False`` and gets the parse cache.
    """
    text = _read_text(path)
    if secret:
        return parse_plain_assignments(text, path) or parse_hcl_text(text, path, secret=True)
    cache = _ParseCache.for_text("document", text)
    cached = cache.load() if cache is not None else None
    if cached is not None:
        with contextlib.suppress(KeyError, TypeError, ValueError):
            return _document_from_json(path, cached)
    doc = parse_hcl_text(text, path)
    if cache is not None:
        cache.store(_document_to_json(doc))
    return doc


def variable_declarations(path: Path) -> tuple[str, ...] | None:
    """The names of the top-level ``variable`` blocks of a Terraform file (.tf or .tf.json).

    Nothing else is read, so nothing a default might hold is kept or cached.
    None when the file cannot be read or parsed (Terraform will say why).
    """
    import json

    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.name.endswith(".json"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None
        variables = data.get("variable") if isinstance(data, dict) else None
        return tuple(variables) if isinstance(variables, dict) else ()
    cache = _ParseCache.for_text("variables", text)
    cached = cache.load() if cache is not None else None
    if isinstance(cached, list) and all(isinstance(n, str) for n in cached):
        return tuple(cached)
    try:
        import hcl2
        from hcl2.rules.base import BlockRule

        tree = hcl2.parses(text, discard_comments=True)
        options = _options()
        names = tuple(str(child.labels[1].serialize(options)) for child in tree.body.children
                      if isinstance(child, BlockRule) and len(child.labels) == 2
                      and str(child.labels[0].serialize(options)) == "variable")
    except Exception:
        return None
    if cache is not None:
        cache.store(list(names))
    return names


# --------------------------------------------------------------------------
# The parse cache, like Python's .pyc files: importing python-hcl2 and loading
# its parser costs more than everything else a `plan` does before it reaches
# the database. Only files without secrets are cached (the config, the names
# a .tf file declares), never a variable file. The key is the file's exact
# text plus the versions of this reader and of python-hcl2; an entry also
# records the SHA-256 of the text it was made from and a digest over that and
# its content, and is used only when both check out, it is a private file of
# this user (0600, in a 0700 directory), and its content has the expected
# shape. Anything else is a miss, and any problem with the cache (unwritable,
# corrupt, tampered with) falls back to parsing.
# SUPABASE_INIT_CACHE_DIR moves it; SUPABASE_INIT_CACHE_DIR=off disables it.
_CACHE_FORMAT = "2"


def cache_directory() -> Path | None:
    """The cache root: ``$SUPABASE_INIT_CACHE_DIR`` (``off``: no cache), else
    ``$XDG_CACHE_HOME/supabase-init``, else ``~/.cache/supabase-init``."""
    import os

    where = os.environ.get("SUPABASE_INIT_CACHE_DIR")
    if where == "off":
        return None
    if not where:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                ".cache")
        where = os.path.join(base, "supabase-init")
    return Path(where)


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _canonical(payload: Any) -> bytes:
    import json

    return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


@dataclass(frozen=True)
class _ParseCache:
    directory: Path
    entry: Path
    kind: str
    source_sha256: str

    @classmethod
    def for_text(cls, kind: str, text: str) -> _ParseCache | None:
        import importlib.util

        from . import __version__

        directory = cache_directory()
        if directory is None:
            return None
        spec = importlib.util.find_spec("hcl2")
        if spec is None or spec.origin is None:
            return None
        try:
            hcl2_version = (Path(spec.origin).parent / "version.py").read_bytes()
        except OSError:
            return None
        source_sha256 = _sha256(text.encode())
        key = _sha256("\0".join((_CACHE_FORMAT, kind, __version__, _sha256(hcl2_version),
                                 source_sha256)).encode())
        return cls(directory, directory / f"hcl-{key}.json", kind, source_sha256)

    def _digest(self, payload: Any) -> str:
        return _sha256(b"\0".join((_CACHE_FORMAT.encode(), self.kind.encode(),
                                   self.source_sha256.encode(), _canonical(payload))))

    def load(self) -> Any | None:
        """The payload of a valid entry for this text, else None."""
        import json
        import os
        import stat

        try:
            for item, private in ((self.directory, 0o077), (self.entry, 0o077)):
                info = os.lstat(item)
                if info.st_uid != os.geteuid() or info.st_mode & private:
                    return None
            if not stat.S_ISREG(os.lstat(self.entry).st_mode):
                return None
            data = json.loads(self.entry.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(data, dict) or data.get("format") != _CACHE_FORMAT \
                or data.get("kind") != self.kind \
                or data.get("source_sha256") != self.source_sha256 or "payload" not in data:
            return None
        try:
            if data.get("digest") != self._digest(data["payload"]):
                return None
        except (TypeError, ValueError, RecursionError):
            return None
        return data["payload"]

    def store(self, payload: Any) -> None:
        import json
        import os

        from .files import write_atomic

        try:
            text = json.dumps({"format": _CACHE_FORMAT, "kind": self.kind,
                               "source_sha256": self.source_sha256,
                               "digest": self._digest(payload), "payload": payload})
            self.directory.mkdir(parents=True, mode=0o700, exist_ok=True)
            info = os.lstat(self.directory)
            if info.st_uid != os.geteuid():
                return  # someone else's directory: do not write secrets-adjacent data there
            if info.st_mode & 0o777 != 0o700:
                os.chmod(self.directory, 0o700)  # mkdir's mode is reduced by the umask
            write_atomic(self.entry, text, mode=0o600)
        except (OSError, ValueError, TypeError, RecursionError):
            pass


def _is_value(value: Any) -> bool:
    """A value a Document may hold (what python-hcl2 returns for literals)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                return False
            stack.extend(item.values())
        elif not (item is None or isinstance(item, str | int | float | bool)):
            return False
    return True


def _attributes_to_json(attributes: dict[str, Attribute]) -> list[list[Any]]:
    return [[a.name, a.value, a.line] for a in attributes.values()]


def _block_to_json(block: Block) -> dict[str, Any]:
    return {"type": block.type, "labels": list(block.labels), "line": block.line,
            "attributes": _attributes_to_json(block.attributes),
            "blocks": [_block_to_json(b) for b in block.blocks]}


def _document_to_json(doc: Document) -> dict[str, Any]:
    return {"attributes": _attributes_to_json(doc.attributes),
            "blocks": [_block_to_json(b) for b in doc.blocks]}


def _line(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError("bad line")
    return value


def _attributes_from_json(data: Any) -> dict[str, Attribute]:
    attributes: dict[str, Attribute] = {}
    for name, value, line in data:
        if not isinstance(name, str) or name in attributes or not _is_value(value):
            raise ValueError("bad attribute")
        attributes[name] = Attribute(name, value, _line(line))
    return attributes


def _block_from_json(data: dict[str, Any]) -> Block:
    if not isinstance(data["type"], str) or not all(isinstance(x, str) for x in data["labels"]):
        raise ValueError("bad block")
    return Block(data["type"], tuple(data["labels"]), _attributes_from_json(data["attributes"]),
                 tuple(_block_from_json(b) for b in data["blocks"]), _line(data["line"]))


def _document_from_json(path: Path, data: dict[str, Any]) -> Document:
    return Document(path, _attributes_from_json(data["attributes"]),
                    tuple(_block_from_json(b) for b in data["blocks"]))
