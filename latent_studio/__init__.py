"""Latent Studio: train, explore and use GANs. The subpackages are layers, each importing only the
ones listed before it: runs (the run format), data, families (models and their networks), inference,
evaluation, training, app (the explorer and the Gradio tools). docs/architecture.md says why."""

from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent  # the checkout: its checkpoints/ ship the trained runs
SHIPPED = PROJECT / "checkpoints"
