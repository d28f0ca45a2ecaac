"""Entry point: `python workers/ws_listener.py` runs the CoinGlass WebSocket listener."""
import sys

from teleglas.listener import main

if __name__ == "__main__":
    sys.exit(main())
