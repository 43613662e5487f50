"""Lower bounds of the time targets, from the report's own figures.

A time ratio cannot fall below what the work it contains costs at the best
speed seen in the same run:

- **eager / encoders.** The decoder's FLOPs (those of the whole inference
  forward less those of both encoders, mmengine's ``FlopAnalyzer``) take at
  least ``decoder FLOPs / r`` seconds, where ``r`` is the higher of the two
  encoders' measured throughputs (FLOPs per second of the fastest run),
  on the assumption that a decoder of 1x1 convolutions and elementwise work
  runs no faster per FLOP than the best part of the model (the ResNet's 3x3
  convolutions). So the ratio is at least
  ``1 + decoder FLOPs / r / (encoder seconds)``.
- **ONNX Runtime / eager.** Under ONNX Runtime the convolution and
  matrix-product nodes alone (its own profiler,
  :mod:`mmseg_contrafusion.deployment.onnx_profile`: the ResNet's and the
  decoder's convolutions, the MiT's linear layers and attention products)
  take ``dense`` seconds per run, so ONNX Runtime's time over any other
  time ``t`` is at least ``dense / t``, with every other node (elementwise,
  normalisation, softmax, layout) for free. The bound holds for the ONNX
  Runtime build, graph and CPU that were profiled.

Where a measured ratio is below its bound, the machine's speed changed
between the timed runs and the ratio gives no verdict
(:func:`.checks.make_check`).
"""
from typing import Any, Dict, Optional, Sequence


def decoder_flops(flops: Dict[str, Any]) -> Dict[str, float]:
    """FLOPs of the encoders and of everything else (the decoder).

    Args:
        flops (dict): :func:`..flops.count_flops` of the inference forward
            (``flops`` and ``by_module`` with ``backbone`` and
            ``cnn_backbone``).

    Returns:
        dict: ``transformer``, ``cnn``, ``encoders``, ``decoder`` and
        ``total`` FLOPs.
    """
    mit = flops['by_module']['backbone']
    cnn = flops['by_module']['cnn_backbone']
    return dict(
        transformer=mit,
        cnn=cnn,
        encoders=mit + cnn,
        decoder=flops['flops'] - mit - cnn,
        total=flops['flops'])


def encoder_bound(flops: Dict[str, Any],
                  ratios: Dict[str, Any],
                  basis: str = 'min') -> Optional[Dict[str, float]]:
    """The least eager / encoders ratio the decoder's FLOPs allow.

    Args:
        flops (dict): :func:`..flops.count_flops` of ContraFusionNet.
        ratios (dict): :func:`.ratios.inference_ratios` of the same model
            (``transformer_encoder_s`` and ``cnn_encoder_s``).
        basis (str): Time basis. Defaults to ``'min'``.

    Returns:
        dict, optional: ``bound``, ``flops_ratio`` (decoder FLOPs over the
        encoders'), ``decoder_gflops``, the encoders' throughputs
        ``transformer_gflops_s`` / ``cnn_gflops_s``, the higher of the two
        ``fastest_gflops_s`` (the one the bound uses) and the decoder's
        ``decoder_gflops_s`` (from the model's own time); None without the
        times.
    """
    f = decoder_flops(flops)
    t_mit = ratios['transformer_encoder_s'].get(basis)
    t_cnn = ratios['cnn_encoder_s'].get(basis)
    t_model = ratios['model_s'].get(basis)
    if not (t_mit and t_cnn and t_model):
        return None
    best = max(f['transformer'] / t_mit, f['cnn'] / t_cnn)
    decoder_s = t_model - t_mit - t_cnn
    return dict(
        bound=1 + f['decoder'] / best / (t_mit + t_cnn),
        flops_ratio=f['decoder'] / f['encoders'],
        decoder_gflops=f['decoder'] / 1e9,
        transformer_gflops_s=f['transformer'] / t_mit / 1e9,
        cnn_gflops_s=f['cnn'] / t_cnn / 1e9,
        fastest_gflops_s=best / 1e9,
        decoder_gflops_s=(f['decoder'] / decoder_s /
                          1e9 if decoder_s > 0 else None))


def onnx_bounds(onnx_profile: Dict[str, Any],
                ratios: Dict[str, Any],
                basis: str = 'min') -> Dict[str, float]:
    """The least ONNX Runtime ratios its dense nodes' time allows.

    Args:
        onnx_profile (dict): :func:`..deployment.onnx_profile.onnx_op_times`
            of ContraFusionNet's export.
        ratios (dict): :func:`.ratios.deployment_ratios` at the same thread
            count.
        basis (str): Time basis. Defaults to ``'min'``.

    Returns:
        dict: ``dense_ms`` (the Conv, MatMul and Gemm nodes' time per run),
        ``dense_share`` (of ONNX Runtime's node time) and, where the eager
        times are there, ``onnx_over_eager`` and
        ``onnx_over_segformer_eager``: the dense nodes' time over
        ContraFusionNet's and over SegFormer's eager time.
    """
    dense_ms = onnx_profile['conv_ms'] + onnx_profile['matmul_ms']
    out = dict(
        dense_ms=dense_ms, dense_share=dense_ms / onnx_profile['node_ms'])
    for key, role in (('onnx_over_eager', 'model'),
                      ('onnx_over_segformer_eager', 'segformer')):
        eager = ratios[f'{role}_pytorch_s'].get(basis)
        if eager:
            out[key] = dense_ms / 1e3 / eager
    return out


def report_bounds(profile: Optional[Dict[str, Any]],
                  inference: Sequence[Dict[str, Any]],
                  deployment: Sequence[Dict[str, Any]],
                  basis: str = 'min') -> Dict[str, Dict[int, dict]]:
    """Every bound the report's figures give, by section and threads.

    Args:
        profile (dict, optional): The report's ``profile``, with ``flops``
            and ``onnx`` (one ONNX Runtime profile per thread count).
        inference (Sequence[dict]): The inference sections.
        deployment (Sequence[dict]): The deployment sections.
        basis (str): Time basis. Defaults to ``'min'``.

    Returns:
        dict: ``inference`` and ``deployment``: thread count ->
        :func:`encoder_bound` / :func:`onnx_bounds`; empty without the
        profile.
    """
    profile = profile or {}
    out: Dict[str, Dict[int, dict]] = dict(inference={}, deployment={})
    if profile.get('flops'):
        for section in inference:
            bound = encoder_bound(profile['flops'], section['ratios'], basis)
            if bound:
                out['inference'][section.get('threads')] = bound
    onnx = {p['threads']: p for p in profile.get('onnx') or []}
    for section in deployment:
        threads = section.get('threads')
        if threads in onnx:
            out['deployment'][threads] = onnx_bounds(onnx[threads],
                                                     section['ratios'], basis)
    return out
