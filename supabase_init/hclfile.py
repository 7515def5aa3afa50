"""Read an HCL file (python-hcl2) into blocks and attributes that keep their line.

python-hcl2's dict output drops line numbers and silently keeps the last of
two attributes with the same name, so this walks its rule tree instead. Values
are plain Python data (str, int, float, bool, list, dict); expressions such as
``var.x`` or ``"${x}"`` are refused, because a config and a tfvars file hold
literals only.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

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


def _literal(value: Any, path: Path, line: int, name: str) -> Any:
    if isinstance(value, str):
        if _INTERPOLATION.search(value):
            raise ConfigError(
                f"{name}: expressions and interpolations are not allowed here: {value!r}",
                path=path, line=line)
        return value.replace("$${", "${").replace("%%{", "%{")
    if isinstance(value, list):
        return [_literal(v, path, line, name) for v in value]
    if isinstance(value, dict):
        return {k: _literal(v, path, line, f"{name}.{k}") for k, v in value.items()}
    return value


def _body(rule: Any, path: Path, options: Any,
          where: str = "") -> tuple[dict[str, Attribute], tuple[Block, ...]]:
    """Attributes and blocks of one body; ``where`` ("role 'anon': ") prefixes errors."""
    from hcl2.rules.base import AttributeRule, BlockRule

    attributes: dict[str, Attribute] = {}
    blocks: list[Block] = []
    for child in rule.children:
        if isinstance(child, AttributeRule):
            name = str(child.identifier.serialize(options))
            line = child._meta.line
            if name in attributes:
                raise ConfigError(
                    f"{where}attribute {name!r} is set twice (first on line "
                    f"{attributes[name].line})", path=path, line=line)
            try:
                raw = child.expression.serialize(options)
            except Exception as e:  # python-hcl2 raises bare exceptions on odd input
                raise ConfigError(f"{where}{name}: cannot read value: {_one_line(e)}",
                                  path=path, line=line) from e
            attributes[name] = Attribute(name, _literal(raw, path, line, where + name), line)
        elif isinstance(child, BlockRule):
            labels = [str(label.serialize(options)) for label in child.labels]
            inner = " ".join([labels[0], *(repr(label) for label in labels[1:])])
            inner_attrs, inner_blocks = _body(child.body, path, options, f"{where}{inner}: ")
            blocks.append(Block(labels[0], tuple(labels[1:]), inner_attrs, inner_blocks,
                                child._meta.line))
    return attributes, tuple(blocks)


def parse_hcl_text(text: str, path: Path) -> Document:
    """Parse HCL text; ``path`` is only used in error messages."""
    import hcl2
    from lark.exceptions import UnexpectedInput

    try:
        tree = hcl2.parses(text, discard_comments=True)
    except UnexpectedInput as e:
        token = getattr(e, "token", None)
        found = f" near {str(token).strip()!r}" if token is not None and str(token).strip() else ""
        if getattr(token, "type", None) == "$END":
            found = ": unexpected end of file (an unclosed block, bracket or string?)"
        raise ConfigError(f"syntax error at column {e.column}{found}",
                          path=path, line=e.line) from e
    except Exception as e:
        raise ConfigError(f"cannot parse HCL: {_one_line(e)}", path=path) from e
    attributes, blocks = _body(tree.body, path, _options())
    return Document(path, attributes, blocks)


def parse_hcl_file(path: Path) -> Document:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError("file not found", path=path) from e
    except UnicodeDecodeError as e:
        raise ConfigError("file is not valid UTF-8", path=path) from e
    except OSError as e:
        raise ConfigError(f"cannot read file: {e.strerror}", path=path) from e
    cache = _cache_file(text)
    cached = _read_cached(cache, path)
    if cached is not None:
        return cached
    doc = parse_hcl_text(text, path)
    _write_cached(cache, doc)
    return doc


# A parse cache, like Python's .pyc files: importing python-hcl2 and loading
# its parser costs more than everything else a `plan` does before it reaches
# the database. The key is the file's exact text plus the versions of this
# reader and of python-hcl2, so a cached result is exactly what python-hcl2
# returned for those bytes. Only successful parses are cached; any problem
# with the cache (unwritable, corrupt) falls back to parsing.
# SUPABASE_INIT_CACHE_DIR moves it; SUPABASE_INIT_CACHE_DIR=off disables it.
_CACHE_FORMAT = "1"


def _cache_file(text: str) -> Path | None:
    import hashlib
    import importlib.util
    import os

    from . import __version__

    where = os.environ.get("SUPABASE_INIT_CACHE_DIR")
    if where == "off":
        return None
    if not where:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                ".cache")
        where = os.path.join(base, "supabase-init")
    spec = importlib.util.find_spec("hcl2")
    if spec is None or spec.origin is None:
        return None
    try:
        hcl2_version = (Path(spec.origin).parent / "version.py").read_bytes()
    except OSError:
        return None
    key = hashlib.sha256()
    for part in (_CACHE_FORMAT.encode(), __version__.encode(), hcl2_version, text.encode()):
        key.update(hashlib.sha256(part).digest())
    return Path(where) / f"hcl-{key.hexdigest()}.json"


def _block_to_json(block: Block) -> dict[str, Any]:
    return {"type": block.type, "labels": list(block.labels), "line": block.line,
            "attributes": [[a.name, a.value, a.line] for a in block.attributes.values()],
            "blocks": [_block_to_json(b) for b in block.blocks]}


def _block_from_json(data: dict[str, Any]) -> Block:
    return Block(data["type"], tuple(data["labels"]),
                 {name: Attribute(name, value, line) for name, value, line in data["attributes"]},
                 tuple(_block_from_json(b) for b in data["blocks"]), data["line"])


def _read_cached(cache: Path | None, path: Path) -> Document | None:
    if cache is None:
        return None
    import json

    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        return Document(path,
                        {n: Attribute(n, v, line) for n, v, line in data["attributes"]},
                        tuple(_block_from_json(b) for b in data["blocks"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cached(cache: Path | None, doc: Document) -> None:
    if cache is None:
        return
    import json

    from .files import write_atomic

    data = {"attributes": [[a.name, a.value, a.line] for a in doc.attributes.values()],
            "blocks": [_block_to_json(b) for b in doc.blocks]}
    with contextlib.suppress(OSError):
        write_atomic(cache, json.dumps(data))
