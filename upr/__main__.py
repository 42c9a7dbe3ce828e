"""`python -m upr` runs the command line, like the `upr` script."""

from upr.cli import main

main()
