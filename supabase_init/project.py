"""A project on disk: where its files are, its validated config, its variable sources.

Owns the layout (``supabase-init.hcl``, ``templates/`` with the object
templates, ``terraform/``) and
loading the config once. Never renders, never touches a database, never prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import Config, load_config
from .errors import ConfigError
from .variables import VariableSources

CONFIG_FILE = "supabase-init.hcl"
TEMPLATES_DIR = "templates"
TERRAFORM_DIR = "terraform"
TPL_FILE = "supabase-init.sql.tpl"


@dataclass(frozen=True)
class Project:
    """The files of one project and its config, read and validated once."""

    root: Path
    config: Config

    @classmethod
    def load(cls, root: Path, config: Path | None = None) -> Project:
        """Read and validate the project at ``root`` (config: ``root/supabase-init.hcl``)."""
        root = root.resolve()
        path = config if config is not None else root / CONFIG_FILE
        if not path.is_file():
            raise ConfigError("config file not found (run in the project directory or give "
                              "--project)", path=path)
        return cls(root=root, config=load_config(path))

    @property
    def config_path(self) -> Path:
        return self.config.path

    @property
    def templates_dir(self) -> Path:
        return self.root / TEMPLATES_DIR

    @property
    def terraform_dir(self) -> Path:
        return self.root / TERRAFORM_DIR

    @property
    def tpl_path(self) -> Path:
        """The committed Terraform template, ``terraform/supabase-init.sql.tpl``."""
        return self.terraform_dir / TPL_FILE

    def relative(self, path: Path) -> str:
        """``path`` relative to the project root when it is inside it (for messages)."""
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)

    def sources(self, var_files: Sequence[Path] = (), var_args: Sequence[str] = (),
                order: tuple[str, ...] = ()) -> VariableSources:
        """Variable sources as Terraform reads them for this project.

        ``var_files`` / ``var_args`` are the -var-file / -var options;
        ``order`` is "var" / "var_file" per option as given on the command
        line (a later option wins), see ``VariableSources``.
        """
        return VariableSources(var_files=tuple(var_files), vars=tuple(var_args),
                               tfvars_dir=self.terraform_dir, order=order)
