"""Alembic environment: runs on the connection (and transaction) that migrate.py hands in.

Revision scripts name no schema: the caller points the connection at the right place
(PostgreSQL search_path, or the SQLite file as the main database).
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
