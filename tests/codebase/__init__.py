"""Rules about the code itself: layering, private names, Textual's contract, test isolation."""
