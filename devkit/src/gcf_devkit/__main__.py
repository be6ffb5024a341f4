"""`python -m gcf_devkit`: the `gcf` command."""

import sys

from gcf_devkit.cli import main

sys.exit(main())
