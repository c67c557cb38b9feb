"""The ``osp`` command line."""

from osp.apps.cli.main import main

__all__ = ["main"]
