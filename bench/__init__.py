"""Benchmarks (`make bench`) and chaos runs (`make chaos`): the product's own processes, measured."""
