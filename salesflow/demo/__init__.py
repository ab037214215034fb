"""Demo data: a realistic, deterministic Chinese sales organisation for trying Salesflow.

Not a Django app (it has no models); ``salesflow demo`` (the ``activities`` management
command) calls :func:`salesflow.demo.generate.generate_demo`.
"""
