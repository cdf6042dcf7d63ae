"""Transports: Web and RTM for the customer, agent and configuration APIs, the token endpoint, files, console."""
