"""The networks: torch ``nn.Module``s and their losses only (no data, no training loops, no Qt)."""
