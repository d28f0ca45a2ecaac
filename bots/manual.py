"""Entry point: `python bots/manual.py` runs the manual command bot (market data and alert settings)."""

import sys

from teleglas.manual.bot import main

if __name__ == "__main__":
    sys.exit(main())
