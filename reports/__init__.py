"""Outputs for people and other systems: rating exports now, the monthly bulletin next."""
