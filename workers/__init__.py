"""Caviar workers: the process that runs trials, the objectives and the NumPy trainer."""
