"""Measurement library behind ``tools/analysis/``: tested, imported lazily.

Not imported by ``import mmseg_contrafusion``; import the modules you need:

* :mod:`.configs`: config files, folders and globs; model identity.
* :mod:`.model_builders`: building segmentors for measuring and the
  forward paths that are measured (whole inference, encoders).
* :mod:`.params` and :mod:`.flops`: parameter counts (total and
  inference-time) and FLOPs.
* :mod:`.timing` and :mod:`.memory`: clocks, summaries and peak memory of
  a forward callable (any ``fn()``, so a backend other than PyTorch can be
  timed the same way).
* :mod:`.inference_benchmark`, :mod:`.train_step`,
  :mod:`.train_benchmark` and :mod:`.dataloader_benchmark`: latency,
  training-step and data-loader benchmarks.
* :mod:`.results_table`: the seed-style results table.
* :mod:`.report`: the performance report (targets with PASS/MISS).
* :mod:`.tables` and :mod:`.cli`: Markdown cells and the command-line
  arguments the tools share.
"""
