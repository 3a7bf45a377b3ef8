"""The image-to-image half of the product: the Gradio Colorize & translate app that app.py mounts
at /gradio (app), the pipeline it calls (pipeline), and the checks every upload passes first
(uploads)."""
