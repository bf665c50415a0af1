"""What SelfLearningStrategy imports: pure pandas, no freqtrade.

strategy_columns.py (the columns the strategy derives from its dataframe),
market_features.py (the basket and BTC as features of every pair), entry_record.py (whether
the entry signals realize what they predicted; its log line is the one side effect) and
hyperopt_space.py (the searched ranges that depend on the whitelist and its fees).
"""
