"""``python -m secaudit``."""

import sys

from secaudit.cli import main

sys.exit(main())
