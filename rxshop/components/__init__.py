"""Reusable UI pieces; each imports the state it shows."""
