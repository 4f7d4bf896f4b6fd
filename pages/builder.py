"""Builder: build a segment in forms (in progress)."""

import streamlit as st

st.title("Builder")
st.info("The form builder is being written.")
