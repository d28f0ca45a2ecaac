"""Everything that speaks CoinGlass: its wire formats, and the typed events they become."""
