"""The 3D shapes demo: ``ShapesModel`` (headless). Its browser view is being built (issue 10)."""
