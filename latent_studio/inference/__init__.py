"""Using a trained run: latent math, image-to-image pipelines, inversion of an image into the latent
space, and export for the browser. No UI imports: the app calls these."""
