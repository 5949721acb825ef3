"""python -m bench NAME [options]: run one benchmark with the project's settings (see bench/__init__.py)."""

import importlib
import os
import sys

COMMANDS = {"review", "api", "reminders", "synthetic", "pages"}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        sys.exit(f"usage: python -m bench {{{','.join(sorted(COMMANDS))}}} [options]  (NAME --help: its options)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    command = importlib.import_module(f"bench.{argv[1]}").Command()
    command.run_from_argv([argv[0], *argv[1:]])


if __name__ == "__main__":
    main(["python -m bench", *sys.argv[1:]])
