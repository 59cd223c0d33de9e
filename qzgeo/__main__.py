"""``python -m qzgeo``: the ``qzgeo`` command, where the console script is not on ``PATH``."""

from qzgeo.cli.main import main

main()
