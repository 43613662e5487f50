"""The report's picture: inference latency per backend and model."""
from typing import Any, Dict, List, Tuple

from .checks import sections_of

#: (label, section, ratios key) of each bar; the seconds are the fastest
#: timed run (the basis of the targets).
BARS: Tuple[Tuple[str, str, str], ...] = (
    ('ContraFusionNet, eager', 'inference', 'model_s'),
    ('its two encoders alone, eager', 'inference', 'encoders_s'),
    ('ContraFusionNet, ONNX Runtime', 'deployment', 'model_onnxruntime_s'),
    ('SegFormer (same MiT), eager', 'inference', 'segformer_s'),
    ('SegFormer (same MiT), ONNX Runtime', 'deployment',
     'segformer_onnxruntime_s'),
    ('PSPNet R50-D8, eager', 'inference', 'pspnet_s'),
)


def latency_bars(report: Dict[str, Any]) -> Dict[int, List[Tuple[str, float]]]:
    """Thread count -> (label, milliseconds) of every measured bar."""
    out: Dict[int, List[Tuple[str, float]]] = {}
    for label, key, field in BARS:
        for section in sections_of(report, key):
            seconds = section['ratios'].get(field, {}).get('min')
            if seconds:
                out.setdefault(section.get('threads') or 0, []).append(
                    (label, 1000 * seconds))
    return out


def plot_latency(report: Dict[str, Any], out_file: str) -> bool:
    """Grouped bars: latency of each model and backend per thread count.

    Args:
        report (dict): The report, with inference and/or deployment
            sections.
        out_file (str): The PNG to write.

    Returns:
        bool: Whether a figure was written (False without any section).
    """
    from ...visualization.utils import save_figure, use_agg

    bars = latency_bars(report)
    if not bars:
        return False
    plt = use_agg()
    labels = [label for label, _, _ in BARS]
    counts = sorted(bars)
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    colours = plt.get_cmap('tab10')
    for i, label in enumerate(labels):
        xs, ys = [], []
        for x, count in enumerate(counts):
            ms = dict(bars[count]).get(label)
            if ms is not None:
                xs.append(x - 0.4 + (i + 0.5) * width)
                ys.append(ms)
        if xs:
            ax.bar(xs, ys, width, label=label, color=colours(i))
            for x, y in zip(xs, ys):
                ax.text(x, y, f'{y:.0f}', ha='center', va='bottom', fontsize=7)
    ax.set_xticks(range(len(counts)))
    ax.set_xticklabels([f'{c} threads' for c in counts])
    shape = 'x'.join(map(str, report['settings']['inference_shape']))
    env = report.get('env', {})
    ax.set_ylabel('ms per image (fastest run)')
    ax.set_title(
        f'Inference latency at {shape}, batch 1, '
        f"{env.get('cpu', report['settings']['device'])}",
        fontsize=9)
    ax.grid(alpha=0.3, axis='y')
    ax.legend(fontsize=7, loc='upper right')
    fig.tight_layout()
    save_figure(fig, out_file)
    return True
