"""`DocumentError`: what is wrong with one document, where (file and JSON pointer)."""

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

_Node = TypeVar("_Node")
_Compiled = TypeVar("_Compiled")


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) from its reference tokens: `~` and `/` escaped."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def join(base: str, *parts: str | int) -> str:
    """The pointer `base` extended by more reference tokens."""
    return base + pointer(*parts)


class DocumentError(ValueError):
    """One document cannot be served: the file, the JSON pointer inside it, what is wrong.

    `str()` reads `file#/json/pointer: message` (`file: message` for the whole file).
    """

    def __init__(self, file: Path | str, location: str, message: str):
        self.file = str(file)
        self.pointer = location
        self.message = message
        where = f"{self.file}#{location}" if location else self.file
        super().__init__(f"{where}: {message}")

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "pointer": self.pointer, "message": self.message}


class DocumentErrors(DocumentError):
    """Several documents cannot be served: the first as a `DocumentError`, `str()` lists each
    on its own line (so one bad file never hides another)."""

    def __init__(self, problems: tuple[DocumentError, ...]):
        first = problems[0]
        super().__init__(first.file, first.pointer, first.message)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


class NodeError(ValueError):
    """A problem inside the node being compiled, `where` it is below that node (reference
    tokens). Each enclosing level prepends its key (`within`), so the loader can name the JSON
    pointer of the exact node at fault."""

    def __init__(self, problem: str, where: tuple[str | int, ...] = ()):
        self.problem = problem
        self.where = where
        super().__init__(problem)

    def within(self, *tokens: str | int) -> "NodeError":
        """The same problem, seen from `tokens` further up."""
        return NodeError(self.problem, (*tokens, *self.where))


def placed(compile_one: Callable[[_Node], _Compiled], node: _Node, *at: str | int) -> _Compiled:
    """`compile_one(node)`; a `NodeError` (or `ValueError`) from it placed under the tokens `at`."""
    try:
        return compile_one(node)
    except NodeError as exc:
        raise exc.within(*at) from None
    except ValueError as exc:
        raise NodeError(str(exc), at) from None
