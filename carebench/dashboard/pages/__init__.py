"""Dashboard pages, one file each; `streamlit_app.py` routes to them with st.navigation."""
