# The bot on the official freqtrade FreqAI image, with TensorFlow and this package installed.
FROM freqtradeorg/freqtrade:2026.9_freqai

COPY --chown=ftuser:ftuser pyproject.toml README.md /opt/self-learning/
COPY --chown=ftuser:ftuser freqai_models /opt/self-learning/freqai_models
RUN pip install --user --no-cache-dir "tensorflow-cpu==2.21.*" /opt/self-learning
