"""``LazyModule``: a module imported at its first attribute access, not at the importer's.

For heavy optional engines on rarely taken paths (``scipy.sparse`` for the recommendation
model): every ``osp`` command imports the node, and most never fit a model.  Thread-safe
(``importlib.import_module`` holds the import lock).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["LazyModule"]


class LazyModule:
    """Stands for the module ``name`` (dotted); imports it when an attribute is first read.
    ``ImportError`` then, as the import would have raised.  Type-check against the real
    module: ``if TYPE_CHECKING: import x as m`` / ``else: m = LazyModule("x")``."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # copy, pickle, inspection: not a reason to import
            raise AttributeError(attr)
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{'' if self._module is None else ' (imported)'}>"
