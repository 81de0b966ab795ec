"""Names a package exports, loaded on first use (PEP 562), and a module imported on first use.

A stage package lists each public name with the private module that defines it; importing the
package imports none of them, so a command loads only the stages it runs (``tabwright
monitor`` starts without the web server, the training code or scikit-learn's models).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable


def exports(package: str, homes: dict[str, str]
            ) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package`` (its ``__name__``).

    ``homes`` maps each public name to the submodule that defines it (``"_runner"``); a name
    equal to its home is the submodule itself (``"figures": "figures"``). A name is imported
    on first access and then kept in the package, so later lookups cost nothing.

    Examples
    --------
    >>> __all__, __getattr__, __dir__ = exports(__name__, {"train": "_runner"})  # doctest: +SKIP
    """

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{homes[name]}")
        value = module if name == homes[name] else getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(homes))

    return sorted(homes), __getattr__, __dir__


class LazyModule:
    """A module imported when one of its attributes is first used (``LazyModule("sklearn.metrics")``)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)
