"""The YAML layer of letter files: errors with their line, reading typed values out of composed nodes, and
writing the canonical form with python-frontmatter and `yaml.safe_dump`'s machinery.

Nothing here knows what a letter is, so other domains' parts of the file (backend/commitments/files.py) use it
too. The format is documented in docs/letter-format.md.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from frontmatter import Post
from frontmatter.default_handlers import YAMLHandler

from backend.text import describe, hidden_characters

DELIMITER = "---"
STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
NULL = "tag:yaml.org,2002:null"
WIDTH = 2**31 - 1  # never fold a line: one value, one line (or one literal block)


class LetterFileError(Exception):
    """A problem in a letter file, with the field and line it is on."""

    def __init__(self, message: str, *, field: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.line = line

    def __str__(self) -> str:
        return f"{self.line}: {self.field}: {self.message}"

    def located(self, filename: str) -> str:
        """`file:line: field: message`, as compilers write it."""
        return f"{filename}:{self.line}: {self.field}: {self.message}"


class LetterFileErrors(LetterFileError):
    """Every problem found in a file, in the order found; the exception's own message is the first."""

    def __init__(self, errors: list[LetterFileError]) -> None:
        super().__init__(errors[0].message, field=errors[0].field, line=errors[0].line)
        self.errors = errors

    def located(self, filename: str) -> str:
        return "\n".join(LetterFileError.located(e, filename) for e in self.errors)


# Reading -------------------------------------------------------------------------------------------------------

class Reader:
    """Reads typed values out of YAML nodes, turning every problem into a LetterFileError with its line."""

    def __init__(self, offset: int) -> None:
        self.offset = offset  # file line of the front matter's first line, minus one

    def line(self, node: yaml.Node) -> int:
        return node.start_mark.line + 1 + self.offset

    def fail(self, node: yaml.Node, where: str, message: str) -> LetterFileError:
        return LetterFileError(message, field=where, line=self.line(node))

    def mapping(self, node: yaml.Node, where: str, allowed: tuple[str, ...],
                errors: list[LetterFileError] | None = None) -> dict[str, tuple[yaml.Node, int]]:
        """The keys and values; an unknown or repeated key goes to `errors` when given (else it is raised)."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, where, "Expected keys and values here (a mapping).")
        found: dict[str, tuple[yaml.Node, int]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, where, "A key must be a plain word.")
            key = key_node.value
            name = f"{where}.{key}" if where else key
            problem = (f"Unknown key “{key}”. Known keys: {', '.join(allowed)}." if key not in allowed
                       else f"The key “{key}” appears twice." if key in found else "")
            if problem and errors is None:
                raise self.fail(key_node, name, problem)
            if problem and errors is not None:
                errors.append(self.fail(key_node, name, problem))
                continue
            found[key] = (value_node, self.line(key_node))
        return found

    def text(self, node: yaml.Node, where: str, *, max_length: int | None = None, required: bool = False) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, where, "Expected text here, not a list or mapping.")
        value = "" if node.tag == NULL and node.style is None else str(node.value)
        hidden = hidden_characters(value, multiline=True)
        if hidden:
            listed = ", ".join(describe(c) for c in hidden[:3])
            raise self.fail(node, where, f"This holds invisible or control characters ({listed}): remove them.")
        if required and not value.strip():
            raise self.fail(node, where, "This cannot be empty.")
        if max_length is not None and len(value) > max_length:
            raise self.fail(node, where, f"Too long: {max_length:,} characters at most.")
        return value

    def integer(self, node: yaml.Node, where: str, *, low: int, high: int) -> int:
        value = self.text(node, where, required=True)
        if node.tag != INT or getattr(node, "style", None) is not None:
            raise self.fail(node, where, "Expected a whole number.")
        try:
            number = int(value)
        except ValueError:
            raise self.fail(node, where, "Expected a whole number.") from None
        if not low <= number <= high:
            raise self.fail(node, where, f"Expected a number from {low} to {high}.")
        return number

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL and node.style is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, where, "Expected a list here (lines starting with “- ”).")
        return list(node.value)


class LetterHandler(YAMLHandler):
    """python-frontmatter's YAML handler, held to the letter format: the delimiter is exactly three dashes, the
    front matter is written by CanonicalDumper (given as `Dumper`), and the body is kept byte for byte."""

    FM_BOUNDARY = re.compile(r"^---[ \t]*$", re.MULTILINE)

    def export(self, metadata: Any, **kwargs: Any) -> str:
        kwargs.setdefault("Dumper", CanonicalDumper)
        return yaml.dump(metadata, allow_unicode=True, sort_keys=False, width=WIDTH,  # type: ignore[no-any-return]
                         default_flow_style=False, **kwargs)

    def format(self, post: Post, **kwargs: Any) -> str:
        # The library strips the whole text; a body's leading indentation (a code block) is the body's own.
        extra = "".join(f"{line}\n" for line in kwargs.pop("extra_lines", ()))
        front = self.export(post.metadata, **kwargs) if post.metadata else ""
        return f"{DELIMITER}\n{front}{extra}{DELIMITER}\n\n{post.content}"


def split(text: str) -> tuple[str, str, int]:
    """The front matter (from the file's second line), the body and the file line the body starts on."""
    handler = LetterHandler()
    if not handler.detect(text):
        raise LetterFileError("The file must start with a line of three dashes (---) and the YAML front matter.",
                              field="front matter", line=1)
    try:
        front, rest = handler.split(text)
    except ValueError:
        raise LetterFileError("The front matter is not closed: end it with a line of three dashes (---).",
                              field="front matter", line=1) from None
    # `front` starts with the end of the first delimiter's line, `rest` with the end of the second's.
    return front[1:], rest[1:], front.count("\n") + 2


# Writing -------------------------------------------------------------------------------------------------------

def _plain_ok(value: str) -> bool:
    """Whether a string can be written without quotes and read back as the same string by any YAML reader."""
    if not value or value != value.strip() or "\n" in value or value[0] in "'\"" or "\t" in value:
        return False
    try:
        return bool(yaml.safe_load(f"k: {value}\n") == {"k": value})
    except yaml.YAMLError:
        return False


def _block_ok(value: str) -> bool:
    """Whether a string of several lines reads best as a literal block (`|-`)."""
    return ("\n" in value and not value.startswith((" ", "\n")) and not value.endswith("\n")
            and all(ch == "\n" or ch.isprintable() for ch in value)
            and not any(line != line.rstrip() for line in value.split("\n")))


def string_style(value: str) -> str | None:
    """A string's canonical style: plain (None), a literal block or double-quoted; PyYAML falls back to
    double quotes itself when it cannot write the style asked for."""
    if _plain_ok(value):
        return None
    return "|" if _block_ok(value) else '"'


class CanonicalDumper(yaml.SafeDumper):
    """`yaml.safe_dump`'s dumper with lists indented under their key and strings in their canonical style."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(STR, value, style=string_style(value))


CanonicalDumper.add_representer(str, _represent_str)


def scalar(value: str, indent: int) -> str:
    """One string in its canonical form, as the value of a key whose value lines are indented by `indent`."""
    written = yaml.dump({"k": value}, Dumper=CanonicalDumper, allow_unicode=True, width=WIDTH).removesuffix("\n")
    first, *rest = written.removeprefix("k: ").split("\n")
    pad = " " * (indent - 2)  # the dumper indents a block by 2 under its key
    return "\n".join([first, *(pad + line if line else "" for line in rest)])


def dumps(metadata: dict[str, Any], body: str, *, dumper: type[CanonicalDumper] = CanonicalDumper,
          extra_lines: list[str] | None = None) -> str:
    """Front matter and body as one file, through python-frontmatter's handler; `extra_lines` are keys already
    written in the canonical form (backend/commitments/files.py writes its own), put at the end of the front
    matter."""
    post = Post(body)
    post.metadata = metadata
    return LetterHandler().format(post, Dumper=dumper, extra_lines=extra_lines or [])
