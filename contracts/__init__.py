"""Versioned event and document models shared by the UPR Tracker services.

This package is the only code the services share. A contract changes by adding a
new version (``...V2``), never by editing a published one.
"""
