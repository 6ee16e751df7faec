"""Textual screens. Each renders the session's latest state and sends commands, nothing else."""
