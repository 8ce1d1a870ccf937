"""Things to leave behind after a workshop: the training deck (and, later, the report).

Above the benchmark layer, beside the dashboard: it reads an analysis and writes files,
and may use the dashboard's pure (streamlit-free) thread annotations.
"""
