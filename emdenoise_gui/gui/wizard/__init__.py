"""The guided training wizard: Process > Train or Fine-tune Model (and Resume from the zoo)."""

from emdenoise_gui.gui.wizard.wizard import TrainWizard

__all__ = ["TrainWizard"]
