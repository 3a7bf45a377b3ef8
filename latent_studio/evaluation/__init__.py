"""Measures of a trained run: sample quality, image-to-image quality, colorization, and the judges'
verdicts, written into the run's config.json."""
