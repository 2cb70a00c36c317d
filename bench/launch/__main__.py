"""Entry point: ``python -m bench.launch [--population N] [--repeats N] [--skip-boot]``."""
import sys

from bench.launch.command import main

sys.exit(main())
