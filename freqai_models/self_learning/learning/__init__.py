"""The learning unit of one pair: candles to samples, the compiled programs, the learner."""
