"""Network building blocks shared by zoo models."""
