"""Benchmarks behind `callticket bench`."""
