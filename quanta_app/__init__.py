"""The Quanta web app (Reflex)."""
