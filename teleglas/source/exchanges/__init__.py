"""Thin clients of the exchanges' own public streams (Binance USDⓈ-M, Bybit v5, OKX v5): one module per venue
with its URL, subscribe messages, heartbeat and frame parser, run on the same connection code as CoinGlass."""
