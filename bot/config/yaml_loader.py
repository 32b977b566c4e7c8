"""Reading the file's YAML under bounds (size, nesting, aliases, duplicate keys); syntax errors explained.

A real configuration is a few hundred bytes; these bounds refuse hostile documents (alias bombs,
deep nesting) long before they cost memory or time.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.error import MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError
from yaml.scanner import ScannerError

from bot.config.problems import FILE, ConfigError, ConfigProblem, show

MAX_CONFIG_BYTES = 64 * 1024
MAX_NESTING = 32
MAX_VALUES = 10_000  # scalars, lists and mappings, counted as if every alias were a copy


class _TooComplex(MarkedYAMLError):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what no configuration needs and a hostile file would use."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nesting = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # The composer recurses once per level; bound it before Python's stack does.
        if self._nesting >= MAX_NESTING:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise _TooComplex(None, None, f"nested more than {MAX_NESTING} levels deep", mark)
        self._nesting += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._nesting -= 1

    def construct_document(self, node: Node) -> Any:
        _check_document(node)
        return super().construct_document(node)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # Some scalars fail in Python rather than in YAML (2024-02-30, !!int abc, 5000 digits).
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as error:
            raise ConstructorError(None, None, f"cannot read this value: {error}", node.start_mark) from None


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_document(root: Node) -> None:
    """Refuse recursive aliases, alias bombs and duplicate keys before anything is built.

    Sizes count every alias as a full copy, which is what a consumer walking the data pays.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[id(node)] > MAX_VALUES:
                raise _TooComplex(
                    None, None, f"more than {MAX_VALUES:,} values once aliases are expanded", node.start_mark
                )
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise _TooComplex(None, None, "an alias refers to a value that contains it", node.start_mark)
        open_nodes.add(id(node))
        if isinstance(node, MappingNode):
            _check_duplicate_keys(node)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _check_duplicate_keys(node: MappingNode) -> None:
    # PyYAML keeps the last of two equal keys silently; a maintainer would not know which counts.
    seen: dict[tuple[str, str], Node] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        first = seen.setdefault((key.tag, key.value), key)
        if first is not key:
            raise _TooComplex(
                None,
                None,
                f"duplicate key {show(key.value)} (first on line {first.start_mark.line + 1})",
                key.start_mark,
            )


_UNQUOTED_OPERATOR = re.compile(r":\s*>")


def _yaml_problem(error: yaml.YAMLError, text: str) -> ConfigProblem:
    if isinstance(error, ReaderError):
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        character = error.character if isinstance(error.character, int) else ord(error.character)
        return ConfigProblem(
            f"{FILE} line {line}, column {column}",
            f"character U+{character:04X} is not allowed in a YAML file",
        )
    if not isinstance(error, MarkedYAMLError):
        return ConfigProblem(FILE, str(error))
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "invalid YAML"
    if error.context and error.problem and error.context_mark:
        where = f"line {error.context_mark.line + 1}, column {error.context_mark.column + 1}"
        message += f" ({error.context} that starts at {where})"
    if mark is None:
        return ConfigProblem(FILE, message)
    lines = text.splitlines()
    source_line = lines[mark.line] if mark.line < len(lines) else ""
    if isinstance(error, ScannerError) and _UNQUOTED_OPERATOR.search(source_line):
        message += "; quote a value that starts with '>', e.g. gate: \">90%\""
    elif isinstance(error, ScannerError) and "'\\t'" in message:  # a tab, as PyYAML quotes it
        message += "; indent with spaces, not tabs"
    elif message.startswith("expected <block end>"):
        message += "; check this line's indentation"
    return ConfigProblem(f"{FILE} line {mark.line + 1}, column {mark.column + 1}", message)


def _decode(content: str | bytes) -> str:
    """The file as text, within the size limit; a ConfigError says why not."""
    raw = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    if len(raw) > MAX_CONFIG_BYTES:
        problem = f"the file is {len(raw):,} bytes; the limit is {MAX_CONFIG_BYTES:,} bytes"
        raise ConfigError([ConfigProblem(FILE, problem)])
    if isinstance(content, str):
        return content
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        problem = f"byte 0x{content[error.start]:02x} is not UTF-8; save the file as UTF-8"
        raise ConfigError([ConfigProblem(f"{FILE} line {line}", problem)]) from None


def load_yaml(content: str | bytes) -> object:
    text = _decode(content)
    try:
        loader = _BoundedLoader(text)  # the reader refuses control characters right here
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise ConfigError([_yaml_problem(error, text)]) from None
