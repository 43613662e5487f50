"""The report's picture: inference latency per backend and model.

Two panels, each drawn from one section only (figures of different
sections come from different processes and moments; a bar is only compared
with the bars of its own panel): eager PyTorch models in the inference
section, and eager PyTorch against ONNX Runtime in the deployment section.
"""
from typing import Any, Dict, List, Tuple

from .checks import sections_of

#: (title, section, ((label, ratios key), ...)) of each panel; the seconds
#: are the fastest timed run (the basis of the targets).
PANELS: Tuple[Tuple[str, str, Tuple[Tuple[str, str], ...]], ...] = (
    ('Eager PyTorch (inference section)', 'inference', (
        ('ContraFusionNet', 'model_s'),
        ('its two encoders alone', 'encoders_s'),
        ('SegFormer (same MiT)', 'segformer_s'),
        ('PSPNet R50-D8', 'pspnet_s'),
    )),
    ('Eager PyTorch and ONNX Runtime, a process each (deployment section)',
     'deployment', (
         ('ContraFusionNet, eager', 'model_pytorch_s'),
         ('ContraFusionNet, ONNX Runtime', 'model_onnxruntime_s'),
         ('SegFormer (same MiT), eager', 'segformer_pytorch_s'),
         ('SegFormer (same MiT), ONNX Runtime', 'segformer_onnxruntime_s'),
     )),
)


def latency_bars(
        report: Dict[str,
                     Any]) -> Dict[str, Dict[int, List[Tuple[str, float]]]]:
    """Panel title -> thread count -> (label, milliseconds) of its bars.

    Panels whose section was not measured are left out.
    """
    out: Dict[str, Dict[int, List[Tuple[str, float]]]] = {}
    for title, key, bars in PANELS:
        for section in sections_of(report, key):
            for label, field in bars:
                seconds = section['ratios'].get(field, {}).get('min')
                if seconds:
                    out.setdefault(title, {}).setdefault(
                        section.get('threads') or 0, []).append(
                            (label, 1000 * seconds))
    return out


def plot_latency(report: Dict[str, Any], out_file: str) -> bool:
    """Grouped bars per panel: latency of each model and backend per thread
    count.

    Args:
        report (dict): The report, with inference and/or deployment
            sections.
        out_file (str): The PNG to write.

    Returns:
        bool: Whether a figure was written (False without any section).
    """
    from ...visualization.utils import save_figure, use_agg

    panels = latency_bars(report)
    if not panels:
        return False
    plt = use_agg()
    fig, axes = plt.subplots(
        1, len(panels), figsize=(6 * len(panels), 4.4), squeeze=False)
    colours = plt.get_cmap('tab10')
    shape = 'x'.join(map(str, report['settings']['inference_shape']))
    env = report.get('env', {})
    for ax, (title, key, bars) in zip(axes[0],
                                      [p for p in PANELS if p[0] in panels]):
        by_threads = panels[title]
        counts = sorted(by_threads)
        width = 0.8 / len(bars)
        for i, (label, _) in enumerate(bars):
            xs, ys = [], []
            for x, count in enumerate(counts):
                ms = dict(by_threads[count]).get(label)
                if ms is not None:
                    xs.append(x - 0.4 + (i + 0.5) * width)
                    ys.append(ms)
            if xs:
                ax.bar(xs, ys, width, label=label, color=colours(i))
                for x, y in zip(xs, ys):
                    ax.text(
                        x, y, f'{y:.0f}', ha='center', va='bottom', fontsize=7)
        ax.set_xticks(range(len(counts)))
        ax.set_xticklabels([f'{c} threads' for c in counts])
        ax.set_ylabel('ms per image (fastest run)')
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, axis='y')
        ax.legend(fontsize=7, loc='upper right')
    fig.suptitle(
        f'Inference latency at {shape}, batch 1, '
        f"{env.get('cpu', report['settings']['device'])}",
        fontsize=10)
    fig.tight_layout()
    save_figure(fig, out_file)
    return True
