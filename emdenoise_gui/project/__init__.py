"""App state, Qt-free: records.py (stacks, results, the view), project.py (the project folder and
its file), recent.py (recently opened projects)."""
