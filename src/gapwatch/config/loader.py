"""Load and validate `gapwatch.yaml`, reporting every problem with its YAML path and line."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gapwatch.config.schema import WorkspaceConfig
from gapwatch.config.validate import cross_check

CONFIG_FILE = "gapwatch.yaml"


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line else self.path
        return f"{where}: {self.message}"


class ConfigError(ValueError):
    """A configuration with one or more problems; ``problems`` lists all of them."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")

    def headline(self) -> str:
        """One line for a command's error: the file, the first problem's YAML path and line.

        Examples
        --------
        >>> ConfigError("ws/gapwatch.yaml", [Problem("lifecycle[0].silo", "unknown silo 'x'", 40)]).headline()
        "ws/gapwatch.yaml: lifecycle[0].silo (line 40): unknown silo 'x'"
        """
        if not self.problems:
            return f"{self.source}: invalid configuration"
        first = " ".join(str(self.problems[0]).split())  # a YAML parser's message spans lines
        more = len(self.problems) - 1
        tail = f" (+{more} more problem(s); `gapwatch check` lists them all)" if more else ""
        return f"{self.source}: {first}{tail}"


def format_path(loc: tuple[int | str, ...]) -> str:
    """('lifecycle', 2, 'moments', 0) -> 'lifecycle[2].moments[0]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top)"


def _line_index(text: str) -> dict[str, int]:
    """YAML path -> 1-based line, from the composed node tree (best effort)."""
    index: dict[str, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return index

    def walk(node: yaml.Node, loc: tuple[int | str, ...]) -> None:
        index[format_path(loc)] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*loc, str(key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*loc, i))

    if root is not None:
        walk(root, ())
    return index


def _pydantic_problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors():
        # Drop pydantic's internal tags (e.g. 'function-after[...]') from the path.
        loc = tuple(p for p in err["loc"] if isinstance(p, int) or not str(p).startswith(("function-", "[")))
        problems.append(Problem(format_path(loc), err["msg"].removeprefix("Value error, ")))
    return problems


def parse_config(text: str, source: str = CONFIG_FILE) -> WorkspaceConfig:
    """Validate YAML text; raise :class:`ConfigError` listing every problem."""
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(source, [Problem("(file)", f"not valid YAML: {exc}", line)]) from exc
    if not isinstance(raw, dict):
        raise ConfigError(source, [Problem("(top)", "the file must hold a mapping of sections")])
    lines = _line_index(text)
    problems: list[Problem] = []
    config = None
    origin: dict[str, list[int]] = {}  # per list section: current position -> position in the file
    for _ in range(20):
        try:
            config = WorkspaceConfig.model_validate(raw)
            break
        except ValidationError as exc:
            found = [_remap(p, origin) for p in _pydantic_problems(exc)]
            problems += [p for p in found if p not in problems]
            if not _drop_bad_items(raw, exc, origin):
                break
    if config is not None:
        problems += [_remap(Problem(path, msg), origin) for path, msg in cross_check(config)]
    if problems or config is None:
        raise ConfigError(source, [_with_line(p, lines) for p in problems])
    return config


def _drop_bad_items(raw: dict[str, Any], exc: ValidationError, origin: dict[str, list[int]]) -> bool:
    """Remove the list items / named entries that failed, so the rest can still be cross-checked.

    Reporting every problem at once means checking references (a stage's silo, an
    expectation's moment) even when some other entry has a type error.
    """
    doomed: dict[str, set[int | str]] = {}
    for err in exc.errors():
        loc = err["loc"]
        if len(loc) >= 2 and isinstance(raw.get(str(loc[0])), list | dict):
            doomed.setdefault(str(loc[0]), set()).add(loc[1])
    for section, keys in doomed.items():
        container = raw[section]
        if isinstance(container, list):
            positions = origin.setdefault(section, list(range(len(container))))
            kept = [i for i in range(len(container)) if i not in keys]
            raw[section] = [container[i] for i in kept]
            origin[section] = [positions[i] for i in kept]
        else:
            raw[section] = {k: v for k, v in container.items() if k not in keys}
    return bool(doomed)


def _remap(problem: Problem, origin: dict[str, list[int]]) -> Problem:
    """Rewrite 'section[i]' to the item's position in the file after items were dropped."""
    head, bracket, rest = problem.path.partition("[")
    if not bracket or head not in origin:
        return problem
    index, _, tail = rest.partition("]")
    if not index.isdigit() or int(index) >= len(origin[head]):
        return problem
    return Problem(f"{head}[{origin[head][int(index)]}]{tail}", problem.message, problem.line)


def _with_line(problem: Problem, lines: dict[str, int]) -> Problem:
    path = problem.path
    while path:
        if path in lines:
            return Problem(problem.path, problem.message, lines[path])
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return problem


def load_config(path: str | Path) -> WorkspaceConfig:
    """Load a workspace's config: a folder (its gapwatch.yaml) or the YAML file itself."""
    file = Path(path)
    if file.is_dir():
        file = file / CONFIG_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(file), [Problem("(file)", f"cannot read: {exc.strerror or exc}")]) from exc
    return parse_config(text, str(file))


def default_config_text() -> str:
    """The default template (the Integrated Customer Lifecycle's four phases as silos)."""
    return resources.files("gapwatch.config").joinpath("default.yaml").read_text(encoding="utf-8")


def default_config() -> WorkspaceConfig:
    return parse_config(default_config_text(), "default.yaml")
