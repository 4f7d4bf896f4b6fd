"""Segment Workbench core: catalog, store, definitions and the evaluator.

Nothing here imports Streamlit or reads the clock, so the same code runs in
the app, in a notebook and on the command line.
"""

__version__ = "0.1.0"
