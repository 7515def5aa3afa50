"""Terraform-time variable values, resolved with Terraform's precedence.

Lowest to highest: the config's defaults, ``TF_VAR_name`` environment
variables, ``terraform.tfvars``, ``*.auto.tfvars`` (alphabetical), then the
``-var`` and ``-var-file`` options in the order they were given. Values are
checked against the config's ``variable`` blocks (type, pattern and kind), the
same checks the Terraform module's ``validation`` blocks make.

Variable files are read as Terraform reads them (a heredoc keeps its final
newline) and may hold secrets: they are never cached, and no error quotes
their text; an error quotes at most about 80 characters of a value. A value
for a variable that neither the config nor the Terraform module declares is
ignored with a warning, as Terraform warns; the library never prints, so the
warnings come back with the values (``resolve_variables_with_warnings``).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .config import Config, Variable, value_problem
from .errors import ConfigError, VariableError
from .excerpt import excerpt
from .hclfile import EXPRESSION, parse_hcl_file, variable_declarations
from .tftemplate import Value


@dataclass(frozen=True)
class VariableSources:
    """Where values come from, besides the config's defaults."""

    var_files: tuple[Path, ...] = ()
    vars: tuple[str, ...] = ()  # "name=value" as given to -var
    tfvars_dir: Path | None = None  # directory searched for terraform.tfvars / *.auto.tfvars
    environ: Mapping[str, str] | None = None  # TF_VAR_*; None means os.environ
    # "var" / "var_file" per option as it appeared on the command line, so that
    # a later option wins as in Terraform. Entries beyond it come after, files
    # first.
    order: tuple[str, ...] = ()

    def command_line(self) -> list[tuple[str, str | Path]]:
        """The -var ("var", "name=value") and -var-file ("var_file", path) options, lowest first."""
        files, args = list(self.var_files), list(self.vars)
        items: list[tuple[str, str | Path]] = []
        for kind in self.order:
            if kind == "var_file" and files:
                items.append((kind, files.pop(0)))
            elif kind == "var" and args:
                items.append((kind, args.pop(0)))
        items.extend(("var_file", path) for path in files)
        items.extend(("var", arg) for arg in args)
        return items


@dataclass(frozen=True)
class ResolvedVariables:
    """Every declared variable's value, and the warnings met on the way (for stderr)."""

    values: dict[str, Value]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Found:
    """One value from one source: where it came from, for messages."""

    value: object
    source: str  # "environment variable TF_VAR_x", "-var x", "path:line"
    path: Path | None = None
    line: int | None = None


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _convert(variable: Variable, raw: object, source: str) -> Value:
    """Convert like Terraform converts a value to the variable's type."""
    what = f"variable {variable.name!r} (from {source})"
    if raw is EXPRESSION:
        raise VariableError(f"{what}: expressions and interpolations are not supported in a "
                            "variable file; give a literal value")
    if variable.type == "string":
        if isinstance(raw, bool):
            return "true" if raw else "false"
        if isinstance(raw, int | float):
            from .tftemplate import format_value

            return format_value(raw)
        if isinstance(raw, str):
            return raw
    elif variable.type == "number":
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return raw
        # Python's int() and float() also take " 5", "1_000" and "nan";
        # Terraform's string-to-number conversion takes none of them.
        if isinstance(raw, str) and _DECIMAL.fullmatch(raw):
            if _INTEGER.fullmatch(raw):
                try:
                    return int(raw)
                except ValueError:  # past Python's int-from-str digit limit
                    return Decimal(raw)
            # Terraform numbers are arbitrary-precision decimals: a float
            # would lose digits (or overflow) that templatefile() keeps.
            return Decimal(raw)
    elif variable.type == "bool":
        if isinstance(raw, bool):
            return raw
        # As Terraform's tobool(): "1" and "0" too, nothing else.
        if raw in ("true", "false", "1", "0"):
            return raw in ("true", "1")
    raise VariableError(f"{what}: expected a {variable.type}, got {excerpt(raw)}")


def _check(variable: Variable, value: Value, source: str) -> Value:
    if variable.type == "string":
        problem = value_problem(variable, str(value))
        if problem is not None:
            raise VariableError(f"variable {variable.name!r} (from {source}): value {problem}")
    return value


def _json_error(path: Path, e: json.JSONDecodeError) -> VariableError:
    # JSONDecodeError's msg is fixed text ("Expecting ',' delimiter"); its
    # str() would add nothing but the position, so no file content is quoted.
    return VariableError(f"{path}:{e.lineno}: not a valid tfvars JSON file: {e.msg} "
                         f"(column {e.colno})")


def _read_tfvars_json(path: Path, text: str) -> dict[str, _Found]:
    """The top-level members of a .tfvars.json file, each with its line.

    Read with the json module's own scanner, member by member, so that a
    warning can name the line as it does for a .tfvars file.
    """
    decoder = json.JSONDecoder()
    whitespace = " \t\n\r"

    def skip(pos: int) -> int:
        while pos < len(text) and text[pos] in whitespace:
            pos += 1
        return pos

    def fail(message: str, pos: int) -> VariableError:
        return _json_error(path, json.JSONDecodeError(message, text, pos))

    pos = skip(0)
    if pos >= len(text) or text[pos] != "{":
        try:
            decoder.decode(text)
        except json.JSONDecodeError as e:
            raise _json_error(path, e) from None
        raise VariableError(f"{path}: a tfvars JSON file must hold an object")
    found: dict[str, _Found] = {}
    pos = skip(pos + 1)
    if pos < len(text) and text[pos] == "}":
        pos += 1
    else:
        while True:
            if pos >= len(text) or text[pos] != '"':
                raise fail("Expecting property name enclosed in double quotes", pos)
            line = text.count("\n", 0, pos) + 1
            key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            pos = skip(pos)
            if pos >= len(text) or text[pos] != ":":
                raise fail("Expecting ':' delimiter", pos)
            value, pos = decoder.raw_decode(text, skip(pos + 1))
            if key in found:
                raise VariableError(f"{path}:{line}: {key!r} is set twice (first on line "
                                    f"{found[key].line})")
            found[key] = _Found(value, f"{path}:{line}", path, line)
            pos = skip(pos)
            if pos < len(text) and text[pos] == ",":
                pos = skip(pos + 1)
                continue
            if pos < len(text) and text[pos] == "}":
                pos += 1
                break
            raise fail("Expecting ',' delimiter", pos)
    if skip(pos) != len(text):
        raise fail("Extra data", skip(pos))
    return found


def _read_tfvars(path: Path) -> dict[str, _Found]:
    if path.name.endswith(".json"):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as e:
            raise VariableError(f"{path}: file not found") from e
        except UnicodeDecodeError as e:
            raise VariableError(f"{path}: file is not valid UTF-8") from e
        except OSError as e:
            raise VariableError(f"{path}: cannot read file: "
                                f"{e.strerror or type(e).__name__}") from e
        try:
            return _read_tfvars_json(path, text)
        except json.JSONDecodeError as e:
            raise _json_error(path, e) from None
        except RecursionError:
            raise VariableError(f"{path}: nested too deeply to read (lists or objects inside "
                                "one another hundreds of levels deep)") from None
    try:
        doc = parse_hcl_file(path, secret=True)
    except ConfigError as e:
        raise VariableError(e.message) from e
    if doc.blocks:
        block = doc.blocks[0]
        raise VariableError(f"{path}:{block.line}: blocks are not allowed in a tfvars file")
    return {name: _Found(a.value, f"{path}:{a.line}", path, a.line)
            for name, a in doc.attributes.items()}


def _auto_loaded(directory: Path) -> list[Path]:
    """terraform.tfvars[.json], then *.auto.tfvars[.json] in lexical order, as Terraform loads."""
    try:
        entries = {e.name: e for e in os.scandir(directory)}
    except FileNotFoundError:
        return []
    except OSError as e:
        raise VariableError(f"{directory}: cannot list the directory for tfvars files: "
                            f"{e.strerror or type(e).__name__}") from e

    def is_file(name: str) -> bool:
        try:
            return entries[name].is_file()
        except OSError:
            return True  # let reading it say what is wrong

    files = [directory / n for n in ("terraform.tfvars", "terraform.tfvars.json")
             if n in entries and is_file(n)]
    files.extend(directory / n for n in sorted(entries)
                 if n.endswith((".auto.tfvars", ".auto.tfvars.json")) and is_file(n))
    return files


def _module_declarations(directory: Path | None) -> frozenset[str]:
    """Variables the Terraform module next to the tfvars files declares (its *.tf files)."""
    if directory is None:
        return frozenset()
    try:
        names = sorted(e.name for e in os.scandir(directory)
                       if e.name.endswith((".tf", ".tf.json")) and e.is_file())
    except OSError:
        return frozenset()
    declared: set[str] = set()
    for name in names:
        declared.update(variable_declarations(directory / name) or ())
    return frozenset(declared)


def _undeclared_warning(found: _Found, name: str, config: Config,
                        known: frozenset[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = (f"did you mean {close[0]!r}?" if close
            else f"declared: {', '.join(v.name for v in config.variables) or 'none'}")
    return (f"{found.source}: value for undeclared variable {excerpt(name)} is ignored: "
            f"neither {config.path.name} nor the Terraform module declares it ({hint})")


def resolve_variables_with_warnings(config: Config,
                                    sources: VariableSources) -> ResolvedVariables:
    """Every declared variable's value, and a warning per undeclared one in a variable file.

    Errors name the variable and where its value came from.
    """
    declared = {v.name: v for v in config.variables}
    raw: dict[str, _Found] = {}

    environ = os.environ if sources.environ is None else sources.environ
    for name in declared:
        key = f"TF_VAR_{name}"
        if key in environ:
            raw[name] = _Found(environ[key], f"environment variable {key}")

    files = _auto_loaded(sources.tfvars_dir) if sources.tfvars_dir is not None else []
    # Like Terraform, a tfvars file may set variables this config does not know
    # (the Terraform module's connection settings live there too); -var may not.
    undeclared: list[tuple[str, _Found]] = []

    def read_file(path: Path) -> None:
        for name, found in _read_tfvars(path).items():
            if name in declared:
                raw[name] = found
            else:
                undeclared.append((name, found))

    for path in files:
        read_file(path)
    for kind, item in sources.command_line():
        if kind == "var_file":
            read_file(Path(item))
            continue
        name, sep, text = str(item).partition("=")
        name = name.strip()
        if not sep or not name:
            raise VariableError(f"-var {excerpt(str(item))}: expected name=value")
        if name not in declared:
            listed = ", ".join(declared) or "none"
            shown = name if len(name) <= 80 and name.isprintable() else excerpt(name)
            raise VariableError(f"-var {shown}: no variable {excerpt(name)} is declared "
                                f"in {config.path.name} (declared: {listed})")
        raw[name] = _Found(text, f"-var {name}")

    values: dict[str, Value] = {}
    for name, variable in declared.items():
        if name in raw:
            given = raw[name]
            values[name] = _check(variable, _convert(variable, given.value, given.source),
                                  given.source)
        elif variable.default is not None:
            values[name] = variable.default
        else:
            raise VariableError(f"variable {name!r} has no value: give -var {name}=..., "
                                "a tfvars file, or a default in the config")

    warnings: list[str] = []
    if undeclared:
        module = _module_declarations(sources.tfvars_dir)
        known = frozenset(declared) | module
        # Once per occurrence: a file read twice (terraform.tfvars also given
        # as -var-file, under another spelling of its path) warns once.
        seen: set[tuple[str, int | None, str]] = set()
        for name, found in undeclared:
            where = os.path.realpath(found.path) if found.path is not None else found.source
            if name in module or (where, found.line, name) in seen:
                continue
            seen.add((where, found.line, name))
            warnings.append(_undeclared_warning(found, name, config, known))
    return ResolvedVariables(values, tuple(warnings))


def resolve_variables(config: Config, sources: VariableSources) -> dict[str, Value]:
    """Every declared variable's value; errors name the variable and where it came from."""
    return resolve_variables_with_warnings(config, sources).values
