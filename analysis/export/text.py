"""The text dtype of the ingest: Arrow-backed strings, so that every ``.str`` operation runs in Arrow's
vectorized kernels rather than a Python loop over cells (pandas' default ``"string"`` is Python-backed)."""

import pandas as pd

TEXT = pd.StringDtype("pyarrow")
