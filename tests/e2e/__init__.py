"""End-to-end tests: the job on the real broker and real tables, against the reference model."""
