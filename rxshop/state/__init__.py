"""Thin Reflex states: they turn browser events into service calls and results into vars."""
