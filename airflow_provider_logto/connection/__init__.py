"""The ``logto`` connection: its form, declared once as data, and the validated settings read from it."""
