"""Pages of benefit and subsidy payments into the card: the paying office's (office.py), the
bank's (bank.py)."""
