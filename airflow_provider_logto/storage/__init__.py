"""Where exports go: local files and Airflow object storage, written whole or not at all."""
