"""Model packages (card + safetensors weights), the zoo registry, import and export."""
