"""Fake exchanges on 127.0.0.1 that speak the wire formats the real ccxt.pro clients use.

They know nothing of the cockpit: tests point a real ccxt.pro exchange at them by swapping the
origins in ``exchange.urls['api']`` and check that every URL stays on the loopback interface.
"""
