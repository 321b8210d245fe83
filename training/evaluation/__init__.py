"""The evaluation protocol data scientists trust: temporal splits, the protocol as data, and
its Markdown and HTML reports."""
