"""Users, roles, sessions, the second factor and API tokens."""
