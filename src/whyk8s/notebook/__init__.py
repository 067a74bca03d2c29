"""Everything that renders in Jupyter: the start-the-cluster panel and error display, charts, recorded
runs, pure HTML renderers and the live widgets."""
