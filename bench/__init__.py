"""Benchmark of the evaluator against hand-written SQL and a pandas analyst."""
