"""osp-node: the Python reference node of the OpenSound Protocol (OSP v0.1).

Layers (imports point downward only, checked by import-linter):
``apps`` → ``node`` → ``distribution`` → ``library`` → ``records`` → ``content``
→ ``identity`` → ``core``.
"""

__version__ = "0.1.0"
