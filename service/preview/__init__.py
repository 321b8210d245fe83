"""The marketers' preview: server-rendered pages (views, figures, formatting, templates, static
files) behind HTTP Basic auth, built from the same published documents the API answers from."""
