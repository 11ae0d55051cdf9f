"""Semi-discrete OT: exact 2D power diagrams (polygon and disk clipping), Newton on the cell masses,
Lloyd's centroidal diagrams, Laguerre cells of any cost on pixel grids, and incompressible swarms."""
