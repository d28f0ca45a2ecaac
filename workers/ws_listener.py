"""Entry point: `python workers/ws_listener.py` runs the CoinGlass WebSocket listener."""

import sys

from teleglas.source.listener.main import main

if __name__ == "__main__":
    sys.exit(main())
