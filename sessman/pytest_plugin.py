"""Placeholder until sessman.testing lands."""
