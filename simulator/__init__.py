"""Synthetic raw-zone generator (`riskctl generate`): see `simulator.generator.generate`."""

from simulator.generator import generate

__all__ = ["generate"]
