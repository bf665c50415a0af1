"""Watching the model's own matured predictions, and what follows from them (traceable).

scoreboard.py (rolling IC, hit rate and band coverage), drift.py (Page-Hinkley detector on
the return signal's prequential error), response.py (a drift alarm on a losing signal forgets
and boosts), challenge.py (a response must beat the incumbent before it is served).
"""
