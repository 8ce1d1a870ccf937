"""`python -m carebench` runs the command line."""

from carebench.cli import main

main()
