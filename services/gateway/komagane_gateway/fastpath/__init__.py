"""The gateway's fast paths (komagane_kit.fastpath), each declared on its route in routes.py:

- profile_read  `CachedProfileRead`: `GET /v1/profiles/{person_id}`, the hottest read, answered
                from the answer cache when every step is the common case (`get_profile`)
- forward       `DirectForward`: every request the router hands to `forward` (every write, and
                the reads the gateway only passes on), through the same functions without the
                framework's routing and dependency injection

What is served (`main.asgi`) is the FastAPI application behind the kit's `FastPaths`, which gives
these routes' requests to their fast paths and everything else to the application. The gateway
tests send requests both ways and compare the answers.
"""
