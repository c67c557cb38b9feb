"""Applications: the HTTP faces (peer and control listeners) and the CLI."""
