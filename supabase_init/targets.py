"""Several databases in one plan / verify run: the targets, and running them in parallel.

A target is a name, a connection string and the variables that are its own
(``--targets FILE``, an HCL file of ``target "name" { ... }`` blocks, or
``--database-url`` given more than once). ``run_targets`` runs one job per
target on a bounded pool of threads, each job holding at most one connection,
and keeps going when one fails: a failure becomes that target's one-line
error, with any password of its connection string removed. Never prints,
never renders; what a job does is the caller's.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from .dsn import redact_dsn, scrub
from .errors import ConfigError, SupabaseInitError
from .excerpt import excerpt
from .files import describe_os_error
from .hclfile import Block, parse_hcl_file
from .variables import VariableSources

if TYPE_CHECKING:
    from .lint import LintResult
    from .render import Script
    from .transaction import Comparison

# Like Terraform's -parallelism: at most this many targets (connections) at once.
PARALLELISM = 4
TARGET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_ATTRIBUTES = ("database_url", "vars")

T = TypeVar("T")


@dataclass(frozen=True)
class TargetSpec:
    """One database of a multi-target run."""

    name: str
    dsn: str
    # "name=value" as -var gives them; they come after the command line's.
    vars: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        """The connection string with its password redacted."""
        return redact_dsn(self.dsn)

    def sources(self, common: VariableSources) -> VariableSources:
        """The command line's variable sources, then this target's variables (they win)."""
        if not self.vars:
            return common
        order = common.order + ("var",) * len(self.vars) if common.order else ()
        return dataclasses.replace(common, vars=common.vars + self.vars, order=order)


@dataclass(frozen=True)
class TargetRun(Generic[T]):
    """What one target's job gave: its result, or the one-line error it failed with."""

    spec: TargetSpec
    result: T | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class TargetPlan:
    """The result of planning one target: the script rendered for it and its plan."""

    script: Script
    plan: Comparison


@dataclass(frozen=True)
class TargetLint:
    """The result of linting one target: the script rendered for it and the lint."""

    script: Script
    lint: LintResult


def any_changed(runs: Sequence[TargetRun[TargetPlan]]) -> bool:
    """Whether any target that was planned has changes."""
    return any(run.result is not None and run.result.plan.changed for run in runs)


def any_failing(runs: Sequence[TargetRun[TargetLint]], fail_on: str) -> bool:
    """Whether any target that was linted has a finding at ``fail_on`` or above."""
    return any(run.result is not None and run.result.lint.fails(fail_on) for run in runs)


def url_targets(urls: Sequence[str]) -> tuple[TargetSpec, ...]:
    """Targets for ``--database-url`` given several times, named by their redacted URL."""
    return tuple(TargetSpec(redact_dsn(url), url) for url in urls)


def _value_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _target(block: Block, path: Path) -> TargetSpec:
    if len(block.labels) != 1 or not TARGET_NAME.fullmatch(block.labels[0]):
        raise ConfigError('a target block needs one name: target "name" { database_url = '
                          '"..." } (letters, digits, _ . -)', path=path, line=block.line)
    name = block.labels[0]
    what = f"target {name!r}"
    for attr in block.attributes.values():
        if attr.name not in _ATTRIBUTES:
            raise ConfigError(f"{what}: unknown attribute {excerpt(attr.name)} (allowed: "
                              f"{', '.join(_ATTRIBUTES)})", path=path, line=attr.line)
    for inner in block.blocks:
        raise ConfigError(f"{what}: unexpected block {inner.type!r}", path=path,
                          line=inner.line)
    url = block.attributes.get("database_url")
    if url is None or not isinstance(url.value, str) or not url.value:
        # The value is never quoted: it may hold a password.
        raise ConfigError(f"{what}: database_url must be a connection string in double "
                          "quotes", path=path, line=url.line if url else block.line)
    variables: list[str] = []
    given = block.attributes.get("vars")
    if given is not None:
        if not isinstance(given.value, dict):
            raise ConfigError(f"{what}: vars must be an object, e.g. vars = {{ schema = "
                              '"crm" }', path=path, line=given.line)
        for key, value in given.value.items():
            text = _value_text(value)
            if text is None:
                raise ConfigError(f"{what}: vars.{excerpt(str(key))} must be a string, a "
                                  "number or true / false", path=path, line=given.line)
            variables.append(f"{key}={text}")
    return TargetSpec(name, url.value, tuple(variables))


def load_targets(path: Path) -> tuple[TargetSpec, ...]:
    """The targets of a targets file (read as a file that may hold secrets: never cached,
    its text never quoted in an error)."""
    doc = parse_hcl_file(path, secret=True)
    for attr in doc.attributes.values():
        raise ConfigError(f"unexpected attribute {excerpt(attr.name)}; a targets file holds "
                          'target "name" { ... } blocks', path=path, line=attr.line)
    specs: list[TargetSpec] = []
    seen: dict[str, int] = {}
    for block in doc.blocks:
        if block.type != "target":
            raise ConfigError(f"unknown block type {block.type!r} (a targets file holds "
                              "target blocks)", path=path, line=block.line)
        spec = _target(block, path)
        if spec.name in seen:
            raise ConfigError(f"duplicate target {spec.name!r} (first declared on line "
                              f"{seen[spec.name]})", path=path, line=block.line)
        seen[spec.name] = block.line
        specs.append(spec)
    if not specs:
        raise ConfigError('no targets: add target "name" { database_url = "..." } blocks',
                          path=path)
    return tuple(specs)


def choose_targets(urls: Sequence[str], targets_file: Path | None) -> tuple[TargetSpec, ...]:
    """The targets of ``--targets FILE`` or of several ``--database-url``."""
    if targets_file is not None:
        if urls:
            raise SupabaseInitError("give either --targets or --database-url, not both")
        return load_targets(targets_file)
    return url_targets(urls)


def run_targets(specs: Sequence[TargetSpec], job: Callable[[TargetSpec], T], *,
                parallelism: int = PARALLELISM) -> list[TargetRun[T]]:
    """``job`` for every target, at most ``parallelism`` at once; results in target order.

    A target whose job raises a SupabaseInitError (or an OSError) fails on
    its own: its run carries the error's message, with the target's password
    scrubbed from it; the other targets go on.
    """
    if parallelism < 1:
        raise SupabaseInitError(f"--parallelism must be at least 1, got {parallelism}")

    def one(spec: TargetSpec) -> TargetRun[T]:
        try:
            return TargetRun(spec, result=job(spec))
        except SupabaseInitError as e:
            return TargetRun(spec, error=scrub(" ".join(e.message.split()), spec.dsn))
        except OSError as e:
            return TargetRun(spec, error=scrub(describe_os_error(e), spec.dsn))

    if len(specs) <= 1 or parallelism == 1:
        return [one(spec) for spec in specs]
    # Here, not at the top: every command reads PARALLELISM (an option's default).
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(parallelism, len(specs)),
                            thread_name_prefix="supabase-init-target") as pool:
        return list(pool.map(one, specs))
