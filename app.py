"""Latent Studio in the browser, one process and one port: `streamlit run app.py` finds `app`
(Streamlit's ASGI app) and serves the explorer page at / and the Gradio colorize/translate app at
/gradio, which the explorer's Colorize & translate tab embeds, and the live sliders' browser runtime
and generator exports at /ort and /onnx (latent_studio.app.client_render). Gradio's lifespan (its queue)
runs inside Streamlit's: without it every Gradio request would hang."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home, online or offline

from latent_studio.app import mode  # noqa: E402
from latent_studio.app.public_answers import use_upload_folder  # noqa: E402

if mode.public():  # before Gradio is imported: its upload folder inside the working directory, named relatively
    use_upload_folder()

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.routing import Mount  # noqa: E402
from streamlit import config  # noqa: E402

from latent_studio.app import client_render  # noqa: E402
from latent_studio.app.clients import trusted_proxies  # noqa: E402
from latent_studio.app.img2img import app as gradio_app  # noqa: E402
from latent_studio.app.memory import MemoryCap  # noqa: E402
from latent_studio.app.request_limits import HELD_UPLOADS, HeldUploads, Sessions  # noqa: E402
from latent_studio.data.uploads import UploadLimits  # noqa: E402

trusted_proxies()  # a mistyped LATENT_STUDIO_TRUSTED_PROXIES stops the server here, not at the first request
if mode.public():  # a visitor sees that something failed, never a traceback or a server path
    config.set_option("client.showErrorDetails", "none")
memory = MemoryCap.from_env() if mode.public() else None  # past it, no new page, upload or request (latent_studio.app.memory)
gradio_asgi, gradio_lifespan = gradio_app.mount(gradio_app.build(), memory=memory)
app = st.App("latent_studio/app/page.py", routes=[*client_render.routes(), Mount("/gradio", app=gradio_asgi)], lifespan=gradio_lifespan,
             middleware=[*([Middleware(Sessions, memory=memory)] if mode.public() else []),  # a laptop's one user may open many pages
                         Middleware(HeldUploads, cap=HELD_UPLOADS, per_file=UploadLimits.max_bytes, memory=memory)])
