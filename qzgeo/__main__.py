"""``python -m qzgeo``: the ``qzgeo`` command, where the console script is not on ``PATH``."""

from qzgeo.cli.entry import main

if __name__ == "__main__":  # importing the module (doctest, tooling) must not run the command
    main()
