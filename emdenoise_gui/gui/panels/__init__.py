"""Panels of the main window: compare view, line-profile plot and the other docked widgets."""
