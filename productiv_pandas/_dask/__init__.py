"""The ``productiv`` accessor on Dask DataFrames (private: dask itself is imported as ``dask``)."""
