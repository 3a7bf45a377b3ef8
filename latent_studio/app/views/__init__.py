"""The explorer's views. Each model view is a module with TITLE, available(run) and render(run);
latent_studio/app/page.py shows the ones that apply to the open model as tabs. Views are thin: they lay out
widgets and hand the work to plain functions in the layers below."""
