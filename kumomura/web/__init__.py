"""HTTP: the FastAPI app, its JSON API and (later) the staff pages."""
