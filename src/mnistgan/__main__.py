"""`python -m mnistgan` runs the CLI."""

import sys

from mnistgan.cli import main

sys.exit(main())
