"""otlab.app: the browser shell — gallery, shared player controls, the animation runner, the CLI."""
