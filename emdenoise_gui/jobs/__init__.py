"""Every long job the CLI and the app start, Qt-free: stack.py (statistics, noise, filters, compare),
denoise.py (filter or model: preview, stack, batch), train.py (train, resume, self-train)."""
