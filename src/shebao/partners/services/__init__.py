"""Writes of the partners app: the partner registry (`registry`), identity services
(`identity`), the change feed and its webhook (`changes`), the rate limit (`ratelimit`)."""
