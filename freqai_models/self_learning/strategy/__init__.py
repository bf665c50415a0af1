"""What SelfLearningStrategy imports: pure pandas, no freqtrade.

strategy_columns.py (the columns the strategy derives from its dataframe) and
market_features.py (the basket and BTC as features of every pair).
"""
