"""Pictures (SVG) of every screen and modal, kept in __snapshots__/ beside each module."""
