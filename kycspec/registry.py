"""A tiny generic registry: checks, reporters, and every kind of spec extension (STYLE 19)."""

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Named items; registering a name twice is an error."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def decorator(self, name: str | None = None) -> Callable[[T], T]:
        """`@REGISTRY.decorator()` registers a function under its `__name__`."""

        def register(item: T) -> T:
            key = name or getattr(item, "__name__", None)
            if not key:
                raise ValueError(f"a {self.kind} needs a name")
            return self.register(key, item)

        return register

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self._items)
            raise KeyError(f"no {self.kind} named {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        return list(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())
