"""Deployment descriptions beyond one machine: the Helm chart and what generates its registry data."""
