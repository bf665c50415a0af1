# The bot with this package: freqtrade 2026.9 (FreqAI) and TensorFlow 2.21 (CPU) installed
# from PyPI on the official Python image, laid out like freqtrade's own images (user ftuser,
# /freqtrade, FreqUI, `freqtrade` as entrypoint). Not FROM freqtradeorg/freqtrade: its images
# moved to Python 3.14 in 2026 (python:3.14.x-slim-trixie), for which TensorFlow 2.21 has no
# wheel. 3.13 is the newest Python TensorFlow 2.21 ships for, on x86_64 (tensorflow-cpu) and
# aarch64 (tensorflow): `python scripts/check_deps.py` resolves this image's dependency set
# for both.
ARG PYTHON_VERSION=3.13
FROM python:${PYTHON_VERSION}-slim-trixie

ENV LANG=C.UTF-8 LC_ALL=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONFAULTHANDLER=1 \
    PATH=/home/ftuser/.local/bin:$PATH FT_APP_ENV=docker TF_CPP_MIN_LOG_LEVEL=2

RUN apt-get update \
  && apt-get -y install --no-install-recommends libgomp1 sqlite3 curl \
  && rm -rf /var/lib/apt/lists/* \
  && useradd -u 1000 -U -m -s /bin/bash ftuser \
  && mkdir /freqtrade && chown ftuser:ftuser /freqtrade

USER ftuser
WORKDIR /freqtrade
COPY --chown=ftuser:ftuser pyproject.toml README.md /opt/self-learning/
COPY --chown=ftuser:ftuser freqai_models /opt/self-learning/freqai_models
RUN pip install --user --no-cache-dir /opt/self-learning \
  && mkdir -p /freqtrade/user_data \
  && freqtrade install-ui

ENTRYPOINT ["freqtrade"]
CMD ["trade"]
