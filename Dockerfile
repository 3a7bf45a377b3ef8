# Hugging Face Docker Space (README front matter: sdk docker, app_port 8501), or any Docker host.
# It runs README's own quick-start commands, as a non-root user.
FROM python:3.11-slim
RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user PATH=/home/user/.local/bin:$PATH PYTHONUNBUFFERED=1
# Public mode (explorer/mode.py): no server paths, no training from the page, capped requests.
ENV LATENT_STUDIO_PUBLIC=1
WORKDIR /home/user/app
COPY --chown=user requirements.txt .
RUN pip install -r requirements.txt
COPY --chown=user . .
EXPOSE 8501
CMD streamlit run app.py
