"""Official files of the standards the social map speaks, vendored as package data."""
