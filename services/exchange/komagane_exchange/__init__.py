"""Exchange service (交流・居場所): where belonging happens — hubs, sessions, attendance, groups."""
