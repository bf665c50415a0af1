"""The return predictor: what predicts `&-s_close`.

A pooled, Huber-weighted ridge regression on the strategy's standardised features (the "wide
head" of the discovery network), learned in closed form from decayed sufficient statistics:
models.py (its state: the challenger and the incumbent ridge model, named), ridge.py (the
formulas, and the training-time IRLS and penalty choice), head.py (what a FreqAI training
does to it), online.py (what the per-candle step does to it), pool.py (the statistics shared
across pairs, never ahead of time). The deep head's part, when blended in, comes from
networks/discovery.py.
"""
