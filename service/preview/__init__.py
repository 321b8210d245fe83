"""The marketers' preview: server-rendered pages (views, figures, formatting, templates, static
files) behind a sign-in (form and session cookie, or HTTP Basic for scripts), built from the
same published documents the API answers from."""
