"""Telephone audio: 20 ms slin frames, G.711, resampling, paced playout."""
