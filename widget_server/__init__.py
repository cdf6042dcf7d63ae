"""widget_server: a self-hostable backend for a website customer-chat widget."""

__version__ = "0.1.0"
