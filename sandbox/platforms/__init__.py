"""One module per marketplace: its route family, signature check, error style and renderer.

Each module's docstring is the wire contract a connector author needs (paths, which
parameter carries which credential, limits, error codes); ``common`` holds what they share.
"""
