"""Features: one module (or small package) each, ending in ``setup(app)``; loaded automatically."""
