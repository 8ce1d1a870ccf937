"""`python -m carebench` and the `carebench` script run the command line."""

import sys


def run() -> None:
    """Load the command line and run it; Ctrl-C while it loads is no traceback either."""
    try:
        # Importing the CLI loads pandas, DuckDB and numba (about a second): Ctrl-C then
        # must not print a traceback. Nothing has touched a store yet.
        from carebench.cli import main
    except KeyboardInterrupt:
        print("Interrupted. Nothing was done; the store is unchanged.", file=sys.stderr)
        sys.exit(130)
    main()


if __name__ == "__main__":
    run()
