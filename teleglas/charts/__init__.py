"""Pictures TELEGLAS sends to Telegram: pure rendering of plain series to PNG (matplotlib, Agg)."""
