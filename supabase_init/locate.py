"""Where an object of the schema comes from: the template file and line, or the config's.

The build renders each object of the config from its own template
(``templates/<kind>/<name>.sql.j2``) and each policy, grant and lint block
from ``supabase-init.hcl``, so an object named in a finding can be traced
back: a table, view or function to the line of its template that names it,
a column, index or constraint to the line of its table's template that
names it, a policy to its ``policy`` block, a grant to the ``grant`` block
that gives it. An object the config does not list (SQL written straight into
a template) is found by its name in the templates. Reads files only; never
renders, never touches a database.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from .project import Project

# The template directory of each object kind of the config.
_KIND_DIRS = {"table": "tables", "view": "views", "function": "functions",
              "sequence": "sequences"}


_QUOTED = re.compile(r"([\"'])([^\"'\n]+)\1")
_WORD = re.compile(r"[A-Za-z_][\w$]*")
# Jinja's tags; the text between them is what a template writes as it stands.
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
# A macro's body writes wherever it is called: its lines say nothing of where.
_MACRO = re.compile(r"\{%-?\s*macro\b.*?\{%-?\s*endmacro\s*-?%\}", re.DOTALL)
_IN_TAG = "\x01"  # marks a line that lies inside a tag (it writes nothing as it stands)
# A template line is matched to a line of output only when it writes at least
# this many characters as they stand: ");" or "END;" could be anyone's.
_MIN_LITERAL = 8
_CREATING = {"table": r"(?:UNLOGGED\s+)?TABLE", "view": "VIEW", "function": "FUNCTION"}
# The object a generated statement creates: CREATE [OR REPLACE] TABLE | VIEW | FUNCTION.
_CREATES = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:UNLOGGED\s+)?(TABLE|VIEW|FUNCTION)\s+"
                      r"(?:IF\s+NOT\s+EXISTS\s+)?(?:\"[^\"]*\"\.|\w+\.)?\"?(\w+)",
                      re.IGNORECASE)


@dataclass(frozen=True)
class Location:
    """A file relative to the project root, and a 1-based line."""

    path: str
    line: int


class SourceMap:
    """Locations of a project's objects, read from its templates and config."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.config = project.config
        self._read: dict[Path, tuple[str, ...]] = {}
        self._indexed: dict[Path, tuple[dict[str, int], dict[str, int]]] = {}

    @functools.cached_property
    def _templates(self) -> list[Path]:
        root = self.project.templates_dir
        if not root.is_dir():
            return []
        return sorted(root.rglob("*.j2"))

    def _lines(self, path: Path) -> tuple[str, ...]:
        if path not in self._read:
            try:
                self._read[path] = tuple(path.read_text(encoding="utf-8").splitlines())
            except (OSError, UnicodeDecodeError):
                self._read[path] = ()
        return self._read[path]

    def _names(self, path: Path) -> tuple[dict[str, int], dict[str, int]]:
        """The first line of each quoted name and of each word in ``path``."""
        if path not in self._indexed:
            quoted: dict[str, int] = {}
            words: dict[str, int] = {}
            for number, text in enumerate(self._lines(path), start=1):
                for _, name in _QUOTED.findall(text):
                    quoted.setdefault(name, number)
                for word in _WORD.findall(text):
                    words.setdefault(word, number)
            self._indexed[path] = (quoted, words)
        return self._indexed[path]

    def _relative(self, path: Path) -> str:
        try:  # the paths here are built from the (resolved) root: no need to resolve
            return str(path.relative_to(self.project.root))
        except ValueError:
            return self.project.relative(path)

    def _own_template(self, kind: str, name: str) -> Path | None:
        folder = _KIND_DIRS.get(kind)
        if folder is None:
            return None
        path = self.project.templates_dir / folder / f"{name}.sql.j2"
        return path if path.is_file() else None

    def _line_naming(self, path: Path, name: str) -> int | None:
        """The first line of ``path`` that names ``name`` quoted, else as a word."""
        quoted, words = self._names(path)
        return quoted.get(name) or words.get(name)

    def _search(self, name: str, own: Path | None, creating: str | None = None
                ) -> Location | None:
        """The first line naming ``name``: in ``own`` (quoted, then as a word), else in any
        template (a ``CREATE <creating>`` of it, then quoted, then as a word)."""
        if own is not None:
            return Location(self._relative(own), self._line_naming(own, name) or 1)
        if creating:
            word = re.escape(name)
            create = re.compile(
                rf"CREATE\s+(?:OR\s+REPLACE\s+)?{creating}\b.*?(?<![\w$]){word}(?![\w$])",
                re.IGNORECASE)
            for path in self._templates:
                for number, text in enumerate(self._lines(path), start=1):
                    if create.search(text):
                        return Location(self._relative(path), number)
        for index in (0, 1):
            for path in self._templates:
                line = self._names(path)[index].get(name)
                if line is not None:
                    return Location(self._relative(path), line)
        return None

    def _config_line(self, line: int) -> Location:
        return Location(self._relative(self.config.path), line)

    def _objects_line(self) -> Location:
        return self._config_line(self.config.objects.line_of("tables") or 1)

    def table(self, name: str) -> Location:
        """The template that creates table ``name``."""
        found = self._search(name, self._own_template("table", name), r"(?:UNLOGGED\s+)?TABLE")
        return found or self._objects_line()

    def locate(self, kind: str, name: str, table: str | None = None) -> Location:
        """Where object ``kind name`` comes from; ``table``: the table it belongs to."""
        if kind in ("view", "function", "sequence"):
            base = name.split("(", 1)[0]
            creating = {"view": r"VIEW", "function": r"FUNCTION",
                        "sequence": r"SEQUENCE"}[kind]
            found = self._search(base, self._own_template(kind, base), creating)
            return found or self._objects_line()
        if kind == "table":
            return self.table(name)
        if kind == "policy":
            table_name, _, policy = name.partition(".")
            for p in self.config.policies:
                if (p.table, p.name) == (table_name, policy):
                    return self._config_line(p.line)
            found = self._search(policy, None, r"POLICY")
            return found or self.table(table_name)
        if kind in ("column", "constraint", "index"):
            member = name.rpartition(".")[2] if kind != "index" else name
            table_name = table or name.partition(".")[0]
            own = self._own_template("table", table_name)
            if own is not None:
                line = self._line_naming(own, member)
                if line is not None:
                    return Location(self._relative(own), line)
            else:
                found = self._search(member, None, r"(?:UNIQUE\s+)?INDEX"
                                     if kind == "index" else None)
                if found is not None:
                    return found
            return self.table(table_name)
        return self._objects_line()

    @functools.cached_property
    def _line_patterns(self) -> list[tuple[Path, int, re.Pattern[str]]]:
        """Each template line that writes text as it stands, as a pattern of the
        output line it writes (whatever a tag on it writes matches anything)."""
        def skip(m: re.Match[str]) -> str:
            return f"\n{_IN_TAG}" * m.group(0).count("\n")

        patterns = []
        for path in self._templates:
            text = _MACRO.sub(skip, "\n".join(self._lines(path)))
            marked = _TAG.sub(lambda m: "\x00" + skip(m), text)
            for number, line in enumerate(marked.split("\n"), start=1):
                parts = line.strip().split("\x00")
                if _IN_TAG in line or sum(len(p.strip()) for p in parts) < _MIN_LITERAL:
                    continue
                # What a tag writes inline is a name or a value: no spaces.
                patterns.append((path, number,
                                 re.compile(r"\S*?".join(re.escape(p) for p in parts))))
        return patterns

    def written_line(self, text: str) -> Location | None:
        """The template line that wrote output line ``text``, when one template holds it
        (in one or more places: the first is given); None when none or several do."""
        text = text.strip()
        found = [(path, number) for path, number, pattern in self._line_patterns
                 if pattern.fullmatch(text)]
        if not found or len({path for path, _ in found}) > 1:
            return None
        return Location(self._relative(found[0][0]), found[0][1])

    def statement(self, lines: list[str], first: int, at: int) -> Location | None:
        """Where the statement whose first line is ``first`` (1-based, in ``lines``)
        comes from, ``at`` being the line of it a message is about: the template line
        that wrote that line, else the one that wrote the statement's first line, else
        the template of the table, view or function it creates."""
        for number in (at, first):
            if 1 <= number <= len(lines):
                found = self.written_line(lines[number - 1])
                if found is not None:
                    return found
        head = "\n".join(lines[first - 1:first + 2]) if 1 <= first <= len(lines) else ""
        created = _CREATES.search(head)
        if created is None:
            return None
        kind, name = created.group(1).lower(), created.group(2)
        column = _WORD.match(lines[at - 1].strip()) if kind == "table" and at != first else None
        if column is not None:
            # A column of a table a macro writes: the template line naming the column.
            return self.locate("column", f"{name}.{column.group(0)}", table=name)
        return self._search(name, self._own_template(kind, name), _CREATING[kind])

    def grant(self, role: str, kind: str, name: str) -> Location | None:
        """The ``grant`` block that gives ``role`` a privilege on object ``kind name``."""
        plural = _KIND_DIRS.get(kind)
        for g in self.config.grants:
            if g.kind == plural and role in g.roles and name in g.objects:
                return self._config_line(g.line)
        return None

