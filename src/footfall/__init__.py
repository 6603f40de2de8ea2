"""Footfall: self-hosted, privacy-first product analytics and marketing attribution."""

__version__ = "0.1.0"
