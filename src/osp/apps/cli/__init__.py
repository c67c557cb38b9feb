"""The ``osp`` command line (``main``: the console-script entry point).

Loading the commands takes a second or more on a busy machine (they pull in the node and
its HTTP faces); a Ctrl-C meanwhile ends the process as it does in a command: "interrupted"
on stderr, exit status 130, no traceback.
"""

import sys

try:
    from osp.apps.cli.main import main
except KeyboardInterrupt:  # Ctrl-C while the commands load: before any handler of theirs exists
    sys.stderr.write("interrupted\n")
    raise SystemExit(130) from None

__all__ = ["main"]
