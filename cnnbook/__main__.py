"""Command line: ``python -m cnnbook sweep NOTEBOOK -p NAME VALUE [VALUE ...] ...``."""

import sys

COMMANDS = {"sweep": "run a chapter over a grid of parameter values with papermill"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        listed = "\n".join(f"  {name:8s} {what}" for name, what in COMMANDS.items())
        sys.exit(f"usage: python -m cnnbook COMMAND ...\n\ncommands:\n{listed}")
    from cnnbook import sweep

    sweep.main(argv[1:])


if __name__ == "__main__":
    main()
