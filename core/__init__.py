"""The shared core: settings, operator errors, the table registry, Delta I/O and the Spark session.

Every other package may import it; it imports none of them (docs/DESIGN.md).
"""
