"""Read an HCL file (python-hcl2) into blocks and attributes that keep their line.

python-hcl2's dict output drops line numbers and silently keeps the last of
two attributes with the same name, so this walks its rule tree instead. Values
are plain Python data (str, int, float, bool, list, dict); expressions such as
``var.x`` or ``"${x}"`` are refused, because a config and a tfvars file hold
literals only.
"""

from __future__ import annotations

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
    return parse_hcl_text(text, path)
