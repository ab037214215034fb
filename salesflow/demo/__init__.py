"""Demo data: a realistic, deterministic Chinese sales organisation for trying Salesflow.

An installed app without models, the top layer of the dependency order: ``salesflow demo``
(its management command) calls :func:`salesflow.demo.generate.generate_demo`, which uses the
services of every other app.
"""
