"""`python -m carebench` and the `carebench` script run the command line."""

import os
import sys


def run() -> None:
    """Load the command line and run it; Ctrl-C while it loads is no traceback either."""
    try:
        # Importing the CLI loads pandas, DuckDB and numba (about a second): Ctrl-C then
        # must not print a traceback. Nothing has touched a store yet.
        from carebench.cli import main
    except KeyboardInterrupt:
        print("Interrupted. Nothing was done; the store is unchanged.", file=sys.stderr)
        sys.stderr.flush()
        # An interrupt that passed through C code run by a library's import marks the
        # interpreter, which then ends itself by SIGINT (status -2) even after
        # sys.exit(130). Nothing is open yet, so end here, with the status we promise.
        os._exit(130)
    main()


if __name__ == "__main__":
    run()
