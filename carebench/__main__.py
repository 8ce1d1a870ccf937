"""`python -m carebench` runs the command line."""

import sys

try:
    # Importing the CLI loads pandas, DuckDB and numba (about a second): Ctrl-C then
    # must not print a traceback either. Nothing has touched a store yet.
    from carebench.cli import main
except KeyboardInterrupt:
    print("Interrupted. Nothing was done; the store is unchanged.", file=sys.stderr)
    sys.exit(130)

main()
