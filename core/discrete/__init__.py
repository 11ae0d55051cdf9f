"""Discrete OT solved exactly: assignment (Hungarian, auction, greedy) and 1D OT by sorting."""
