"""CoinGlass: the WebSocket connection and protocol, the REST v4 client and its records."""
