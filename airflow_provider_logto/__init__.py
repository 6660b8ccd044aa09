"""Apache Airflow provider for Logto.

Kept import-free on purpose: Airflow imports provider packages while parsing DAGs, so nothing heavy
may load here.
"""

__version__ = "0.1.0"
