"""TELEGLAS: real-time crypto-derivatives alerts for Telegram. `celery -A teleglas` finds the app here."""

from teleglas.celery import app

__all__ = ["app"]
