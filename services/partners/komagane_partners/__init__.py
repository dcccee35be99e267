"""Partner data sharing: agreements, consented pseudonymised feeds, provision records (APPI art. 29)."""
