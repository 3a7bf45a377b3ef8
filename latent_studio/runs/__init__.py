"""The run format: a run directory's files, its config.json, its model card. No model code: what a
run is, as the trainer writes it and every other layer reads it."""
