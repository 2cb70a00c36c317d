import sys

from bench.ebs.run import main

sys.exit(main())
