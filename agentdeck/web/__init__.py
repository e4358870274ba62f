"""The HTTP side: JSON API, and (later) dashboard pages and live streams."""
