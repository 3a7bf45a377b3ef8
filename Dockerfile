# Hugging Face Docker Space (its README front matter: sdk docker, app_port 8501), or any Docker host.
# It runs README's own quick-start commands, as a non-root user, with the runtime requirements only.
# `python -m latent_studio space` assembles the folder this builds from (docs/deploy.md).

# The live sliders' browser runtime (onnxruntime-web, README: Sliders at frame rate), installed from
# the lockfile here, at build time, so node_modules is never uploaded; the app serves its files from
# its own origin, never from a CDN.
FROM node:20-slim AS browser-runtime
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user PATH=/home/user/.local/bin:$PATH PYTHONUNBUFFERED=1
# Public mode (latent_studio/app/mode.py; docs/public-mode.md), behind the Space's one proxy (its client address).
ENV LATENT_STUDIO_PUBLIC=1
ENV LATENT_STUDIO_TRUSTED_PROXIES=1
# Made by the user before WORKDIR (which would make it root's): the app writes Gradio's upload
# cache inside it (public mode keeps it in the working directory: docs/public-mode.md).
RUN mkdir -p /home/user/app/upload-cache
WORKDIR /home/user/app
COPY --chown=user requirements.txt .
# A Space has no GPU: PyTorch's CPU wheels, about 4 GB lighter than the default CUDA ones.
ENV PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu PIP_NO_CACHE_DIR=1
RUN pip install -r requirements.txt
COPY --chown=user . .
COPY --from=browser-runtime --chown=user /build/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs \
     /build/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.mjs \
     /build/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm node_modules/onnxruntime-web/dist/
EXPOSE 8501
CMD streamlit run app.py
