"""``python -m bench.s3``: see bench.s3.command."""
import sys

from bench.s3.command import main

sys.exit(main())
