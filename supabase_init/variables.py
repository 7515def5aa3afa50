"""Terraform-time variable values, resolved with Terraform's precedence.

Lowest to highest: the config's defaults, ``TF_VAR_name`` environment
variables, ``terraform.tfvars``, ``*.auto.tfvars`` (alphabetical), then the
``-var`` and ``-var-file`` options in the order they were given. Values are
checked against the config's ``variable`` blocks (type and pattern), the same
checks the Terraform module's ``validation`` blocks make.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .config import Config, Variable, pattern_matches
from .errors import ConfigError, VariableError
from .hclfile import parse_hcl_file
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


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _convert(variable: Variable, raw: object, source: str) -> Value:
    """Convert like Terraform converts a value to the variable's type."""
    what = f"variable {variable.name!r} (from {source})"
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
                return int(raw)
            # Terraform numbers are arbitrary-precision decimals: a float
            # would lose digits (or overflow) that templatefile() keeps.
            return Decimal(raw)
    elif variable.type == "bool":
        if isinstance(raw, bool):
            return raw
        # As Terraform's tobool(): "1" and "0" too, nothing else.
        if raw in ("true", "false", "1", "0"):
            return raw in ("true", "1")
    raise VariableError(f"{what}: expected a {variable.type}, got {raw!r}")


def _check(variable: Variable, value: Value, source: str) -> Value:
    if variable.pattern is not None and not pattern_matches(variable.pattern, str(value)):
        raise VariableError(f"variable {variable.name!r} (from {source}): value {value!r} "
                            f"does not match {variable.pattern!r}")
    return value


def _read_tfvars(path: Path) -> dict[str, tuple[object, str]]:
    if path.name.endswith(".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as e:
            raise VariableError(f"{path}: file not found") from e
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise VariableError(f"{path}: not a valid tfvars JSON file: {e}") from e
        if not isinstance(data, dict):
            raise VariableError(f"{path}: a tfvars JSON file must hold an object")
        return {k: (v, str(path)) for k, v in data.items()}
    try:
        doc = parse_hcl_file(path)
    except ConfigError as e:
        raise VariableError(e.message) from e
    if doc.blocks:
        block = doc.blocks[0]
        raise VariableError(f"{path}:{block.line}: blocks are not allowed in a tfvars file")
    return {name: (a.value, f"{path}:{a.line}") for name, a in doc.attributes.items()}


def resolve_variables(config: Config, sources: VariableSources) -> dict[str, Value]:
    """Every declared variable's value; errors name the variable and where it came from."""
    declared = {v.name: v for v in config.variables}
    raw: dict[str, tuple[object, str]] = {}

    environ = os.environ if sources.environ is None else sources.environ
    for name in declared:
        key = f"TF_VAR_{name}"
        if key in environ:
            raw[name] = (environ[key], f"environment variable {key}")

    files: list[Path] = []
    if sources.tfvars_dir is not None:
        for name in ("terraform.tfvars", "terraform.tfvars.json"):
            if (sources.tfvars_dir / name).is_file():
                files.append(sources.tfvars_dir / name)
        files.extend(sorted(p for p in sources.tfvars_dir.glob("*.auto.tfvars*")
                            if p.name.endswith((".auto.tfvars", ".auto.tfvars.json"))))
    # Like Terraform, a tfvars file may set variables this config does not know
    # (the Terraform module's connection settings live there too); -var may not.
    def read_file(path: Path) -> None:
        for name, found in _read_tfvars(path).items():
            if name in declared:
                raw[name] = found

    for path in files:
        read_file(path)
    for kind, item in sources.command_line():
        if kind == "var_file":
            read_file(Path(item))
            continue
        name, sep, text = str(item).partition("=")
        name = name.strip()
        if not sep or not name:
            raise VariableError(f"-var {item!r}: expected name=value")
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise VariableError(f"-var {name}: no variable {name!r} is declared in "
                                f"{config.path.name} (declared: {known})")
        raw[name] = (text, f"-var {name}")

    values: dict[str, Value] = {}
    for name, variable in declared.items():
        if name in raw:
            given, source = raw[name]
            values[name] = _check(variable, _convert(variable, given, source), source)
        elif variable.default is not None:
            values[name] = variable.default
        else:
            raise VariableError(f"variable {name!r} has no value: give -var {name}=..., "
                                "a tfvars file, or a default in the config")
    return values

