"""Images in: datasets, colour spaces, augmentation, image measures and untrusted uploads. Plain
tensors and files; no networks."""
