"""Deploying: stack plan, change-set deploys, preflight checks, destroy."""
