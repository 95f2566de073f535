"""Batch jobs in chunks: the queue, progress, restart, and the workers."""
