"""Publishing interactive maps."""
