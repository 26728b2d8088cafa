"""Figure drawing, one module per chapter. Each function takes computed results (never typed-in values) and returns a
Matplotlib figure; notebooks save it with :class:`ddlib.figures.FigureRecorder`."""
from .style import use_style

__all__ = ["use_style"]
