"""`python -m latent_studio ...`: the command line (latent_studio.cli)."""

from latent_studio.cli import run

run()
