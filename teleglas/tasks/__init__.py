"""Thin Celery tasks: each unpacks its arguments and calls plain functions."""
