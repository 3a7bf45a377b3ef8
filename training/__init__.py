"""Everything that makes checkpoints: datasets, the model zoo, one trainer, run directories."""
