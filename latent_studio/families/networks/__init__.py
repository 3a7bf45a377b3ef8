"""Networks: image generators and encoders (discriminators, critics, Q, VAE encoders), U-Nets."""
