"""People service: the only place that knows who a person is (name, contact)."""
