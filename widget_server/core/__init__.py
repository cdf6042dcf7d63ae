"""Chat semantics: the customer and agent cores, store, bus, routing, webhooks, bots."""
