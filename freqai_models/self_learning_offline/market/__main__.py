"""CLI: `python -m self_learning_offline.market --out DIR --pairs ...` (see `price_model`)."""

import sys

from self_learning_offline.market.price_model import main

if __name__ == "__main__":
    sys.exit(main())
