"""Every Redis key (one registry, store.py) and the small modules that read and write them."""
