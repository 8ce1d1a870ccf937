"""The Streamlit dashboard: pages in `pages/`, loading in `data`, sidebar in `filters`.

Only this package and the entry file `streamlit_app.py` import streamlit; the
figures come from `carebench.benchmark` and the small tables from `aggregates`.
"""
