"""One module per CLI command; each exposes ``run(cfg) -> result`` and parses no argv."""
