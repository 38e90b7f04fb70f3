"""``python -m productiv_pandas``: the same as the ``productiv-pandas`` console script."""

import sys

from .cli import main

sys.exit(main())
