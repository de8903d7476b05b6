"""Packaging: deterministic zips, content-addressed uploads, SSM parameters, the manifest."""
