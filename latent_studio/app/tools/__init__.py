"""Developer tools, not part of the served product: benchmarks, the load test, screenshots, and a
helper that starts the app on a free local port. Run each with `python -m latent_studio.app.tools.<name>`."""
