"""Reads of the cards app, one module per part of the chain (see `cards.models`)."""
