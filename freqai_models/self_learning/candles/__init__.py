"""The data model: candles in, learning samples and the prediction row out (pure numpy/pandas).

features.py (market windows, targets, sample validation), samples.py (candles -> windows,
features, targets with usable-row masks), frames.py (freqtrade dataframe <-> learner arrays,
the prediction frame handed back to FreqAI), predictions.py (the Predictions record and the
output row's spelling), timeline.py (candle dates; the rule against time-travelling restores).
"""
