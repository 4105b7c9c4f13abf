"""The whole program on both databases: the first paint, the demo, a crash, end to end."""
