"""python -m shapes: see ``shapes.cli``."""
import os
import sys

from shapes.cli import main

if __name__ == '__main__':
    try:
        sys.exit(main())
    except BrokenPipeError:  # piped into head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
