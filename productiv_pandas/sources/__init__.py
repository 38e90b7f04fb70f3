"""Events where they live: a SQL query's rows, streamed from the database into the chunk
functions of :mod:`productiv_pandas.files`.

_database (what ``con`` is; the database's errors as one ConfigurationError, passwords
scrubbed) -> _sql_chunks (the rows, ``chunksize`` at a time, server-side where the database
can) -> _sql (validate_sql / publish_sql)
"""

from ._sql import publish_sql, validate_sql

__all__ = ["publish_sql", "validate_sql"]
