"""Profiles processor: folds every pillar's events into per-person role-and-belonging profiles."""
