"""One consistent look for every figure of the book."""
import matplotlib

#: Colours by role, used across chapters: the exact/classical reference, global attention, DD attention.
COLORS = {"exact": "black", "global": "#d95f02", "dd": "#1b9e77", "classical": "#7570b3", "coarse": "#e7298a",
          "local": "#66a61e", "other": "#666666"}


def use_style() -> None:
    """Set Matplotlib defaults (sizes, grid, no top/right spines) for the book's figures."""
    matplotlib.rcParams.update({
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.constrained_layout.use": True,
    })
