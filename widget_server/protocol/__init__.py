"""The messaging protocol: msgspec Structs only (LiveChat Customer Chat API 3.6 wire shapes). No I/O here."""
