"""Shared numerics and plumbing: Hermite polynomials, Gaussian expectations, PRNG, recording."""
