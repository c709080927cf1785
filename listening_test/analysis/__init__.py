"""Statistics of the listening test: reads the server's export CSV (``schema.py``), never the DB.

Pure pandas/scipy/statsmodels; no web framework is imported here.
"""
