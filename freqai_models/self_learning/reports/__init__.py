"""After-the-fact reports of a finished backtest: its predictions scored against the realized
targets and the training-free yardstick (backtest.py), and the demo's chart (chart.py)."""
