r"""The ContraFusionNet performance report: inference, training, data loading.

One run measures everything the ratios need, so every ratio compares
figures taken under the same machine load:

* **inference** (:func:`..inference_benchmark.run_benchmark`, interleaved
  rounds, batch 1, 512x512): ContraFusionNet's whole-image inference
  (``model``) and each of its encoders alone (``backbone:backbone`` = the
  MiT, ``backbone:cnn_backbone`` = the ResNet), its ``-nocontrast``
  ablation, PSPNet R50-D8 and SegFormer with the same MiT. Ratios: model /
  (MiT alone + ResNet alone), model / PSPNet, model / SegFormer, model /
  no-contrast ablation. Besides, forward hooks on every training-only
  module (:mod:`.hooks`) count how often they run during inference: the
  target is 0.
* **deployment** (:func:`..backend_benchmark.run_backends`, a process per
  backend): ContraFusionNet and SegFormer with the same MiT exported to
  ONNX once, then timed under eager PyTorch and under ONNX Runtime at each
  thread count. Ratios: ContraFusionNet ONNX Runtime / eager, and
  ContraFusionNet ONNX Runtime / SegFormer eager.
* **training** (:func:`..train_benchmark.run_benchmark`, interleaved steps,
  batch of the config's ``train_dataloader``, 512x512 and 512x1024): the
  training step of ContraFusionNet with the cross-encoder contrast, with
  CAC, with MS/CS, each divided by the same model with CE + Dice only (the
  ``-nocontrast`` config). Peak memory of a step: parameters, buffers and
  optimizer state plus the most tensor memory the step allocates at once
  (:func:`..memory.step_peak_memory`); deterministic, unlike the RSS.
* **data** (:func:`..dataloader_benchmark.run_benchmark`): images per
  second of the config's training loader with its default workers, against
  the images per second the training step (measured above, same crop)
  consumes.

Time basis of the targets (:func:`.checks.time_basis`): the fastest of the
interleaved timed runs of each model (wall clock). The ratios of the median
wall time and of the median process CPU time (all threads) are reported
beside it (keys ``min``, ``wall``, ``cpu``). ``profile`` adds where the time
goes (:mod:`.profiling`).

Modules: :mod:`.settings` (roles, configs, settings, targets),
:mod:`.sections` (measuring each section), :mod:`.ratios`, :mod:`.hooks`,
:mod:`.profiling`, :mod:`.checks`, :mod:`.markdown`, :mod:`.figure` and
:mod:`.runner`
(:func:`.runner.run_report`, the whole report).
"""
from .checks import build_checks
from .figure import plot_latency
from .hooks import inference_hook_check
from .markdown import NOTES_BEGIN, NOTES_END, format_summary, write_markdown
from .runner import SCHEMA, SECTIONS, render_report, run_report
from .settings import ROLES

__all__ = [
    'NOTES_BEGIN', 'NOTES_END', 'ROLES', 'SCHEMA', 'SECTIONS', 'build_checks',
    'format_summary', 'inference_hook_check', 'plot_latency', 'render_report',
    'run_report', 'write_markdown'
]
