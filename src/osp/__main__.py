"""``python -m osp`` = the ``osp`` command."""

from osp.apps.cli import main

main()
